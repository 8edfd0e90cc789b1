"""Persistent views: CREATE VIEW over ADBC is stored as an Iceberg view in the catalog.

It is read by another connection, survives a restart, is listed by GetTables as a
VIEW (ADBC get_objects), and pyiceberg sees it in the same catalog as a view, not a
table, whose metadata its own view model parses (SQL in the ``duckdb`` dialect).
"""

from __future__ import annotations

import pathlib
import sqlite3
import urllib.parse

import adbc_driver_manager
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.view.metadata import ViewMetadata

from conftest import Server, connect, start_server, stop


def open_catalog(server: Server) -> SqlCatalog:
    return SqlCatalog(
        "lakehouse",
        uri=f"sqlite:///{server.data_dir / 'catalog.db'}",
        warehouse=f"file://{server.warehouse}",
    )


def pyiceberg_views(cat: SqlCatalog, namespace: str) -> list[tuple[str, ...]]:
    """The namespace's views as pyiceberg lists them.

    pyiceberg 0.12's SqlCatalog has no views yet (list_views raises
    NotImplementedError); then its catalog tables are read the way its
    list_tables reads them, with iceberg_type = 'VIEW'.
    """
    try:
        return sorted(tuple(v) for v in cat.list_views(namespace))
    except NotImplementedError:
        with sqlite3.connect(cat.engine.url.database) as db:
            rows = db.execute(
                "SELECT table_namespace, table_name FROM iceberg_tables "
                "WHERE catalog_name = ? AND table_namespace = ? AND iceberg_type = 'VIEW'",
                (cat.name, namespace),
            ).fetchall()
        return sorted(rows)


def view_metadata(server: Server, namespace: str, name: str) -> ViewMetadata:
    """The view's current metadata file, parsed by pyiceberg's view model."""
    with sqlite3.connect(server.data_dir / "catalog.db") as db:
        (loc,) = db.execute(
            "SELECT metadata_location FROM iceberg_tables WHERE table_namespace = ? AND table_name = ? "
            "AND iceberg_type = 'VIEW'",
            (namespace, name),
        ).fetchone()
    path = urllib.parse.urlparse(loc).path
    return ViewMetadata.model_validate_json(pathlib.Path(urllib.parse.unquote(path)).read_text())


def fetch(conn, sql: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def execute(conn, sql: str) -> None:
    with conn.cursor() as cur:
        cur.execute(sql)


def listed(conn, name: str) -> dict[str, dict]:
    """The lakehouse tables and views named name, by schema, as get_objects reports them."""
    objects = conn.adbc_get_objects(depth="all", catalog_filter="lakehouse", table_name_filter=name).read_all()
    out = {}
    for cat in objects.to_pylist():
        for schema in cat["catalog_db_schemas"] or []:
            for t in schema["db_schema_tables"] or []:
                out[schema["db_schema_name"]] = t
    return out


@pytest.fixture
def fresh_server(tmp_path):
    srv = start_server(tmp_path / "data")
    holder = {"srv": srv}
    try:
        yield holder
    finally:
        if holder["srv"].proc.poll() is None:
            stop(holder["srv"])


def test_view_across_connections_restart_and_pyiceberg(fresh_server):
    srv = fresh_server["srv"]
    with connect(srv) as a:
        execute(
            a, "CREATE TABLE silver.orders AS SELECT * FROM (VALUES (1, 10.0), (2, 20.0), (3, 30.0)) AS t(id, amount)"
        )
        execute(a, "CREATE VIEW gold.big_orders AS SELECT id, amount FROM silver.orders WHERE amount > 15")
    with connect(srv, cookies=False) as b:  # another client, another session
        assert fetch(b, "SELECT id FROM gold.big_orders ORDER BY id") == [(2,), (3,)]
        execute(b, "INSERT INTO silver.orders VALUES (4, 40.0)")
        assert fetch(b, "SELECT count(*) FROM gold.big_orders") == [(3,)]
        views = listed(b, "big_orders")
        assert views["gold"]["table_type"] == "VIEW", views
        assert [c["column_name"] for c in views["gold"]["table_columns"]] == ["id", "amount"]
        assert listed(b, "orders")["silver"]["table_type"] == "TABLE"

    stop(srv)
    srv = fresh_server["srv"] = start_server(srv.data_dir)
    with connect(srv) as c:
        assert fetch(c, "SELECT id FROM gold.big_orders ORDER BY id") == [(2,), (3,), (4,)]
        execute(c, "CREATE OR REPLACE VIEW gold.big_orders AS SELECT id FROM silver.orders WHERE amount > 35")
        assert fetch(c, "SELECT id FROM gold.big_orders") == [(4,)]

    cat = open_catalog(srv)
    assert ("gold", "big_orders") not in cat.list_tables("gold")  # pyiceberg filters views out of tables
    assert ("silver", "orders") in cat.list_tables("silver")
    assert pyiceberg_views(cat, "gold") == [("gold", "big_orders")]
    meta = view_metadata(srv, "gold", "big_orders")
    current = next(v for v in meta.versions if v.version_id == meta.current_version_id)
    (rep,) = current.representations
    assert rep.root.dialect == "duckdb"
    assert rep.root.sql == "SELECT id FROM silver.orders WHERE amount > 35"
    assert list(current.default_namespace) == ["gold"]
    assert len(meta.versions) == 2  # the replace is a new version of the same view
    schema = next(s for s in meta.schemas if s.schema_id == current.schema_id)
    assert [f.name for f in schema.fields] == ["id"]

    with connect(srv) as d:
        execute(d, "DROP VIEW gold.big_orders")
        with pytest.raises(adbc_driver_manager.Error):
            fetch(d, "SELECT * FROM gold.big_orders")
    assert pyiceberg_views(open_catalog(srv), "gold") == []


def test_view_refusals_over_adbc(fresh_server):
    srv = fresh_server["srv"]
    with connect(srv) as a:
        execute(a, "CREATE TABLE silver.t AS SELECT 1 AS id")
        execute(a, "CREATE VIEW silver.v AS SELECT id FROM silver.t")
        for sql, code in [
            ("CREATE VIEW silver.v AS SELECT 2 AS id", "ALREADY_EXISTS"),
            ("CREATE VIEW silver.t AS SELECT 2 AS id", "ALREADY_EXISTS"),
            ("DROP TABLE silver.v", "INVALID_ARGUMENT"),
            ("DROP VIEW silver.t", "INVALID_ARGUMENT"),
            ("DROP VIEW silver.nope", "NOT_FOUND"),
            ("CREATE VIEW silver.bad AS SELECT no_such_column FROM silver.t", "INVALID_ARGUMENT"),
        ]:
            with pytest.raises(adbc_driver_manager.Error, match=code):
                execute(a, sql)
        execute(a, "SET lakeflight_as_of = 'main'")
        with pytest.raises(adbc_driver_manager.Error, match="view silver.v"):
            fetch(a, "SELECT * FROM silver.v")
        execute(a, "RESET lakeflight_as_of")
        assert fetch(a, "SELECT id FROM silver.v") == [(1,)]
