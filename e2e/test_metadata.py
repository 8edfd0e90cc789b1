"""Catalog browsing through ADBC: what a notebook or BI connector asks at connect."""

from __future__ import annotations

import adbc_driver_manager.dbapi as dbapi
import pyarrow as pa
import pytest


def test_get_info(conn):
    info = conn.adbc_get_info()
    assert info.get("vendor_name"), info
    assert "driver_name" in info, info


def test_get_objects_catalogs_and_schemas(conn):
    objects = conn.adbc_get_objects(depth="db_schemas").read_all().to_pylist()
    catalogs = {c["catalog_name"]: c for c in objects}
    assert "lakehouse" in catalogs, f"catalogs: {sorted(catalogs)}"
    schemas = {s["db_schema_name"] for s in catalogs["lakehouse"]["catalog_db_schemas"] or []}
    assert {"bronze", "silver", "gold"} <= schemas, f"lakehouse schemas: {sorted(schemas)}"


def test_get_objects_filtered(conn):
    objects = (
        conn.adbc_get_objects(depth="db_schemas", catalog_filter="lakehouse", db_schema_filter="sil%")
        .read_all()
        .to_pylist()
    )
    assert [c["catalog_name"] for c in objects] == ["lakehouse"]
    schemas = [s["db_schema_name"] for s in objects[0]["catalog_db_schemas"]]
    assert schemas == ["silver"]


def test_get_objects_all_depth(conn):
    """BI tools walk everything down to columns; that must not fail on an empty lakehouse."""
    table = conn.adbc_get_objects(depth="all").read_all()
    assert "lakehouse" in table.column("catalog_name").to_pylist()


def test_get_table_types(conn):
    types = conn.adbc_get_table_types()
    assert types, "no table types"


def test_get_table_schema_of_temp_table(conn):
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE e2e_schema_t ("
            " id INTEGER NOT NULL, name VARCHAR, amount DECIMAL(12, 2),"
            " ts TIMESTAMP, tags VARCHAR[])"
        )
    schema = conn.adbc_get_table_schema("e2e_schema_t")
    assert schema.names == ["id", "name", "amount", "ts", "tags"]
    assert schema.field("id").type == pa.int32()
    assert schema.field("amount").type == pa.decimal128(12, 2)
    assert pa.types.is_timestamp(schema.field("ts").type)
    assert pa.types.is_list(schema.field("tags").type)


def test_get_table_schema_of_unknown_table_fails(conn):
    with pytest.raises(dbapi.Error):
        conn.adbc_get_table_schema("no_such_table_e2e", catalog_filter="lakehouse", db_schema_filter="bronze")
