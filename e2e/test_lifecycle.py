"""Server lifecycle with clients attached: concurrent sessions and a bounded stop."""

from __future__ import annotations

import gc
import signal
import subprocess
import threading
import time

import pytest

from conftest import STOP_TIMEOUT_S, connect, start_server

SLOW_SQL = "SELECT count(*) FROM range(1000000) a(x), range(1000000) b(y) WHERE (a.x * 31 + b.y) % 1000003 = 7"


def test_concurrent_sessions(server):
    """Several clients at once each get their own, correct, result."""
    n = 500_000
    results: dict[int, object] = {}

    def worker(k: int) -> None:
        try:
            with connect(server) as c, c.cursor() as cur:
                cur.execute(f"CREATE TEMP TABLE mine AS SELECT {k} AS k")
                cur.execute(f"SELECT sum(i + k) AS s FROM range({n}) t(i), mine")
                results[k] = cur.fetchone()[0]
        except BaseException as e:  # noqa: BLE001 - reported below
            results[k] = e

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for k in range(4):
        assert results.get(k) == n * (n - 1) // 2 + k * n, f"session {k}: {results.get(k)!r}"


# The interrupted cursor cannot close cleanly against a stopped server, and the
# DB-API layer then retries from __del__; collect it here, not in a later test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_sigterm_with_query_in_flight(tmp_path):
    """A running query must not hold up shutdown past its bound: SIGTERM ends the server
    with exit 0 once --shutdown-timeout has passed, cancelling what still runs."""
    srv = start_server(tmp_path / "data", "--shutdown-timeout", "3s")
    outcome: dict[str, object] = {}

    def run() -> None:
        conn = connect(srv)
        cur = conn.cursor()
        try:
            cur.execute(SLOW_SQL)
            outcome["rows"] = cur.fetchall()
        except BaseException as e:  # noqa: BLE001 - the client is expected to fail
            outcome["error"] = repr(e)
        finally:
            for close in (cur.close, conn.close):
                try:
                    close()
                except Exception:  # noqa: BLE001 - the server is gone
                    pass

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    time.sleep(1.5)
    assert worker.is_alive(), f"slow query ended early: {outcome}"
    started = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    try:
        code = srv.proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        srv.proc.wait()
        pytest.fail(f"lakeflight still up {STOP_TIMEOUT_S}s after SIGTERM with a query running:\n{srv.log_tail()}")
    took = time.monotonic() - started
    assert code == 0, f"exit code {code} after SIGTERM; log:\n{srv.log_tail()}"
    worker.join(timeout=10)
    assert not worker.is_alive(), "client still blocked 10s after the server exited"
    assert "error" in outcome, f"the interrupted query returned {outcome.get('rows')}"
    print(f"stopped {took:.2f}s after SIGTERM")
    gc.collect()
