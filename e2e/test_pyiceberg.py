"""pyiceberg as an independent Iceberg reader and writer on lakeflight's catalog.

lakeflight keeps an Iceberg SQL catalog (``<data-dir>/catalog.db``, catalog name
``lakehouse``) and a local warehouse; pyiceberg's SqlCatalog opens the same
database. What lakeflight writes (including merge-on-read position deletes) must
read the same in pyiceberg at every snapshot, and what pyiceberg commits must be
visible through lakeflight, time travel included.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import urllib.request
import uuid
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.manifest import DataFileContent
from pyiceberg.table import Table

from conftest import Server

Row = dict[str, object]
Model = dict[int, Row]


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def open_catalog(server: Server) -> SqlCatalog:
    """pyiceberg's view of the catalog the server keeps in its data dir."""
    return SqlCatalog(
        "lakehouse",
        uri=f"sqlite:///{server.data_dir / 'catalog.db'}",
        warehouse=f"file://{server.warehouse}",
    )


def fetch(conn, sql: str) -> pa.Table:
    """Runs sql as a new statement, so it sees the latest commits."""
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


def sort_key(row: Row) -> tuple:
    return tuple((v is None, v if v is not None else 0) for v in row.values())


def rows(table: pa.Table) -> list[Row]:
    return sorted(table.to_pylist(), key=sort_key)


def lakeflight_snapshots(conn, name: str) -> list[Row]:
    got = fetch(
        conn,
        f"SELECT snapshot_id, parent_id, sequence_number, operation FROM iceberg_snapshots('{name}') "
        "ORDER BY sequence_number",
    )
    return got.to_pylist()


def pyiceberg_snapshots(table: Table) -> list[Row]:
    return [
        {
            "snapshot_id": s.snapshot_id,
            "parent_id": s.parent_snapshot_id,
            "sequence_number": s.sequence_number,
            "operation": s.summary.operation.value if s.summary else None,
        }
        for s in sorted(table.snapshots(), key=lambda s: s.sequence_number)
    ]


def assert_same_at_every_snapshot(conn, name: str, table: Table) -> int:
    """pyiceberg's scan of each snapshot equals lakeflight's AT (VERSION => id)."""
    table = table.refresh()
    snaps = table.snapshots()
    assert snaps, f"{name} has no snapshots"
    for snap in snaps:
        theirs = table.scan(snapshot_id=snap.snapshot_id).to_arrow()
        ours = fetch(conn, f"SELECT * FROM {name} AT (VERSION => {snap.snapshot_id})")
        assert ours.column_names == theirs.column_names, f"snapshot {snap.snapshot_id}"
        assert rows(ours) == rows(theirs), f"snapshot {snap.snapshot_id} ({snap.summary})"
    return len(snaps)


# The series of SQL commits of test_lakeflight_commits_read_by_pyiceberg: each
# statement with what it does to a model of the table (id -> row).


def _create(m: Model) -> None:
    m.update({i: {"id": i, "name": f"n{i}", "score": i * 1.5} for i in range(20)})


def _insert_hundreds(m: Model) -> None:
    m[100] = {"id": 100, "name": "hundred", "score": 1.0}
    m[101] = {"id": 101, "name": "hundred one", "score": None}


def _delete_multiples_of_3(m: Model) -> None:
    for k in [k for k in m if k % 3 == 0]:
        del m[k]


def _upper_small(m: Model) -> None:
    for r in m.values():
        if r["id"] < 8:
            r["name"] = r["name"].upper()
            r["score"] += 10


def _merge(m: Model) -> None:
    for k, name in [(1, "m1"), (2, "m2"), (300, "m300"), (301, "m301")]:
        if k in m:
            m[k]["name"] = name
        else:
            m[k] = {"id": k, "name": name, "score": -1.0}


def _add_note(m: Model) -> None:
    for r in m.values():
        r["note"] = None


def _insert_with_note(m: Model) -> None:
    m[200] = {"id": 200, "name": "x", "score": 2.0, "note": "hello"}
    m[201] = {"id": 201, "name": "y", "score": None, "note": None}


def _note_on_old_rows(m: Model) -> None:
    for k in (1, 4, 100):
        m[k]["note"] = "touched"


def _delete_merged(m: Model) -> None:
    del m[300]
    del m[5]


STEPS: list[tuple[str, Callable[[Model], None]]] = [
    (
        "CREATE TABLE {t} AS SELECT CAST(i AS BIGINT) AS id, 'n' || i AS name, CAST(i * 1.5 AS DOUBLE) AS score "
        "FROM range(20) r(i)",
        _create,
    ),
    ("INSERT INTO {t} VALUES (100, 'hundred', 1.0), (101, 'hundred one', NULL)", _insert_hundreds),
    ("DELETE FROM {t} WHERE id % 3 = 0", _delete_multiples_of_3),
    ("UPDATE {t} SET name = upper(name), score = score + 10 WHERE id < 8", _upper_small),
    (
        "MERGE INTO {t} AS t USING (SELECT * FROM (VALUES (1, 'm1'), (2, 'm2'), (300, 'm300'), (301, 'm301')) "
        "v(id, name)) AS s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET name = s.name "
        "WHEN NOT MATCHED THEN INSERT (id, name, score) VALUES (s.id, s.name, -1.0)",
        _merge,
    ),
    ("ALTER TABLE {t} ADD COLUMN note VARCHAR", _add_note),
    ("INSERT INTO {t} VALUES (200, 'x', 2.0, 'hello'), (201, 'y', NULL, NULL)", _insert_with_note),
    ("UPDATE {t} SET note = 'touched' WHERE id IN (1, 4, 100)", _note_on_old_rows),
    ("DELETE FROM {t} WHERE id IN (300, 5)", _delete_merged),
]


def test_lakeflight_commits_read_by_pyiceberg(server, conn):
    """Every snapshot of a table written by SQL (position deletes, a merge, a new column)
    reads the same in pyiceberg as through lakeflight's time travel."""
    name = f"silver.{unique('sqlwrites')}"
    model: Model = {}
    for sql, apply in STEPS:
        with conn.cursor() as cur:
            cur.execute(sql.format(t=name))
        apply(model)
    assert rows(fetch(conn, f"SELECT * FROM {name}")) == sorted(model.values(), key=sort_key)

    table = open_catalog(server).load_table(name)
    # The ALTER makes no snapshot; every other statement makes one.
    assert assert_same_at_every_snapshot(conn, name, table) == len(STEPS) - 1
    assert rows(table.scan().to_arrow()) == sorted(model.values(), key=sort_key)

    # The current snapshot reads through position-delete files, not rewritten data.
    deletes = [d for task in table.scan().plan_files() for d in task.delete_files]
    assert deletes, "no delete files in the current snapshot"
    assert {d.content for d in deletes} == {DataFileContent.POSITION_DELETES}
    assert table.format_version == 2


@pytest.mark.parametrize("mode", ["merge-on-read", "copy-on-write"])
def test_partitioned_commits_read_by_pyiceberg(server, conn, mode):
    """The same series on a table PARTITIONED BY a bucket and a truncate: pyiceberg
    sees the spec, reads every snapshot the same (its delete files matched by
    partition), and prunes files by the partition values lakeflight recorded."""
    name = f"silver.{unique('parts')}"
    model: Model = {}
    for i, (sql, apply) in enumerate(STEPS):
        sql = sql.format(t=name)
        if i == 0:
            sql = sql.replace(" AS SELECT", " PARTITIONED BY (bucket(4, id), truncate(1, name)) AS SELECT", 1)
        with conn.cursor() as cur:
            cur.execute(sql)
            if i == 0 and mode == "copy-on-write":
                for op in ("delete", "update", "merge"):
                    cur.execute(f"CALL iceberg_set_property('{name}', 'write.{op}.mode', 'copy-on-write')")
        apply(model)
    assert rows(fetch(conn, f"SELECT * FROM {name}")) == sorted(model.values(), key=sort_key)

    table = open_catalog(server).load_table(name)
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [
        ("id_bucket", "bucket[4]"),
        ("name_trunc", "truncate[1]"),
    ]
    assert assert_same_at_every_snapshot(conn, name, table) == len(STEPS) - 1
    assert rows(table.scan().to_arrow()) == sorted(model.values(), key=sort_key)

    tasks = list(table.scan().plan_files())
    deletes = [d for task in tasks for d in task.delete_files]
    if mode == "merge-on-read":
        assert deletes, "no delete files in the current snapshot"
        for task in tasks:  # each delete file sits in its data file's partition
            for d in task.delete_files:
                assert d.partition == task.file.partition, (d.file_path, task.file.file_path)
    else:
        assert deletes == []
    # One id lives in one bucket: pyiceberg plans only that bucket's files.
    one = list(table.scan(row_filter="id == 100").plan_files())
    assert 0 < len(one) < len(tasks), (len(one), len(tasks))
    assert rows(table.scan(row_filter="id == 100").to_arrow()) == [model[100]]
    # lakeflight plans the same files for the same filter, and EXPLAIN says so.
    explained = fetch(conn, f"EXPLAIN SELECT * FROM {name} WHERE id = 100").to_pylist()
    notes = [r["explain_value"] for r in explained if r["explain_key"] == "iceberg_scan"]
    want = f"{len(one)} of {len(tasks)} data files planned with id = 100"
    assert len(notes) == 1 and notes[0].endswith(want), (notes, want)

    # Compaction: one file per partition, no delete files, the same rows for
    # pyiceberg now and at every older snapshot.
    ns, tbl = name.split(".")
    req = urllib.request.Request(f"http://{server.http_addr}/v1/tables/{ns}/{tbl}/compact", data=b"{}", method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        report = json.load(resp)
    commits = report.get("commits", 0)
    if mode == "merge-on-read":  # partitions with delete files are always rewritten
        assert commits > 0 and report["data_files_after"] < report["data_files_before"], report
    table = table.refresh()
    tasks = list(table.scan().plan_files())
    assert [d for task in tasks for d in task.delete_files] == []
    partitions = [tuple(task.file.partition) for task in tasks]
    assert len(partitions) == len(set(partitions)), partitions
    assert assert_same_at_every_snapshot(conn, name, table) == len(STEPS) - 1 + commits
    assert rows(table.scan().to_arrow()) == sorted(model.values(), key=sort_key)


def test_sorted_table_read_by_pyiceberg(server, conn):
    """A table SORTED BY (k DESC, id): pyiceberg sees the sort order, every file an
    ADBC ingest writes claims it, and each file's rows really are in it."""
    name = f"silver.{unique('sorted')}"
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (k BIGINT, id BIGINT, region VARCHAR) PARTITIONED BY (region)")
        cur.execute(f"ALTER TABLE {name} SET SORTED BY (k DESC, id)")
    ids = [(i * 104729) % 100003 for i in range(5000)]
    data = pa.table(
        {
            "k": pa.array([i % 13 for i in ids], pa.int64()),
            "id": pa.array(ids, pa.int64()),
            "region": pa.array(["eu" if i % 3 == 0 else "us" for i in ids]),
        }
    )
    ns, tbl = name.split(".")
    with conn.cursor() as cur:
        cur.adbc_ingest(tbl, data.to_batches(max_chunksize=700), mode="append", db_schema_name=ns)
    conn.commit()

    table = open_catalog(server).load_table(name)
    order = table.sort_order()
    schema = table.schema()
    assert [
        (schema.find_column_name(f.source_id), str(f.transform), f.direction.name, f.null_order.name)
        for f in order.fields
    ] == [("k", "identity", "DESC", "NULLS_LAST"), ("id", "identity", "ASC", "NULLS_LAST")]
    tasks = list(table.scan().plan_files())
    assert len(tasks) >= 2
    for task in tasks:
        assert task.file.sort_order_id == order.order_id, task.file.file_path
        got = pq.read_table(task.file.file_path.removeprefix("file://"), columns=["k", "id"])
        keys = list(zip(got["k"].to_pylist(), got["id"].to_pylist(), strict=True))
        assert keys == sorted(keys, key=lambda r: (-r[0], r[1])), task.file.file_path
    want = sorted(zip(data["k"].to_pylist(), data["id"].to_pylist(), data["region"].to_pylist(), strict=True))
    assert sorted(table.scan().to_arrow().to_pylist(), key=lambda r: (r["k"], r["id"], r["region"])) == [
        {"k": k, "id": i, "region": r} for k, i, r in want
    ]
    props = fetch(conn, f"SELECT value FROM iceberg_properties('{name}') WHERE key = 'write.sort-order'")
    assert props.column(0).to_pylist() == ["k DESC, id"]


def test_partition_evolution_read_by_pyiceberg(server, conn):
    """unpartitioned -> day(ts) -> hour(ts): pyiceberg sees the three specs, each file
    under its own, and reads every snapshot (a delete across specs included) the same."""
    name = f"silver.{unique('evo')}"
    insert = (
        "INSERT INTO {t} SELECT range AS id, TIMESTAMP '2026-03-01 00:30:00' + INTERVAL (range % 4) HOUR "
        "+ INTERVAL (range % 2) DAY AS ts FROM range({a}, {b})"
    )
    statements = [
        "CREATE TABLE {t} (id BIGINT, ts TIMESTAMP)",
        insert.format(t="{t}", a=0, b=20),
        "ALTER TABLE {t} SET PARTITIONED BY (day(ts))",
        insert.format(t="{t}", a=20, b=40),
        "ALTER TABLE {t} SET PARTITIONED BY (hour(ts))",
        insert.format(t="{t}", a=40, b=60),
        "DELETE FROM {t} WHERE id % 7 = 0",
    ]
    with conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql.format(t=name))
    table = open_catalog(server).load_table(name)
    assert [[str(f.transform) for f in spec.fields] for spec in table.specs().values()] == [[], ["day"], ["hour"]]
    specs = sorted({task.file.spec_id for task in table.scan().plan_files()})
    assert specs == [0, 1, 2]
    assert assert_same_at_every_snapshot(conn, name, table) == 4
    assert sorted(r["id"] for r in table.scan().to_arrow().to_pylist()) == [i for i in range(60) if i % 7]


def test_copy_on_write_commits_read_by_pyiceberg(server, conn):
    """The same series on a table set to copy-on-write: pyiceberg sees the
    properties, reads every snapshot the same, and the current snapshot has
    no delete files (the touched data files were rewritten)."""
    name = f"silver.{unique('cow')}"
    model: Model = {}
    for i, (sql, apply) in enumerate(STEPS):
        with conn.cursor() as cur:
            cur.execute(sql.format(t=name))
            if i == 0:
                for op in ("delete", "update", "merge"):
                    cur.execute(f"CALL iceberg_set_property('{name}', 'write.{op}.mode', 'copy-on-write')")
        apply(model)
    assert rows(fetch(conn, f"SELECT * FROM {name}")) == sorted(model.values(), key=sort_key)

    table = open_catalog(server).load_table(name)
    assert table.properties["write.delete.mode"] == "copy-on-write"
    assert assert_same_at_every_snapshot(conn, name, table) == len(STEPS) - 1
    assert rows(table.scan().to_arrow()) == sorted(model.values(), key=sort_key)
    deletes = [d for task in table.scan().plan_files() for d in task.delete_files]
    assert deletes == []
    ops = [s.summary.operation.value for s in table.snapshots() if s.summary]
    assert ops.count("overwrite") == 5, ops  # both DELETEs, both UPDATEs and the MERGE rewrote files
    props = fetch(conn, f"SELECT value FROM iceberg_properties('{name}') WHERE key = 'write.merge.mode'")
    assert props.column("value").to_pylist() == ["copy-on-write"]


def test_create_or_replace_keeps_history_for_pyiceberg(server, conn):
    """CREATE OR REPLACE on an existing table is a new snapshot of the same table:
    pyiceberg sees one table whose old snapshots read with the old schema."""
    name = f"silver.{unique('replace')}"
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} AS SELECT CAST(i AS BIGINT) AS id FROM range(5) r(i)")
        cur.execute(f"DELETE FROM {name} WHERE id = 2")
        cur.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT 'a' AS code, CAST(1.5 AS DOUBLE) AS score")
    table = open_catalog(server).load_table(name)
    assert assert_same_at_every_snapshot(conn, name, table) == 3
    assert table.scan().to_arrow().to_pylist() == [{"code": "a", "score": 1.5}]
    assert [f.name for f in table.schema().fields] == ["code", "score"]
    first = min(table.snapshots(), key=lambda s: s.sequence_number)
    assert rows(table.scan(snapshot_id=first.snapshot_id).to_arrow()) == [{"id": i} for i in range(5)]


SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("label", pa.string()),
        pa.field("amount", pa.decimal128(10, 2)),
        pa.field("ratio", pa.float64()),
        pa.field("ok", pa.bool_()),
        pa.field("day", pa.date32()),
        pa.field("at", pa.timestamp("us", tz="UTC")),
    ]
)


def batch(ids: list[int]) -> pa.Table:
    utc = dt.UTC
    return pa.table(
        {
            "id": ids,
            "label": [f"row {i}" if i % 4 else None for i in ids],
            "amount": [decimal.Decimal(i * 101) / 100 for i in ids],
            "ratio": [i / 7 for i in ids],
            "ok": [i % 2 == 0 for i in ids],
            "day": [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in ids],
            "at": [dt.datetime(2026, 11, 27, 10, tzinfo=utc) + dt.timedelta(seconds=i) for i in ids],
        },
        schema=SCHEMA,
    )


def test_pyiceberg_commits_read_by_lakeflight(server, conn):
    """A table pyiceberg creates and appends to in bronze reads the same through lakeflight,
    which notices each new pyiceberg commit, and time travel reaches pyiceberg's snapshots."""
    short = unique("pyice")
    name = f"bronze.{short}"
    table = open_catalog(server).create_table(name, schema=SCHEMA)
    first_rows = batch(list(range(10)))
    table.append(first_rows)
    first = table.current_snapshot().snapshot_id

    got = fetch(conn, f"SELECT * FROM {name}")
    assert got.column_names == SCHEMA.names
    assert rows(got) == rows(first_rows)

    table.append(batch(list(range(10, 25))))
    got = fetch(conn, f"SELECT * FROM {name}")
    assert rows(got) == rows(table.scan().to_arrow())
    assert got.num_rows == 25

    old = fetch(conn, f"SELECT * FROM {name} AT (VERSION => {first})")
    assert rows(old) == rows(first_rows)

    # A pyiceberg delete (copy-on-write) is noticed too.
    table.delete("id >= 20")
    got = fetch(conn, f"SELECT id FROM {name}")
    assert sorted(got.column("id").to_pylist()) == list(range(20))
    assert_same_at_every_snapshot(conn, name, table)

    # lakeflight lists pyiceberg's table in its namespace.
    listed = fetch(conn, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'bronze'")
    assert short in listed.column("table_name").to_pylist()


@pytest.mark.parametrize("writer", ["lakeflight", "pyiceberg"])
def test_snapshot_listings_agree(server, conn, writer):
    """iceberg_snapshots through lakeflight lists what pyiceberg's table.snapshots() does."""
    catalog = open_catalog(server)
    if writer == "lakeflight":
        name = f"silver.{unique('listed')}"
        for sql in (
            "CREATE TABLE {t} AS SELECT * FROM range(5) r(id)",
            "INSERT INTO {t} VALUES (5)",
            "DELETE FROM {t} WHERE id = 2",
            "UPDATE {t} SET id = id * 10 WHERE id = 4",
        ):
            with conn.cursor() as cur:
                cur.execute(sql.format(t=name))
        table = catalog.load_table(name)
    else:
        name = f"bronze.{unique('listed')}"
        table = catalog.create_table(name, schema=SCHEMA)
        table.append(batch([1, 2, 3]))
        table.append(batch([4]))
        table.delete("id = 2")
    table = table.refresh()
    assert len(table.snapshots()) >= 3
    assert lakeflight_snapshots(conn, name) == pyiceberg_snapshots(table)
    history = fetch(conn, f"SELECT snapshot_id FROM iceberg_history('{name}')").column("snapshot_id").to_pylist()
    assert history == [entry.snapshot_id for entry in table.history()]
