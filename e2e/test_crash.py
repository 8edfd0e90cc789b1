"""A server killed with SIGKILL in the middle of an ingest that creates its table: after a restart
the table is not there (nothing half-made is visible), and the next ingest of the same name
works."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.request
import uuid

import adbc_driver_manager
import pyarrow as pa

from conftest import connect, start_server, stop

SCHEMA = pa.schema([("id", pa.int64())])
# The compaction of test_kill_during_compaction_keeps_every_row takes seconds; the kill comes
# well inside them (the test fails, saying so, if the compaction was done first).
COMPACT_KILL_AFTER_S = 0.5


def catalog_has(data_dir, name: str) -> bool:
    db = sqlite3.connect(f"file:{data_dir / 'catalog.db'}?mode=ro", uri=True)
    try:
        row = db.execute(
            "SELECT count(*) FROM iceberg_tables WHERE table_namespace = 'bronze' AND table_name = ?", (name,)
        ).fetchone()
    finally:
        db.close()
    return row[0] > 0


def test_kill_during_a_creating_ingest_leaves_no_table(tmp_path):
    data = tmp_path / "data"
    srv = start_server(data)
    name = f"crash_{uuid.uuid4().hex[:8]}"
    sent = threading.Event()

    def batches():
        for i in range(100_000):  # far more than is sent before the kill
            yield pa.record_batch([pa.array(range(i * 1000, (i + 1) * 1000), pa.int64())], schema=SCHEMA)
            sent.set()
            time.sleep(0.02)

    outcome: list[BaseException | None] = []

    def ingest():
        try:
            with connect(srv) as conn, conn.cursor() as cur:
                reader = pa.RecordBatchReader.from_batches(SCHEMA, batches())
                cur.adbc_ingest(name, reader, mode="create", db_schema_name="bronze")
            outcome.append(None)
        except (adbc_driver_manager.Error, OSError) as e:
            outcome.append(e)

    t = threading.Thread(target=ingest)
    t.start()
    deadline = time.monotonic() + 60
    while not (sent.is_set() and catalog_has(data, name)):
        assert time.monotonic() < deadline, "the ingest never created its table"
        time.sleep(0.05)
    time.sleep(0.3)  # some batches in flight
    srv.proc.kill()
    srv.proc.wait()
    t.join(timeout=60)
    assert not t.is_alive(), "the client hung after the server died"
    assert outcome and outcome[0] is not None, "the ingest was acknowledged although the server was killed"
    assert catalog_has(data, name), "the table should still be in the catalog before the restart"

    srv = start_server(data, log_path=tmp_path / "restarted.log")
    try:
        assert not catalog_has(data, name), "the half-made table survived the restart"
        with connect(srv) as conn, conn.cursor() as cur:
            cur.adbc_ingest(name, pa.table({"id": pa.array([1, 2, 3], pa.int64())}), mode="create",
                            db_schema_name="bronze")  # fmt: skip
            cur.execute(f"SELECT count(*) FROM bronze.{name}")
            assert cur.fetchone() == (3,)
        assert "dropped a table whose creating write never committed" in (tmp_path / "restarted.log").read_text()
    finally:
        stop(srv)


def test_kill_during_compaction_keeps_every_row(tmp_path):
    """SIGKILL while a compaction rewrites 60 files: after a restart every row is there exactly
    once, the table still reads (no snapshot names a missing file) and a new compaction works."""
    data = tmp_path / "data"
    srv = start_server(data)
    table = f"silver.compact_{uuid.uuid4().hex[:8]}"
    rows_per_file, files = 50_000, 60
    with connect(srv) as conn, conn.cursor() as cur:
        # md5 strings do not compress: each INSERT writes one file of ~2 MB.
        cur.execute(f"CREATE TABLE {table} AS SELECT range AS id, md5(range::VARCHAR) AS h FROM range({rows_per_file})")
        for k in range(1, files):
            lo, hi = k * rows_per_file, (k + 1) * rows_per_file
            cur.execute(f"INSERT INTO {table} SELECT range, md5(range::VARCHAR) FROM range({lo}, {hi})")
        cur.execute(f"SELECT count(*), sum(id), count(DISTINCT h) FROM {table}")
        want = cur.fetchone()
    assert want[0] == rows_per_file * files
    ns, name = table.split(".")
    outcome: list[object] = []

    def compact():
        req = urllib.request.Request(f"{srv.http_base}/v1/tables/{ns}/{name}/compact", data=b"{}", method="POST")
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                outcome.append(resp.status)
        except OSError as e:  # the connection dies with the server
            outcome.append(e)

    t = threading.Thread(target=compact)
    t.start()
    time.sleep(COMPACT_KILL_AFTER_S)
    srv.proc.kill()
    srv.proc.wait()
    t.join(timeout=60)
    assert outcome and not isinstance(outcome[0], int), f"the compaction finished before the kill ({outcome})"

    srv = start_server(data, log_path=tmp_path / "restarted.log")
    try:
        with connect(srv) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT count(*), sum(id), count(DISTINCT h) FROM {table}")
            assert cur.fetchone() == want
        req = urllib.request.Request(f"{srv.http_base}/v1/tables/{ns}/{name}/compact", data=b"{}", method="POST")
        with urllib.request.urlopen(req, timeout=300) as resp:
            report = json.loads(resp.read())
        assert report["data_files_after"] < report["data_files_before"] == files, report
        with connect(srv) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT count(*), sum(id), count(DISTINCT h) FROM {table}")
            assert cur.fetchone() == want
    finally:
        stop(srv)
