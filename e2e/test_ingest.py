"""Bulk ingest from Python: ADBC's adbc_ingest (Flight SQL CommandStatementIngest
over DoPut) of pyarrow tables and pandas DataFrames into bronze, read back with SQL."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import adbc_driver_manager
import pandas as pd
import pyarrow as pa
import pytest

from conftest import connect

KEY_HEADER = "adbc.flight.sql.rpc.call_header.x-lakeflight-idempotency-key"
PARTITION_HEADER = "adbc.flight.sql.rpc.call_header.x-lakeflight-partition-by"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def fetch(cur, sql: str) -> pa.Table:
    cur.execute(sql)
    return cur.fetch_arrow_table()


def test_pyarrow_table_round_trip(cursor):
    name = unique("arrow")
    utc = dt.UTC
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int32()),
            "big": pa.array([10**12, None, -5], pa.int64()),
            "price": pa.array([1.5, 2.25, None], pa.float64()),
            "name": pa.array(["a", None, 'ç,"q"'], pa.string()),
            "ok": pa.array([True, False, None]),
            "day": pa.array([dt.date(2026, 1, 2), dt.date(1999, 12, 31), None]),
            "at": pa.array(
                [dt.datetime(2026, 11, 27, 10, 0, tzinfo=utc), None, dt.datetime(1970, 1, 1, tzinfo=utc)],
                pa.timestamp("us", tz="UTC"),
            ),
            "amount": pa.array([decimal.Decimal("12.34"), decimal.Decimal("-0.01"), None], pa.decimal128(10, 2)),
        }
    )
    assert cursor.adbc_ingest(name, table, mode="create") == 3
    got = fetch(cursor, f"SELECT * FROM bronze.{name} ORDER BY id")
    assert got.column_names == table.column_names
    assert got.column("id").to_pylist() == [1, 2, 3]
    assert got.column("big").to_pylist() == [10**12, None, -5]
    assert got.column("name").to_pylist() == ["a", None, 'ç,"q"']
    assert got.column("ok").to_pylist() == [True, False, None]
    assert got.column("day").to_pylist() == [dt.date(2026, 1, 2), dt.date(1999, 12, 31), None]
    assert got.column("at").to_pylist()[0] == dt.datetime(2026, 11, 27, 10, 0, tzinfo=utc)
    assert got.column("amount").to_pylist() == [decimal.Decimal("12.34"), decimal.Decimal("-0.01"), None]


def test_pandas_dataframe(cursor):
    name = unique("pandas")
    df = pd.DataFrame(
        {
            "city": ["Oslo", "Lima", None, "Pune"],
            "temp": [-3.5, 19.0, 7.25, None],
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "seen": pd.to_datetime(
                ["2026-01-01 10:00", "2026-01-02 11:30:15", "2026-02-03", "2026-03-04 00:00:01"], format="ISO8601"
            ),
            "small": pd.array([1, 2, 3, 4], dtype="int8"),
        }
    )
    assert cursor.adbc_ingest(name, df, mode="create_append") == 4
    got = fetch(cursor, f"SELECT city, temp, count, seen, small FROM bronze.{name} ORDER BY seen").to_pandas()
    assert got["city"].tolist()[:2] == ["Oslo", "Lima"]
    assert pd.isna(got["city"][2])
    assert got["count"].isna().tolist() == [False, True, False, False]
    assert got["seen"].iloc[1] == pd.Timestamp("2026-01-02 11:30:15")
    assert got["small"].tolist() == [1, 2, 3, 4]
    # A second DataFrame appends.
    assert cursor.adbc_ingest(name, df.head(2), mode="append") == 2
    assert fetch(cursor, f"SELECT count(*) AS n FROM bronze.{name}").column("n").to_pylist() == [6]


def test_modes(cursor):
    name = unique("modes")
    t = pa.table({"x": [1, 2]})
    cursor.adbc_ingest(name, t, mode="create")
    with pytest.raises(adbc_driver_manager.Error, match="already exists"):
        cursor.adbc_ingest(name, t, mode="create")
    with pytest.raises(adbc_driver_manager.Error, match="does not exist|no such table|not found"):
        cursor.adbc_ingest(unique("absent"), t, mode="append")
    cursor.adbc_ingest(name, pa.table({"x": [3], "note": ["new column"]}), mode="append")
    got = fetch(cursor, f"SELECT x, note FROM bronze.{name} ORDER BY x")
    assert got.column("note").to_pylist() == [None, None, "new column"]
    cursor.adbc_ingest(name, pa.table({"y": ["only"]}), mode="replace")
    got = fetch(cursor, f"SELECT * FROM bronze.{name}")
    assert got.column_names == ["y"] and got.num_rows == 1


def test_schema_mismatch_commits_nothing(cursor):
    name = unique("mismatch")
    cursor.adbc_ingest(name, pa.table({"x": [1, 2]}), mode="create")
    with pytest.raises(adbc_driver_manager.Error, match='column "x"'):
        cursor.adbc_ingest(name, pa.table({"x": ["not a number"]}), mode="append")
    assert fetch(cursor, f"SELECT count(*) AS n FROM bronze.{name}").column("n").to_pylist() == [2]


def test_db_schema_names_the_namespace(cursor):
    name = unique("silver")
    cursor.adbc_ingest(name, pa.table({"x": [1]}), mode="create", db_schema_name="silver")
    assert fetch(cursor, f"SELECT x FROM silver.{name}").column("x").to_pylist() == [1]


def test_idempotency_key_header(server):
    name = unique("idem")
    t = pa.table({"x": list(range(100))})
    for _ in range(2):
        with connect(server) as c, c.cursor() as cur:
            cur.adbc_statement.set_options(**{KEY_HEADER: f"load-{name}"})
            assert cur.adbc_ingest(name, t, mode="create_append") == 100
    with connect(server) as c, c.cursor() as cur:
        assert fetch(cur, f"SELECT count(*) AS n FROM bronze.{name}").column("n").to_pylist() == [100]


def test_partition_by_header(server):
    """ADBC's adbc_ingest with the partition-by header creates a partitioned table;
    asking an existing table for another partitioning fails and commits nothing."""
    name = unique("parted")
    days = [dt.datetime(2026, 3, 1 + i % 3, 12, tzinfo=dt.UTC) for i in range(30)]
    t = pa.table({"id": list(range(30)), "ts": pa.array(days, pa.timestamp("us", tz="UTC"))})
    with connect(server) as c, c.cursor() as cur:
        cur.adbc_statement.set_options(**{PARTITION_HEADER: "day(ts)"})
        assert cur.adbc_ingest(name, t, mode="create") == 30
        parts = fetch(cur, f"SELECT partition, record_count FROM iceberg_files('bronze.{name}') ORDER BY 1")
        assert parts.to_pylist() == [
            {"partition": f'{{"ts_day":"2026-03-0{d}"}}', "record_count": 10} for d in (1, 2, 3)
        ]
    with connect(server) as c, c.cursor() as cur:
        cur.adbc_statement.set_options(**{PARTITION_HEADER: "hour(ts)"})
        with pytest.raises(adbc_driver_manager.Error, match=r"is partitioned by \(day\(ts\)\), not \(hour\(ts\)\)"):
            cur.adbc_ingest(name, t, mode="append")
    with connect(server) as c, c.cursor() as cur:
        assert fetch(cur, f"SELECT count(*) AS n FROM bronze.{name}").column("n").to_pylist() == [30]
