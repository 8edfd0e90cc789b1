"""A server killed with SIGKILL in the middle of an ingest that creates its table: after a restart
the table is not there (nothing half-made is visible), and the next ingest of the same name
works."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid

import adbc_driver_manager
import pyarrow as pa

from conftest import connect, start_server, stop

SCHEMA = pa.schema([("id", pa.int64())])


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
