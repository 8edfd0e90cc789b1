"""The SQL front end through the Python ADBC driver with its default options, as a new user
meets it: time travel that fails closed, transactions that refuse Iceberg writes instead of
quietly keeping them, WITH-prefixed DML, trailing comments, schemas, and the SQL dbt sends."""

from __future__ import annotations

import adbc_driver_manager.dbapi as dbapi
import pytest

from conftest import connect


def scalar(cur, sql: str):
    cur.execute(sql)
    return cur.fetchone()[0]


@pytest.fixture
def plain(server):
    """A connection with the driver's default options (no cookies)."""
    with connect(server, cookies=False) as conn, conn.cursor() as cur:
        yield cur


def test_time_travel_shapes_read_the_snapshot(plain):
    cur = plain
    cur.execute("CREATE TABLE silver.front_tt AS SELECT * FROM (VALUES (1, 'a', 10), (2, 'b', 20)) v(id, k, v)")
    first = scalar(cur, "SELECT max(snapshot_id) FROM iceberg_snapshots('silver.front_tt')")
    cur.execute("INSERT INTO silver.front_tt VALUES (3, 'c', 30)")
    cur.execute(f"SET lakeflight_as_of = '{first}'")
    shapes = {
        "SELECT count(*) FROM silver.front_tt": 2,
        "FROM silver.front_tt SELECT count(*)": 2,
        "SELECT count(*) FROM (TABLE silver.front_tt)": 2,
        "SELECT count(*) FROM (PIVOT silver.front_tt ON k IN ('a', 'b', 'c') USING sum(v) GROUP BY id)": 2,
        "SELECT count(*) FROM (PIVOT silver.front_tt ON k USING sum(v) GROUP BY id)": 2,
        "SELECT count(*) FROM (UNPIVOT silver.front_tt ON v INTO NAME n VALUE x)": 2,
        "WITH x AS (SELECT * FROM silver.front_tt) SELECT count(*) FROM x": 2,
        "SELECT count(*) FROM (SELECT id FROM silver.front_tt UNION ALL SELECT id FROM silver.front_tt)": 4,
        "SELECT /* a /* nested */ comment */ count(*) FROM silver.front_tt -- trailing": 2,
    }
    for sql, want in shapes.items():
        assert scalar(cur, sql) == want, sql
    cur.execute("TABLE silver.front_tt")
    assert len(cur.fetchall()) == 2
    # A reference lakeflight cannot pin is refused, never read as current data.
    with pytest.raises(dbapi.ProgrammingError, match="could not pin this reference"):
        cur.execute("SELECT count(*) FROM query_table('silver.front_tt')")
        cur.fetchall()
    cur.execute("RESET lakeflight_as_of")
    assert scalar(cur, "SELECT count(*) FROM query_table('silver.front_tt')") == 3


def test_transaction_refuses_iceberg_writes(plain):
    cur = plain
    cur.execute("CREATE TABLE silver.front_tx AS SELECT 1 AS id")
    cur.execute("BEGIN TRANSACTION")
    with pytest.raises(dbapi.NotSupportedError, match="inside a transaction is refused"):
        cur.execute("INSERT INTO silver.front_tx VALUES (2)")
    cur.execute("ROLLBACK")
    assert scalar(cur, "SELECT count(*) FROM silver.front_tx") == 1
    cur.execute("INSERT INTO silver.front_tx VALUES (2)")
    assert scalar(cur, "SELECT count(*) FROM silver.front_tx") == 2


def test_dml_and_ddl_that_dbt_and_users_send(plain):
    cur = plain
    cur.execute('create schema if not exists "lakehouse"."front_dbt"')
    cur.execute('create table "lakehouse"."front_dbt"."m__dbt_tmp" as (select * from (values (1), (2), (3)) v(id))')
    cur.execute('drop table if exists "lakehouse"."front_dbt"."m" cascade')
    cur.execute('alter table "lakehouse"."front_dbt"."m__dbt_tmp" rename to "m"')
    cur.execute("DELETE FROM front_dbt.m WHERE id = 1; -- note")
    cur.execute("WITH x AS (SELECT 2 AS id) DELETE FROM front_dbt.m WHERE id IN (SELECT id FROM x)")
    cur.execute("WITH x AS (SELECT 10 AS id) INSERT INTO front_dbt.m SELECT id FROM x")
    cur.execute("SELECT id FROM front_dbt.m ORDER BY id")
    assert cur.fetchall() == [(3,), (10,)]
    with pytest.raises(dbapi.Error, match="CASCADE drops them too"):
        cur.execute("DROP SCHEMA front_dbt")
    cur.execute('drop schema if exists "lakehouse"."front_dbt" cascade')
    with pytest.raises(dbapi.Error):
        cur.execute("SELECT * FROM front_dbt.m")
        cur.fetchall()
    with pytest.raises(dbapi.NotSupportedError, match="PRIMARY KEY cannot be kept"):
        cur.execute("CREATE TABLE silver.front_pk (id INTEGER PRIMARY KEY)")
