"""dbt adapter for lakeflight (`type: lakeflight`): models run inside the server over Flight SQL."""

from dbt.adapters.base import AdapterPlugin
from dbt.include import lakeflight

from dbt.adapters.lakeflight.connections import LakeflightConnectionManager, LakeflightCredentials
from dbt.adapters.lakeflight.impl import LakeflightAdapter

Plugin = AdapterPlugin(
    adapter=LakeflightAdapter,
    credentials=LakeflightCredentials,
    include_path=lakeflight.PACKAGE_PATH,
    dependencies=["duckdb"],
)

__all__ = ["LakeflightAdapter", "LakeflightConnectionManager", "LakeflightCredentials", "Plugin"]
