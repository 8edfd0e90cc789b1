"""Session state through the Python ADBC driver: SET, temp tables and time travel
(lakeflight_as_of) persist across cursor.execute calls of one connection and never reach
another connection, whether the driver keeps the session cookie or not (its default)."""

from __future__ import annotations

import adbc_driver_manager.dbapi as dbapi
import pytest

from conftest import connect


def scalar(cur, sql: str):
    cur.execute(sql)
    return cur.fetchone()[0]


@pytest.mark.parametrize("cookies", [False, True], ids=["default-options", "cookie-middleware"])
def test_session_state_persists_and_stays_private(server, cookies):
    table = f"silver.sess_tt_{'cookies' if cookies else 'plain'}"
    with connect(server, cookies=cookies) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} AS SELECT 1 AS id")
        first = scalar(cur, f"SELECT max(snapshot_id) FROM iceberg_snapshots('{table}')")
        cur.execute(f"INSERT INTO {table} VALUES (2)")

        cur.execute("SET TimeZone = 'America/Lima'")
        cur.execute("CREATE TEMP TABLE sess_scratch AS SELECT 42 AS x")
        cur.execute(f"SET lakeflight_as_of = '{first}'")

        # Each piece of state asked for in its own call, on a new cursor too.
        assert scalar(cur, "SELECT current_setting('TimeZone')") == "America/Lima"
        assert scalar(cur, "SELECT x FROM sess_scratch") == 42
        with conn.cursor() as again:
            assert scalar(again, f"SELECT count(*) FROM {table}") == 1  # as of the first snapshot

        with connect(server, cookies=cookies) as other, other.cursor() as ocur:
            assert scalar(ocur, "SELECT current_setting('TimeZone')") != "America/Lima"
            assert scalar(ocur, f"SELECT count(*) FROM {table}") == 2  # current data
            with pytest.raises(dbapi.Error, match="sess_scratch"):
                ocur.execute("SELECT x FROM sess_scratch")
                ocur.fetchall()

        # The other connection changed nothing here.
        assert scalar(cur, f"SELECT count(*) FROM {table}") == 1
        cur.execute("RESET lakeflight_as_of")
        assert scalar(cur, f"SELECT count(*) FROM {table}") == 2
