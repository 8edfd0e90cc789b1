"""Queries through the Python ADBC Flight SQL driver: typed values, big results,
parameters and errors, checked the way a data scientist would see them."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager.dbapi as dbapi
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from conftest import connect

UTC = dt.UTC

TYPED_SQL = """
SELECT
    42::INTEGER                                   AS i32,
    9007199254740993::BIGINT                      AS i64,
    (-7)::SMALLINT                                AS i16,
    3::TINYINT                                    AS i8,
    123.45::DECIMAL(10, 2)                        AS dec,
    12345678901234567890.123456789::DECIMAL(38, 9) AS dec38,
    170141183460469231731687303715884105727::HUGEINT AS huge,
    1.5::DOUBLE                                   AS dbl,
    0.25::REAL                                    AS flt,
    'héllo, wörld'                                AS s,
    ''                                            AS empty,
    DATE '2024-02-29'                             AS d,
    TIME '13:14:15.5'                             AS t,
    TIMESTAMP '2024-02-29 13:14:15.123456'        AS ts,
    TIMESTAMPTZ '2024-02-29 13:14:15.123456+00'   AS tstz,
    true                                          AS b,
    false                                         AS b2,
    [1, 2, NULL]::INTEGER[]                       AS lst,
    {'x': 1, 'y': 'two', 'z': [1.5]}              AS st,
    MAP {'k1': 10, 'k2': 20}                      AS m,
    '\\xAA\\xBB'::BLOB                             AS blb,
    NULL::INTEGER                                 AS null_int,
    NULL::VARCHAR                                 AS null_str,
    NULL::TIMESTAMP                               AS null_ts,
    NULL::DECIMAL(10, 2)                          AS null_dec,
    NULL::INTEGER[]                               AS null_lst
"""


def test_connect_and_select_one(cursor):
    cursor.execute("SELECT 1 AS one")
    assert cursor.fetchall() == [(1,)]
    assert [d[0] for d in cursor.description] == ["one"]


# lakeflight has no transactions, so DB-API's autocommit-off default only warns.
@pytest.mark.filterwarnings("ignore:Cannot disable autocommit")
def test_plain_connect_without_options(server):
    """What a user types first: connect(uri), DB-API defaults (autocommit off)."""
    with flight_sql.connect(server.uri) as c, c.cursor() as cur:
        cur.execute("SELECT 40 + 2 AS answer")
        assert cur.fetch_arrow_table().to_pylist() == [{"answer": 42}]


def test_typed_values(cursor):
    cursor.execute(TYPED_SQL)
    table = cursor.fetch_arrow_table()
    assert table.num_rows == 1
    schema = table.schema
    row = table.to_pylist()[0]

    def typ(name: str) -> pa.DataType:
        return schema.field(name).type

    assert typ("i32") == pa.int32() and row["i32"] == 42
    assert typ("i64") == pa.int64() and row["i64"] == 9007199254740993
    assert typ("i16") == pa.int16() and row["i16"] == -7
    assert typ("i8") == pa.int8() and row["i8"] == 3

    assert pa.types.is_decimal(typ("dec")) and (typ("dec").precision, typ("dec").scale) == (10, 2)
    assert row["dec"] == Decimal("123.45")
    assert pa.types.is_decimal(typ("dec38")) and typ("dec38").scale == 9
    assert row["dec38"] == Decimal("12345678901234567890.123456789")
    # HUGEINT travels as decimal128(38, 0) (the JDBC driver reads only decimals).
    assert typ("huge") == pa.decimal128(38, 0), typ("huge")
    assert row["huge"] == Decimal("170141183460469231731687303715884105727")

    assert typ("dbl") == pa.float64() and row["dbl"] == 1.5
    assert typ("flt") == pa.float32() and row["flt"] == 0.25

    assert pa.types.is_string(typ("s")) or pa.types.is_large_string(typ("s")) or pa.types.is_string_view(typ("s"))
    assert row["s"] == "héllo, wörld"
    assert row["empty"] == ""

    assert typ("d") == pa.date32() and row["d"] == dt.date(2024, 2, 29)
    assert pa.types.is_time(typ("t")) and row["t"] == dt.time(13, 14, 15, 500000)

    assert pa.types.is_timestamp(typ("ts")) and typ("ts").tz is None, typ("ts")
    assert row["ts"] == dt.datetime(2024, 2, 29, 13, 14, 15, 123456)
    assert pa.types.is_timestamp(typ("tstz")) and typ("tstz").tz is not None, typ("tstz")
    assert row["tstz"] == dt.datetime(2024, 2, 29, 13, 14, 15, 123456, tzinfo=UTC)

    assert typ("b") == pa.bool_() and row["b"] is True and row["b2"] is False

    assert pa.types.is_list(typ("lst")) or pa.types.is_large_list(typ("lst"))
    assert row["lst"] == [1, 2, None]
    assert pa.types.is_struct(typ("st"))
    assert row["st"] == {"x": 1, "y": "two", "z": [1.5]}
    assert pa.types.is_map(typ("m"))
    assert row["m"] == [("k1", 10), ("k2", 20)]
    assert pa.types.is_binary(typ("blb")) or pa.types.is_large_binary(typ("blb")) or pa.types.is_binary_view(typ("blb"))
    assert row["blb"] == b"\xaa\xbb"

    for name in ("null_int", "null_str", "null_ts", "null_dec", "null_lst"):
        assert row[name] is None, name
    assert typ("null_int") == pa.int32()
    assert pa.types.is_timestamp(typ("null_ts"))
    assert pa.types.is_decimal(typ("null_dec"))


def test_nulls_mixed_with_values(cursor):
    cursor.execute(
        "SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE i * 1.5 END AS x, "
        "CASE WHEN i % 2 = 0 THEN NULL ELSE 's' || i END AS s "
        "FROM range(10) t(i) ORDER BY i"
    )
    rows = cursor.fetch_arrow_table().to_pylist()
    assert len(rows) == 10
    for r in rows:
        i = r["i"]
        assert r["x"] == (None if i % 3 == 0 else Decimal(i) * Decimal("1.5"))
        assert r["s"] == (None if i % 2 == 0 else f"s{i}")


def test_ten_million_rows(cursor):
    n = 10_000_000
    started = time.monotonic()
    cursor.execute(f"SELECT i, i * 2 AS j, i % 7 AS k, (i % 1000)::DOUBLE / 4 AS f FROM range({n}) t(i)")
    table = cursor.fetch_arrow_table()
    elapsed = time.monotonic() - started
    assert table.num_rows == n
    assert pc.sum(table["i"]).as_py() == n * (n - 1) // 2
    assert pc.sum(table["j"]).as_py() == n * (n - 1)
    assert pc.sum(table["k"]).as_py() == 21 * (n // 7) + sum(range(n % 7))
    assert pc.count_distinct(table["i"]).as_py() == n
    print(f"10M rows x 4 columns in {elapsed:.2f}s ({table.nbytes / elapsed / 1e6:.0f} MB/s)")


def test_large_result_arrives_in_coalesced_batches(cursor):
    """DuckDB yields 2048-row chunks; the server should send much larger batches."""
    n = 1_000_000
    cursor.execute(f"SELECT i, i + 1 AS j FROM range({n}) t(i)")
    reader = cursor.fetch_record_batch()
    sizes = [batch.num_rows for batch in reader]
    assert sum(sizes) == n
    assert max(sizes) > 2048, f"batches are not coalesced: {len(sizes)} batches, largest {max(sizes)} rows"


def test_prepared_statement_with_parameter(cursor):
    cursor.execute("SELECT ? + 1 AS answer", (41,))
    assert cursor.fetchall() == [(42,)]
    # Same text again: the driver keeps the prepared statement and rebinds.
    cursor.execute("SELECT ? + 1 AS answer", (1,))
    assert cursor.fetchall() == [(2,)]


def test_prepared_statement_typed_parameters(cursor):
    cursor.execute(
        "SELECT ?::VARCHAR || '!' AS s, ?::DOUBLE * 2 AS d, ?::DATE + 1 AS day, ?::INTEGER IS NULL AS n",
        ("hi", 2.5, dt.date(2024, 2, 28), None),
    )
    assert cursor.fetch_arrow_table().to_pylist() == [{"s": "hi!", "d": 5.0, "day": dt.date(2024, 2, 29), "n": True}]


def test_executemany_into_temp_table(cursor):
    cursor.execute("CREATE TEMP TABLE e2e_many (a INTEGER, b VARCHAR)")
    rows = [(1, "one"), (2, None), (3, "three"), (4, "four, with comma")]
    cursor.executemany("INSERT INTO e2e_many VALUES (?, ?)", rows)
    cursor.execute("SELECT a, b FROM e2e_many ORDER BY a")
    assert cursor.fetchall() == rows
    cursor.execute("SELECT count(*) FROM e2e_many")
    assert cursor.fetchone() == (4,)


def test_delete_from_temp_table(cursor):
    cursor.execute("CREATE TEMP TABLE e2e_upd AS SELECT i FROM range(10) t(i)")
    cursor.execute("DELETE FROM e2e_upd WHERE i < 3")
    cursor.execute("SELECT count(*) FROM e2e_upd")
    assert cursor.fetchone() == (7,)


def test_temp_tables_are_per_session(server, cursor):
    cursor.execute("CREATE TEMP TABLE e2e_private AS SELECT 1 AS x")
    cursor.execute("SELECT x FROM e2e_private")
    assert cursor.fetchall() == [(1,)]
    with connect(server) as other, other.cursor() as cur:
        with pytest.raises(dbapi.Error) as err:
            cur.execute("SELECT x FROM e2e_private")
            cur.fetchall()
        assert "e2e_private" in str(err.value)


def test_syntax_error(cursor):
    with pytest.raises(dbapi.ProgrammingError) as err:
        cursor.execute("SELCT 1")
        cursor.fetchall()
    assert "syntax error" in str(err.value), str(err.value)
    # The connection is still usable.
    cursor.execute("SELECT 2")
    assert cursor.fetchall() == [(2,)]


def test_unknown_table_error(cursor):
    with pytest.raises(dbapi.ProgrammingError) as err:
        cursor.execute("SELECT * FROM bronze.no_such_table_e2e")
        cursor.fetchall()
    assert "no_such_table_e2e" in str(err.value), str(err.value)


def test_runtime_error_is_not_internal(cursor):
    """An error DuckDB raises while executing (not at prepare) still reaches the client."""
    with pytest.raises(dbapi.Error) as err:
        cursor.execute("SELECT CAST('not a number' AS INTEGER) AS x")
        cursor.fetchall()
    assert "not a number" in str(err.value), str(err.value)
