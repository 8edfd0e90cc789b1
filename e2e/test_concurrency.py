"""Two lakeflight processes on one data dir, writing one table at once.

Both servers share the catalog (the SQLite file, or a PostgreSQL database) and the warehouse. Writers on both send
INSERTs, UPDATEs and DELETEs concurrently; a statement may fail only with a
clear conflict error and must then leave no trace, and every acknowledged
statement must be in the final table as exactly one snapshot.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import adbc_driver_manager
import pyarrow as pa
import pytest

from conftest import Server, connect, s3_config, start_server, stop

WORKERS = 8  # half on each server
STATEMENTS = 10  # per worker
# Each worker's statements, in order; an UPDATE or DELETE picks one of the
# worker's own live rows (an INSERT stands in when it has none).
PLAN = ["insert", "insert", "update", "insert", "delete", "insert", "update", "insert", "update", "delete"]
CONFLICT = re.compile(r"conflict|another writer", re.IGNORECASE)


@dataclass
class Worker:
    index: int
    server: Server
    rows: dict[int, int] = field(default_factory=dict)  # id -> v, as acknowledged
    acked: Counter = field(default_factory=Counter)  # statement kind -> acknowledged count
    conflicts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # anything else: fails the test
    seconds: float = 0.0

    def run(self, table: str, start: threading.Barrier) -> None:
        t0 = time.monotonic()
        try:
            with connect(self.server) as conn:
                start.wait(timeout=60)
                for k, kind in enumerate(PLAN[:STATEMENTS]):
                    self.step(conn, table, k, kind)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(f"worker {self.index}: {e!r}")
        self.seconds = time.monotonic() - t0

    def step(self, conn, table: str, k: int, kind: str) -> None:
        own = sorted(self.rows)
        if kind != "insert" and not own:
            kind = "insert"
        if kind == "insert":
            row_id = (self.index + 1) * 1000 + k  # the seed row is id 0
            sql = f"INSERT INTO {table} VALUES ({row_id}, {self.index}, {k})"
        elif kind == "update":
            row_id = own[k % len(own)]
            sql = f"UPDATE {table} SET v = v + 1 WHERE id = {row_id}"
        else:
            row_id = own[k % len(own)]
            sql = f"DELETE FROM {table} WHERE id = {row_id}"
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                changed = cur.rowcount
        except adbc_driver_manager.Error as e:
            if CONFLICT.search(str(e)):
                self.conflicts.append(f"{sql}: {e}")
            else:
                self.errors.append(f"worker {self.index}: {sql}: {e!r}")
            return
        if changed != 1:
            self.errors.append(f"worker {self.index}: {sql}: {changed} rows changed, expected 1")
        self.acked[kind] += 1
        if kind == "insert":
            self.rows[row_id] = k
        elif kind == "update":
            self.rows[row_id] += 1
        else:
            del self.rows[row_id]


def fetch_rows(server: Server, sql: str) -> list[tuple]:
    with connect(server) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


@pytest.fixture(params=["sqlite", "postgres", "postgres+s3"])
def two_servers(request, tmp_path):
    """Two lakeflight processes, each with its own ports and log, sharing the SQLite catalog of one
    --data-dir, or a PostgreSQL database and that data dir's warehouse, or a PostgreSQL database and
    a bucket (then each has a data dir, and so a cache, of its own: stateless replicas)."""
    data = second_data = tmp_path / "data"
    catalog: tuple[str, ...] = ()
    if request.param.startswith("postgres"):
        dsn = request.getfixturevalue("pg_cluster").new_database()
        catalog = ("--catalog-driver", "postgres", "--catalog-uri", dsn)
    if request.param.endswith("s3"):
        s3 = request.getfixturevalue("s3_server")
        bucket = f"b{uuid.uuid4().hex[:12]}"
        s3.bucket(bucket)
        catalog += ("--config", str(s3_config(s3, bucket, tmp_path / "s3.yaml")))
        second_data = tmp_path / "data2"
    first = start_server(data, *catalog, log_path=tmp_path / "first.log")
    try:
        second = start_server(second_data, *catalog, log_path=tmp_path / "second.log")
    except BaseException:
        stop(first)
        raise
    try:
        yield first, second
    finally:
        try:
            stop(second)
        finally:
            stop(first)


def test_two_servers_one_table(two_servers):
    """Writers on two servers at once: each acknowledged statement is one snapshot and in
    the final table; a failed one says it lost to another writer and left no trace."""
    first, second = two_servers
    table = f"silver.conc_{uuid.uuid4().hex[:8]}"
    with connect(first) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} AS SELECT CAST(0 AS BIGINT) AS id, -1 AS worker, 0 AS v")

    workers = [Worker(i, first if i % 2 == 0 else second) for i in range(WORKERS)]
    start = threading.Barrier(WORKERS)
    threads = [threading.Thread(target=w.run, args=(table, start)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    errors = [e for w in workers for e in w.errors]
    assert not errors, "\n".join(errors)

    acked = sum((w.acked for w in workers), Counter())
    writes = sum(acked.values())
    conflicts = [c for w in workers for c in w.conflicts]
    assert writes + len(conflicts) == WORKERS * STATEMENTS
    assert writes >= WORKERS * STATEMENTS // 2, "most writes failed:\n" + "\n".join(conflicts)

    # Both servers see exactly what the acknowledged statements imply.
    want = sorted([(0, -1, 0)] + [(i, w.index, v) for w in workers for i, v in w.rows.items()])
    for srv in (first, second):
        assert fetch_rows(srv, f"SELECT id, worker, v FROM {table} ORDER BY id") == want

    # One snapshot per acknowledged statement (plus the CREATE), each the
    # child of the one before: no commit was lost or merged into another.
    snaps = fetch_rows(
        first,
        f"SELECT snapshot_id, parent_id, summary['lakeflight.sql.statement'] FROM iceberg_snapshots('{table}') "
        "ORDER BY sequence_number",
    )
    assert len(snaps) == writes + 1
    assert [s[1] for s in snaps] == [None] + [s[0] for s in snaps[:-1]]
    kinds = Counter(s[2] for s in snaps[1:])
    assert kinds == Counter({k.upper(): n for k, n in acked.items()})
    ancestors = fetch_rows(second, f"SELECT is_current_ancestor FROM iceberg_history('{table}')")
    assert ancestors == [(True,)] * len(snaps)


def test_reused_prepared_statement_sees_other_writers(two_servers):
    """One cursor running the same text again (the ADBC DB-API then reuses its
    prepared statement) sees what the other server committed in between."""
    first, second = two_servers
    table = f"silver.poll_{uuid.uuid4().hex[:8]}"
    with connect(first) as reader, reader.cursor() as poll, connect(second) as writer, writer.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} AS SELECT 1 AS id")
        query = f"SELECT count(*) FROM {table}"
        counts = []
        for i in range(2, 5):
            poll.execute(query)
            counts.append(poll.fetchone()[0])
            cur.execute(f"INSERT INTO {table} VALUES ({i})")
        poll.execute(query)
        counts.append(poll.fetchone()[0])
    assert counts == [1, 2, 3, 4]


def test_two_servers_ingest_into_one_table(two_servers):
    """ADBC ingests through both servers at once into one table: every acknowledged batch is there
    exactly once (appends that lose a commit race are rebased, never dropped or doubled)."""
    first, second = two_servers
    name = f"ing_{uuid.uuid4().hex[:8]}"
    with connect(first) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE silver.{name} (id BIGINT, worker INTEGER)")
    batches, rows = 6, 500
    acked: list[int] = []
    errors: list[str] = []
    start = threading.Barrier(WORKERS)

    def ingest(worker: int) -> None:
        srv = first if worker % 2 == 0 else second
        start.wait()
        with connect(srv) as conn, conn.cursor() as cur:
            for b in range(batches):
                base = (worker * batches + b) * rows
                data = pa.table(
                    {
                        "id": pa.array(range(base, base + rows), pa.int64()),
                        "worker": pa.array([worker] * rows, pa.int32()),
                    }
                )
                try:
                    cur.adbc_ingest(name, data, mode="append", db_schema_name="silver")
                    conn.commit()
                except adbc_driver_manager.Error as e:
                    errors.append(f"worker {worker} batch {b}: {e}")
                    continue
                acked.append(base)

    threads = [threading.Thread(target=ingest, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "an ingest hung"
    assert not errors, "\n".join(errors)
    assert len(acked) == WORKERS * batches
    want = sorted(i for base in acked for i in range(base, base + rows))
    for srv in (first, second):
        got = fetch_rows(srv, f"SELECT id FROM silver.{name} ORDER BY id")
        assert [r[0] for r in got] == want
    snaps = fetch_rows(first, f"SELECT count(*) FROM iceberg_snapshots('silver.{name}') WHERE operation = 'append'")
    assert snaps == [(len(acked),)]
