"""SIGTERM always ends the process, even while DuckDB runs work it cannot interrupt.

A long UNION ALL chain is the known case: DuckDB 1.5 spends time growing with the
square of its length before execution starts, and ignores interrupts meanwhile.
The server normally refuses such chains (--max-sql-set-operations); this test lifts
that limit to get a statement that really cannot be stopped, then checks the
shutdown watchdog: after twice --shutdown-timeout plus 10 s the process logs why
and exits with status 3.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import adbc_driver_flightsql.dbapi as flight_sql

from conftest import start_server

SHUTDOWN_TIMEOUT_S = 1.0
WATCHDOG_S = 2 * SHUTDOWN_TIMEOUT_S + 10  # lakeflight's bound on a stuck stop
# 16,000 UNION ALLs: about 27 s of uninterruptible planning on this machine's
# cores, well past the watchdog.
STUCK_SQL = " UNION ALL ".join(f"SELECT {i} AS x" for i in range(16_000))


def test_sigterm_exits_while_duckdb_cannot_be_interrupted(tmp_path):
    srv = start_server(
        tmp_path / "data",
        "--shutdown-timeout",
        f"{SHUTDOWN_TIMEOUT_S:g}s",
        "--max-sql-set-operations",
        "100000",
    )
    try:
        conn = flight_sql.connect(srv.uri, autocommit=True)
        cur = conn.cursor()
        outcome: dict[str, object] = {}

        def run() -> None:
            try:
                cur.execute(STUCK_SQL)
                outcome["rows"] = len(cur.fetchall())
            except BaseException as e:  # noqa: BLE001 - report whatever ends the call
                outcome["error"] = e

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        time.sleep(3.0)  # well inside DuckDB's planning
        assert worker.is_alive(), f"the stuck statement ended early: {outcome}"

        sent = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        try:
            code = srv.proc.wait(timeout=WATCHDOG_S + 5)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(
                f"lakeflight still running {WATCHDOG_S + 5:.0f}s after SIGTERM; log:\n{srv.log_tail()}"
            ) from e
        took = time.monotonic() - sent
        assert code == 3, f"exit status {code}, want 3 (stopped by the watchdog); log:\n{srv.log_tail()}"
        assert WATCHDOG_S - 1 <= took <= WATCHDOG_S + 5, f"exited {took:.1f}s after SIGTERM, watchdog is {WATCHDOG_S}s"
        assert "stopping took longer than its bound" in srv.log_path.read_text(errors="replace"), srv.log_tail()
        worker.join(timeout=10)
        assert not worker.is_alive(), "the client call did not end when the server exited"
        assert "error" in outcome, f"the stuck statement returned {outcome.get('rows')} rows"
        for closable in (cur, conn):
            try:
                closable.close()
            except Exception:  # noqa: BLE001, S110 - the server is gone; closing may fail
                pass
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()
