"""The connection's password is a bearer token, and it opens both doors of a server with
authentication on: the HTTP sidecar (ingest, maintenance jobs) and Flight SQL (the table list).
Without it the ingest fails at once (401 is no reason to retry) and the file stays in the landing
folder, neither archived nor quarantined: the server refused the caller, not the file."""

from __future__ import annotations

import secrets
import subprocess

import pytest

from airflow_harness import e2e, metadata_db, new_airflow


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """A server that wants credentials, and an admin API token for Airflow."""
    work = tmp_path_factory.mktemp("secured")
    out = subprocess.run(
        [str(e2e.lakeflight_bin()), "token", "create", "airflow", "admin"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    token, _, entry = out.stdout.splitlines()
    config = work / "lakeflight.yaml"
    config.write_text(f"auth:\n  token_secret: '{secrets.token_hex(32)}'\n  api_tokens:\n    {entry}\n")
    srv = e2e.start_server(work / "data", "--config", str(config))
    try:
        yield srv, token
    finally:
        e2e.stop(srv)
    assert token not in srv.log_path.read_text(errors="replace"), "the token is in the server log"


def tries(dag_id: str, run_id: str, task_id: str) -> int:
    with metadata_db() as db:
        return db.execute(
            "SELECT try_number FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ?",
            (dag_id, run_id, task_id),
        ).fetchone()[0]


def test_the_connection_token_opens_http_and_flight_sql(secured, demo_files, tmp_path):
    srv, token = secured
    af = new_airflow(srv, tmp_path, lakeflight_alert_webhook=None)
    products = next(p for p in demo_files[0] if p.name.startswith("products_"))
    [dropped] = af.drop(products)

    run = af.run("lakeflight_ingest")
    assert run.state == "failed" and run.tasks["ingest_files"] == "failed", run.explain()
    assert "HTTP 401" in run.output, run.explain()
    assert tries("lakeflight_ingest", run.run_id, "ingest_files") == 1, "an authentication failure was retried"
    assert af.landed() == [dropped], "a refused caller moved the file"
    assert not af.quarantine.exists()
    # No webhook configured: the failure is in the task log, and nothing is posted.
    assert "lakeflight alert: lakeflight_ingest.ingest_files failed" in run.output
    assert "no webhook (Variable lakeflight_alert_webhook unset)" in run.output

    af.token = token
    run = af.run("lakeflight_ingest")
    assert run.returncode == 0 and run.state == "success", run.explain()
    assert af.landed() == []
    run = af.run("lakeflight_maintenance")
    assert run.returncode == 0, run.explain()
    assert "maintenance report: 1 tables" in run.output
    assert "  bronze.products remove-orphan-files: snapshots 1→1" in run.output, run.explain()
