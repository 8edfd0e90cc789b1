"""lakeflight on an external Iceberg REST catalog (catalog.driver rest): Apache Iceberg's own Java
REST server holds the catalog, lakeflight keeps no catalog database. Ingest, SQL writes, views
and time travel work as on its own catalog; pyiceberg, talking to the REST server directly, reads
what lakeflight committed and lakeflight reads what pyiceberg committed; two replicas ingest into
one table at once; and a REST server that stops and comes back is an outage, not a crash."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog as PyIcebergRest

import restcatalog
from conftest import check_catalog_outage, connect, ingest_at_once, ingest_ids, start_server, stop


@pytest.fixture
def rest(tmp_path):
    cat = restcatalog.create(tmp_path / "rest")
    cat.start()
    try:
        yield cat
    finally:
        cat.stop()


# A bearer token for the catalog (the test server takes any): it must never reach the log.
CATALOG_TOKEN = "rest-token-" + uuid.uuid4().hex


def serve(rest, work, name: str):
    # The same warehouse as the REST server's: tables other engines create at the server's
    # default locations are then inside what lakeflight may read.
    config = work / f"{name}.yaml"
    config.write_text(f"catalog:\n  rest:\n    token: '{CATALOG_TOKEN}'\n")
    return start_server(work / f"data-{name}", "--config", str(config), "--catalog-driver", "rest",
                        "--catalog-uri", rest.uri, "--warehouse", str(rest.warehouse),
                        log_path=work / f"{name}.log")  # fmt: skip


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_rest_catalog_round_trip(rest, tmp_path):
    raw, clean, view = unique("raw"), unique("clean"), unique("v")
    srv = serve(rest, tmp_path, "a")
    try:
        ingest_ids(srv, raw, range(10_000), mode="create")
        with connect(srv) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE silver.{clean} AS SELECT id, id % 7 AS k FROM bronze.{raw}")
            cur.execute(f"DELETE FROM silver.{clean} WHERE k = 0")
            cur.execute(f"CREATE VIEW gold.{view} AS SELECT k, count(*) AS n FROM silver.{clean} GROUP BY k")
            cur.execute(f"SELECT sum(n), count(*) FROM gold.{view}")
            assert cur.fetchone() == (10_000 - len(range(0, 10_000, 7)), 6)

        # The REST server holds it all: pyiceberg, asking it directly, reads lakeflight's commits
        # (the DELETE's position deletes included) and sees the view.
        py = PyIcebergRest("ext", uri=rest.uri)
        tbl = py.load_table(f"silver.{clean}")
        assert tbl.scan().to_arrow().num_rows == 10_000 - len(range(0, 10_000, 7))
        assert ("gold", view) in py.list_views("gold")
        first = tbl.history()[0].snapshot_id

        with connect(srv) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM silver.{clean} AT (VERSION => {first})")
            assert cur.fetchone() == (10_000,), "time travel to the CTAS snapshot"

        # A table another engine makes in the catalog is lakeflight's to query on the next
        # statement, its commits too.
        other = unique("other")
        made = py.create_table(f"bronze.{other}", schema=pa.schema([pa.field("x", pa.int64())]))
        made.append(pa.table({"x": pa.array([5, 6, 7], pa.int64())}))
        with connect(srv) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT sum(x) FROM bronze.{other}")
            assert cur.fetchone() == (18,)
            made.append(pa.table({"x": pa.array([100], pa.int64())}))
            cur.execute(f"SELECT sum(x) FROM bronze.{other}")
            assert cur.fetchone() == (118,)
    finally:
        stop(srv)

    # lakeflight keeps nothing of the catalog itself: a fresh server on a fresh data dir sees it all.
    again = serve(rest, tmp_path, "b")
    try:
        with connect(again) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT sum(n) FROM gold.{view}")
            assert cur.fetchone() == (10_000 - len(range(0, 10_000, 7)),)
        assert not (tmp_path / "data-b" / "catalog.db").exists(), "a rest-catalog server made a catalog database"
    finally:
        stop(again)
    for log in ("a.log", "b.log"):
        assert CATALOG_TOKEN not in (tmp_path / log).read_text(errors="replace"), f"the catalog token is in {log}"


def test_rest_catalog_replicas_ingest_at_once(rest, tmp_path):
    a, b = serve(rest, tmp_path, "a"), serve(rest, tmp_path, "b")
    try:
        ingest_at_once([a, b], unique("both"), batches=12)
    finally:
        stop(a)
        stop(b)


def test_rest_catalog_outage_and_recovery(rest, tmp_path):
    table = unique("outage")
    srv = serve(rest, tmp_path, "a")
    try:
        check_catalog_outage(srv, table, rest.stop, rest.start, "127.0.0.1")
    finally:
        stop(srv)
