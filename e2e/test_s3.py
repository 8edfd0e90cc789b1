"""An s3:// warehouse on a real S3-compatible server (versitygw): ingest and SQL writes land in
the bucket, queries read local copies from the cache (cold after a fresh start, warm after a
restart), /ready follows the bucket, and the secret key is never written to the log."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
import uuid

import adbc_driver_manager
import pyarrow as pa
import pytest

import s3server
from conftest import connect, ready_status, start_server, stop


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    srv = s3server.create(tmp_path_factory.mktemp("s3"))
    srv.bucket("lake")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def metric(srv, name: str) -> float:
    with urllib.request.urlopen(f"{srv.http_base}/metrics", timeout=10) as resp:
        m = re.search(rf"^{name} (\S+)$", resp.read().decode(), re.M)
    assert m, f"no {name} in /metrics"
    return float(m.group(1))


def serve(s3, work, cache: str):
    config = work / "lakeflight.yaml"
    config.write_text(
        f"catalog:\n  warehouse: s3://lake/wh\n"
        f"s3:\n  endpoint: '{s3.endpoint}'\n  insecure: true\n"
        f"  access_key_id: '{s3.access_key}'\n  secret_access_key: '{s3.secret_key}'\n"
        f"cache:\n  dir: '{work / cache}'\n  max_bytes: 1GiB\n"
    )
    return start_server(work / "data", "--config", str(config), log_path=work / f"{cache}.log")


def test_s3_warehouse(s3, tmp_path):
    table = f"s3_{uuid.uuid4().hex[:8]}"
    srv = serve(s3, tmp_path, "cache-a")
    try:
        with connect(srv) as conn, conn.cursor() as cur:
            cur.adbc_ingest(table, pa.table({"id": pa.array(range(10_000), pa.int64())}), mode="create",
                            db_schema_name="bronze")  # fmt: skip
            cur.execute(f"CREATE TABLE silver.{table} AS SELECT id, id % 7 AS k FROM bronze.{table}")
            cur.execute(f"DELETE FROM silver.{table} WHERE k = 0")
            cur.execute(f"SELECT count(*), sum(id) FROM silver.{table}")
            want = cur.fetchone()
        assert want[0] == 10_000 - len(range(0, 10_000, 7))
        assert metric(srv, "lakeflight_object_cache_misses_total") > 0
        assert metric(srv, "lakeflight_object_cache_bytes") > 0
        # The table files are objects of the bucket, not files of the data dir.
        objects = list((s3.root / "lake" / "wh").rglob("*.parquet"))
        assert any(f"silver.db/{table}" in str(p) for p in objects), objects
        assert not (tmp_path / "data" / "warehouse").exists()
    finally:
        stop(srv)

    def scan(srv) -> None:
        with connect(srv) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT count(*), sum(id) FROM silver.{table}")
            assert cur.fetchone() == want

    # A cold cache (another directory): every file comes from the bucket again.
    srv = serve(s3, tmp_path, "cache-b")
    try:
        scan(srv)
        assert metric(srv, "lakeflight_object_cache_misses_total") > 0
    finally:
        stop(srv)

    # Warm: the copies of cache-b survived the restart.
    srv = serve(s3, tmp_path, "cache-b")
    try:
        scan(srv)
        assert metric(srv, "lakeflight_object_cache_hits_total") > 0
        assert metric(srv, "lakeflight_object_cache_misses_total") == 0

        s3.stop()
        try:
            deadline_ok = any(ready_status(srv) == 503 for _ in range(60))
            assert deadline_ok, "/ready stayed 200 with the bucket's server down"
            with connect(srv) as conn, conn.cursor() as cur:
                with pytest.raises(adbc_driver_manager.Error) as err:
                    cur.execute(f"INSERT INTO silver.{table} VALUES (-1, -1)")
                assert "(Unavailable;" in str(err.value), err.value
            assert srv.proc.poll() is None, "lakeflight died with the bucket's server"
        finally:
            s3.start()
        assert any(ready_status(srv) == 200 for _ in range(60)), "/ready did not recover"
        with connect(srv) as conn, conn.cursor() as cur:
            cur.execute(f"INSERT INTO silver.{table} VALUES (-1, -1)")
            cur.execute(f"SELECT count(*) FROM silver.{table}")
            assert cur.fetchone()[0] == want[0] + 1, "the write refused during the outage left something behind"
    finally:
        stop(srv)
    for log in tmp_path.glob("*.log"):
        assert s3.secret_key not in log.read_text(errors="replace"), f"the secret key is in {log.name}"
