"""Cancelling a running query from another thread, and the server really stopping."""

from __future__ import annotations

import os
import threading
import time

import adbc_driver_manager.dbapi as dbapi

# A cross join of 10^12 rows: it cannot finish during the test.
SLOW_SQL = "SELECT count(*) FROM range(1000000) a(x), range(1000000) b(y) WHERE (a.x * 31 + b.y) % 1000003 = 7"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def test_cancel_long_query(server, conn):
    with conn.cursor() as cur:
        check_cancel(server, conn, cur)


def check_cancel(server, conn, cur) -> None:
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            cur.execute(SLOW_SQL)
            outcome["rows"] = cur.fetchall()
        except BaseException as e:  # noqa: BLE001 - report whatever ends the call
            outcome["error"] = e
        outcome["ended"] = time.monotonic()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    time.sleep(1.5)  # let the query start burning CPU on the server
    assert worker.is_alive(), f"slow query finished early: {outcome}"
    busy_before = cpu_seconds(server.proc.pid)
    time.sleep(0.5)
    busy = cpu_seconds(server.proc.pid) - busy_before

    cancelled_at = time.monotonic()
    cur.adbc_cancel()
    worker.join(timeout=10)
    assert not worker.is_alive(), "query still running 10s after adbc_cancel()"
    assert "error" in outcome, f"cancelled query returned {outcome.get('rows')}"
    assert isinstance(outcome["error"], dbapi.Error), repr(outcome["error"])
    assert outcome["ended"] - cancelled_at < 5, "cancel took more than 5s to reach the caller"

    # The server must stop the work too, not only the client: over two seconds
    # after the cancel it should be nearly idle.
    time.sleep(1.0)
    start = cpu_seconds(server.proc.pid)
    time.sleep(2.0)
    after = cpu_seconds(server.proc.pid) - start
    assert after < 0.5, (
        f"server still busy after cancel: {after:.2f} CPU-s in 2s "
        f"(it used {busy:.2f} CPU-s per 0.5s while the query ran)"
    )

    # And the connection stays usable.
    with conn.cursor() as again:
        again.execute("SELECT 1")
        assert again.fetchall() == [(1,)]
