"""Relations render as "catalog"."namespace"."table", every part quoted."""

from dataclasses import dataclass, field

from dbt.adapters.base.relation import BaseRelation, Policy


@dataclass(frozen=True, eq=False, repr=False)
class LakeflightRelation(BaseRelation):
    quote_policy: Policy = field(default_factory=lambda: Policy(database=True, schema=True, identifier=True))
    include_policy: Policy = field(default_factory=lambda: Policy(database=True, schema=True, identifier=True))
