"""lakeflight on a Hive Metastore (catalog.driver hive): Apache Hive's own metastore, on
PostgreSQL, holds the catalog. Ingest, SQL writes and time travel work as on lakeflight's own
catalog; CREATE VIEW is refused saying why (the Hive catalog cannot keep a view's dialect); and two
replicas ingesting into one table at once commit every acknowledged row exactly once."""

from __future__ import annotations

import uuid

import adbc_driver_manager
import pytest

import hivemetastore
from conftest import connect, ingest_at_once, ingest_ids, start_server, stop


@pytest.fixture(scope="module")
def metastore(tmp_path_factory, pg_cluster):
    ms = hivemetastore.start(tmp_path_factory.mktemp("hms"), pg_cluster.new_database())
    try:
        yield ms
    finally:
        ms.stop()


def serve(ms, work, name: str):
    return start_server(work / f"data-{name}", "--catalog-driver", "hive", "--catalog-uri", ms.uri,
                        "--warehouse", str(ms.warehouse), log_path=work / f"{name}.log")  # fmt: skip


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_hive_catalog_round_trip(metastore, tmp_path):
    raw, clean = unique("raw"), unique("clean")
    srv = serve(metastore, tmp_path, "a")
    try:
        ingest_ids(srv, raw, range(10_000), mode="create")
        with connect(srv) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE silver.{clean} AS SELECT id, id % 7 AS k FROM bronze.{raw}")
            cur.execute(f"SELECT snapshot_id FROM iceberg_snapshots('silver.{clean}') ORDER BY sequence_number")
            first = cur.fetchall()[0][0]
            cur.execute(f"DELETE FROM silver.{clean} WHERE k = 0")
            cur.execute(f"SELECT count(*) FROM silver.{clean}")
            assert cur.fetchone() == (10_000 - len(range(0, 10_000, 7)),)
            cur.execute(f"SELECT count(*) FROM silver.{clean} AT (VERSION => {first})")
            assert cur.fetchone() == (10_000,), "time travel to the CTAS snapshot"

            with pytest.raises(adbc_driver_manager.Error) as err:
                cur.execute(f"CREATE VIEW gold.{unique('v')} AS SELECT 1 AS one")
            assert "hive catalog cannot keep a view's SQL dialect" in str(err.value), err.value
    finally:
        stop(srv)

    # Nothing of the catalog is lakeflight's: a fresh server on a fresh data dir sees it all.
    again = serve(metastore, tmp_path, "b")
    try:
        with connect(again) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM silver.{clean}")
            assert cur.fetchone() == (10_000 - len(range(0, 10_000, 7)),)
        assert not (tmp_path / "data-b" / "catalog.db").exists(), "a hive-catalog server made a catalog database"
    finally:
        stop(again)


def test_hive_catalog_replicas_ingest_at_once(metastore, tmp_path):
    a, b = serve(metastore, tmp_path, "a"), serve(metastore, tmp_path, "b")
    try:
        ingest_at_once([a, b], unique("both"), batches=8)
    finally:
        stop(a)
        stop(b)
