"""The transform runner with the real dbt: one run at a time (a second request waits its turn),
the run history across a restart, and a crash in the middle of a run.

The server runs the repository's dbt project on the demo shop, as in test_transform.py, but on
its own data directory: this module kills it.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, start_server, stop

DBT = Path(sys.executable).parent / "dbt"
PROJECT = REPO / "dbt"
RUN_TIMEOUT_S = 600


def serve(data_dir: Path):
    return start_server(data_dir, "--dbt-project-dir", str(PROJECT), "--dbt-command", str(DBT))


def http(server, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{server.http_addr}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def submit(server, body: dict | None = None) -> dict:
    status, run = http(server, "POST", "/transform", body or {})
    assert status == 202, run
    return run


def get(server, run_id: str) -> dict:
    status, run = http(server, "GET", f"/transform/{run_id}")
    assert status == 200, run
    return run


def wait_for(server, run_id: str, *statuses: str, timeout: float = RUN_TIMEOUT_S) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = get(server, run_id)
        if run["status"] in statuses:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']}, want {statuses}"
        time.sleep(0.2)


def dbt_processes(run_id: str) -> str:
    """The processes whose command line names the run (dbt's target path holds its id)."""
    return subprocess.run(["pgrep", "-af", run_id], capture_output=True, text=True).stdout.strip()


def when(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@pytest.fixture
def data_dir(tmp_path):
    if not DBT.exists():
        pytest.fail(f"no dbt at {DBT}: run e2e/run.sh, which installs dbt and the adapter into the venv")
    return tmp_path / "data"


@pytest.fixture
def servers():
    """The servers a test starts, each killed at the end if it still runs (a failed assert skips the
    test's own stop)."""
    started: list = []
    yield started
    for srv in started:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()


def test_runs_queue_survive_a_restart_and_a_crash_fails_the_cut_run(data_dir, servers):
    def serve_tracked():
        srv = serve(data_dir)
        servers.append(srv)
        return srv

    srv = serve_tracked()
    proc = subprocess.run(
        [str(srv.bin), "demo", "--server", srv.flight_addr], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr

    # Two requests at once: the second waits, queued, while the first runs, then runs after it.
    first = submit(srv)
    second = submit(srv, {"select": ["stg_customers"]})
    assert second["status"] == "queued"
    wait_for(srv, first["id"], "running")
    assert get(srv, second["id"])["status"] == "queued"
    first = wait_for(srv, first["id"], "success", "failed", "canceled")
    second = wait_for(srv, second["id"], "success", "failed", "canceled")
    assert first["status"] == "success", (first["error"], first["log_tail"][-20:])
    assert second["status"] == "success", (second["error"], second["log_tail"][-20:])
    assert when(second["started_at"]) >= when(first["finished_at"])
    assert [n["unique_id"] for n in second["nodes"] if n["unique_id"].startswith("model.")] == [
        "model.shop.stg_customers"
    ]

    # A clean restart keeps the history.
    stop(srv)
    srv = serve_tracked()
    status, listed = http(srv, "GET", "/transform")
    assert status == 200
    assert [(r["id"], r["status"]) for r in listed["runs"]] == [(second["id"], "success"), (first["id"], "success")]

    # A crash while dbt runs: the kernel stops dbt with the server (nothing goes on building
    # after the restart), and the restarted server marks the run failed.
    cut = submit(srv)
    wait_for(srv, cut["id"], "running")
    deadline = time.monotonic() + 60
    while not dbt_processes(cut["id"]):
        assert time.monotonic() < deadline, "dbt never started"
        time.sleep(0.05)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(timeout=10)
    # The kernel's parent-death signal ends dbt within milliseconds; an orphaned dbt would run
    # on for seconds, failing model after model against the dead server (7 s measured).
    killed = time.monotonic()
    while left := dbt_processes(cut["id"]):
        assert time.monotonic() < killed + 2, f"dbt outlived the killed server:\n{left}"
        time.sleep(0.01)

    srv = serve_tracked()
    try:
        cut = get(srv, cut["id"])
        assert cut["status"] == "failed", cut
        assert "lakeflight stopped while the run was running" in cut["error"], cut
        # The restarted server builds again.
        again = wait_for(srv, submit(srv, {"select": ["stg_customers"]})["id"], "success", "failed")
        assert again["status"] == "success", (again["error"], again["log_tail"][-20:])
        _, listed = http(srv, "GET", "/transform")
        assert [r["status"] for r in listed["runs"]] == ["success", "failed", "success", "success"]
    finally:
        stop(srv)
