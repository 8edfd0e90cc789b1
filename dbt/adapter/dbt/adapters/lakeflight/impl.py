"""The adapter: dbt-duckdb's SQL dialect, lakeflight's catalog and bulk ingest.

Macros are inherited from dbt-duckdb (the plugin declares it as a dependency), so
`lakeflight__x` falls back to `duckdb__x` and then `default__x`. What differs is
here and in the macros of dbt/include/lakeflight: relations are listed from Flight
SQL GetTables (DuckDB sees the Iceberg tables as views over their snapshots, so its
own catalog functions cannot tell a table from a view), seeds go through bulk ingest,
and the few dbt-duckdb helpers its macros call about DuckLake, MotherDuck and foreign
keys answer for a server that has none of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from dbt.adapters.base.meta import available
from dbt.adapters.base.relation import BaseRelation
from dbt.adapters.sql import SQLAdapter
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.lakeflight.connections import LakeflightConnectionManager
from dbt.adapters.lakeflight.relation import LakeflightRelation

# GetTables' table types → dbt's relation types. Anything else (a type a future server
# adds) is listed as external, which dbt never drops or replaces on its own.
_RELATION_TYPES = {"TABLE": "table", "BASE TABLE": "table", "VIEW": "view"}


class LakeflightAdapter(SQLAdapter):
    Relation = LakeflightRelation
    ConnectionManager = LakeflightConnectionManager
    connections: LakeflightConnectionManager

    @classmethod
    def date_function(cls) -> str:
        return "now()"

    @classmethod
    def is_cancelable(cls) -> bool:
        return True

    @available
    def valid_incremental_strategies(self) -> list[str]:
        return ["append", "merge", "delete+insert"]

    # Seed column types, in DuckDB's names (lakeflight stores them as Iceberg types).
    @classmethod
    def convert_text_type(cls, agate_table, col_idx: int) -> str:
        return "VARCHAR"

    @classmethod
    def convert_number_type(cls, agate_table, col_idx: int) -> str:
        import agate

        decimals = agate_table.aggregate(agate.MaxPrecision(col_idx))
        return "DOUBLE" if decimals else "BIGINT"

    @classmethod
    def convert_integer_type(cls, agate_table, col_idx: int) -> str:
        return "BIGINT"

    @classmethod
    def convert_boolean_type(cls, agate_table, col_idx: int) -> str:
        return "BOOLEAN"

    @classmethod
    def convert_datetime_type(cls, agate_table, col_idx: int) -> str:
        return "TIMESTAMP"

    @classmethod
    def convert_date_type(cls, agate_table, col_idx: int) -> str:
        return "DATE"

    @classmethod
    def convert_time_type(cls, agate_table, col_idx: int) -> str:
        return "TIME"

    def list_relations_without_caching(self, schema_relation: BaseRelation) -> list[BaseRelation]:
        database, schema = schema_relation.database, schema_relation.schema
        if not schema:
            return []
        found = self.connections.list_tables(database, schema)
        quote_policy = {"database": True, "schema": True, "identifier": True}
        return [
            self.Relation.create(
                database=database,
                schema=schema,
                identifier=name,
                quote_policy=quote_policy,
                type=self.Relation.get_relation_type(_RELATION_TYPES.get(kind, "external")),
            )
            for name, kind in sorted(found.items())
        ]

    @available
    def catalog_table_types(self, database: str, schemas: Sequence[str]) -> list[tuple[str, str, str]]:
        """(schema, name, table type) of every table and view in the schemas, for `dbt docs`.

        The types come from Flight SQL GetTables: DuckDB's own catalog functions list every
        Iceberg table as a view (lakeflight binds tables as views over their files), so a
        catalog built from them would call every model a view. The type is spelled as
        information_schema spells it ('BASE TABLE' or 'VIEW').
        """
        out = []
        for schema in sorted({s for s in schemas if s}):
            for name, kind in sorted(self.connections.list_tables(database, schema).items()):
                if kind in ("TABLE", "VIEW"):
                    out.append((schema, name, "BASE TABLE" if kind == "TABLE" else "VIEW"))
        return out

    @available
    def load_seed(self, relation: BaseRelation, agate_table, columns: Sequence[Sequence[str]]) -> int:
        """Load a seed as one bulk ingest (one Iceberg snapshot) and return its row count.

        agate has already parsed the CSV; its values are turned back into text and cast to
        the seed's column types by an in-process DuckDB, so they convert exactly as DuckDB's
        CAST does on the server; the Arrow result is ingested in mode `replace`, which
        creates the table or overwrites its rows in one snapshot (history kept), whatever
        dbt's relation cache believes. An empty seed cannot be ingested (a stream without
        batches commits nothing), so it is created by SQL instead.
        """
        import duckdb

        names = [name for name, _ in columns]
        if len(names) != len(agate_table.column_names):
            raise DbtRuntimeError("load_seed: column list does not match the seed's columns")
        text = pa.table(
            {f"c{i}": pa.array([_as_text(row[i]) for row in agate_table.rows], pa.string()) for i in range(len(names))}
        )
        select = ", ".join(
            f"CAST(c{i} AS {sql_type}) AS {self.quote(name)}" for i, (name, sql_type) in enumerate(columns)
        )
        local = duckdb.connect(":memory:")
        try:
            local.register("seed_text", text)
            typed = local.sql(f"SELECT {select} FROM seed_text").to_arrow_table()
        except duckdb.Error as e:
            raise DbtRuntimeError(f"seed {relation}: cannot cast its values to the column types: {e}") from e
        finally:
            local.close()
        if typed.num_rows == 0:
            cols = ", ".join(f"{self.quote(name)} {sql_type}" for name, sql_type in columns)
            self.connections.execute(f"CREATE OR REPLACE TABLE {relation.render()} ({cols})")
        else:
            self.connections.ingest(relation.identifier, relation.schema, relation.database, typed, "replace")
        # Read the table back: the seed is loaded only if the server now answers its rows.
        _, result = self.connections.execute(f"SELECT count(*) AS n FROM {relation.render()}", fetch=True)
        loaded = int(result.rows[0][0])
        if loaded != typed.num_rows:
            raise DbtRuntimeError(f"seed {relation}: ingested {typed.num_rows} rows but the table holds {loaded}")
        return loaded

    # dbt-duckdb's macros ask these of the adapter; lakeflight has no DuckLake, MotherDuck,
    # foreign keys or indexes, and never runs a transaction around Iceberg writes.
    @available
    def is_ducklake(self, relation: Any) -> bool:
        return False

    @available
    def is_motherduck(self) -> bool:
        return False

    @available
    def disable_transactions(self) -> bool:
        return True

    @available
    def catalog_supports_foreign_keys(self, database: Any = None) -> bool:
        return False

    @available
    def existing_key_constraint_types(self, relation: Any) -> list[str]:
        return []

    @available
    def use_ducklake_table_workarounds(self, *args: Any, **kwargs: Any) -> bool:
        return False

    @available
    def warn_once(self, msg: str) -> None:
        from dbt.adapters.events.logging import AdapterLogger

        if msg not in _warned:
            _warned.add(msg)
            AdapterLogger("lakeflight").warning(msg)

    @available
    def get_binding_char(self) -> str:
        return "?"


_warned: set = set()


def _as_text(value: Any):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds()} seconds"
    return str(value)
