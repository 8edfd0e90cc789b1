"""The DAGs run by Airflow (`airflow dags test`, SQLite metadata database) against a real lakeflight
server with transforms: files dropped in the landing folder become bronze rows, then silver and gold
by dbt, then pass the quality gate; gold holds what this test computes from the files themselves.

The tests share one server and one landing folder and run in order: the first loads the first 30
days, the ones after build on what it left (a re-drop, a second day with bad files, checks meant to
fail, maintenance, a dbt test meant to fail).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from airflow_harness import asset_events, e2e

BRONZE_URI, GOLD_URI = "lakeflight://bronze/", "lakeflight://gold/"
LOST = {"cancelled", "returned"}  # statuses that do not count as revenue (dbt/models/marts/fct_orders.sql)


def read_rows(path: Path) -> list[dict]:
    """A demo file's rows, parsed here (not by lakeflight)."""
    if path.suffix == ".csv":
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    if path.suffix == ".ndjson":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return pq.read_table(path).to_pylist()


def inputs(files: list[Path]) -> dict[str, list[dict]]:
    """Rows by table (the name's start: customers, orders, products)."""
    out: dict[str, list[dict]] = {}
    for f in files:
        out.setdefault(f.name.split("_")[0], []).extend(read_rows(f))
    return out


def ts(v) -> datetime:
    return v.astimezone(UTC) if isinstance(v, datetime) else datetime.fromisoformat(v).astimezone(UTC)


def expected_gold(rows: dict[str, list[dict]]) -> dict:
    """What gold should hold, from the files: each order in its latest status, each status an
    order was reported in once, the orders that count per day, one row per customer."""
    latest: dict[int, dict] = {}
    for o in rows["orders"]:
        if o["order_id"] not in latest or ts(o["updated_at"]) > ts(latest[o["order_id"]]["updated_at"]):
            latest[o["order_id"]] = o
    per_day: Counter = Counter()
    for o in latest.values():
        per_day[ts(o["ordered_at"]).date()] += o["status"] not in LOST
    return {
        "fct_orders": {oid: o["status"] for oid, o in latest.items()},
        "order_status_events": {(o["order_id"], o["status"], ts(o["updated_at"])) for o in rows["orders"]},
        "daily_revenue": dict(per_day),
        "dim_customers": {int(c["customer_id"]) for c in rows["customers"]},
    }


def query(srv, sql: str) -> list[dict]:
    with e2e.connect(srv) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table().to_pylist()


def gold_now(srv) -> dict:
    return {
        "fct_orders": {r["order_id"]: r["status"] for r in query(srv, "SELECT order_id, status FROM gold.fct_orders")},
        "order_status_events": {
            (r["order_id"], r["status"], ts(r["reported_at"]))
            for r in query(srv, "SELECT order_id, status, reported_at FROM gold.order_status_events")
        },
        "daily_revenue": {
            r["order_date"]: r["orders"] for r in query(srv, "SELECT order_date, orders FROM gold.daily_revenue")
        },
        "dim_customers": {r["customer_id"] for r in query(srv, "SELECT customer_id FROM gold.dim_customers")},
    }


def bronze_counts(srv) -> dict[str, int]:
    return {t: query(srv, f"SELECT count(*) AS n FROM bronze.{t}")[0]["n"] for t in ("customers", "orders", "products")}


def snapshot_counts(srv) -> dict[str, int]:
    return {
        t: query(srv, f"SELECT count(*) AS n FROM iceberg_snapshots('bronze.{t}')")[0]["n"]
        for t in ("customers", "orders", "products")
    }


def transform_runs(srv) -> list[dict]:
    return httpx.get(f"{srv.http_base}/transform", timeout=30).json()["runs"]


def same_bytes(a: Path, b: Path) -> bool:
    return a.read_bytes() == b.read_bytes()


def test_dropped_files_become_bronze_then_gold_through_the_three_dags(airflow, demo_files, shop):
    dropped = airflow.drop(*demo_files[0])
    run = airflow.run("lakeflight_ingest")
    assert run.returncode == 0 and run.state == "success", run.explain()
    assert run.tasks == {"wait_for_files": "success", "ingest_files": "success", "publish_bronze": "success",
                         "check_quarantine": "success"}, run.explain()

    # Every file left the landing folder for the archive, byte for byte.
    assert airflow.landed() == []
    for src in demo_files[0]:
        [archived] = (airflow.archive / src.name.split("_")[0]).rglob(src.name)
        assert same_bytes(archived, src)
    assert not any(p.exists() for p in dropped)
    rows = inputs(demo_files[0])
    assert bronze_counts(shop) == {t: len(r) for t, r in rows.items()}
    [event] = [e for e in asset_events(BRONZE_URI) if e["run_id"] == run.run_id]
    assert event["dag_id"] == "lakeflight_ingest" and event["task_id"] == "publish_bronze"
    assert event["extra"]["rows"] == {f"bronze.{t}": len(r) for t, r in rows.items()}

    run = airflow.run("lakeflight_transform")
    assert run.returncode == 0 and run.tasks == {"dbt_build": "success"}, run.explain()
    [gold_event] = [e for e in asset_events(GOLD_URI) if e["run_id"] == run.run_id]
    build = transform_runs(shop)[0]
    assert build["request"]["command"] == "build" and build["status"] == "success"
    assert gold_event["extra"]["transform_run"] == build["id"]

    run = airflow.run("lakeflight_quality")
    assert run.returncode == 0, run.explain()
    assert run.tasks == {"dbt_test": "success", "source_freshness": "success", "gold_checks": "success"}, run.explain()
    assert "PASS row_count(gold.fct_orders) >= 1" in run.output
    # The gate ran dbt's tests and source freshness in the server, after the build.
    later = [r for r in transform_runs(shop) if r["queued_at"] > build["queued_at"]]
    assert sorted(r["request"]["command"] for r in later) == ["source freshness", "test"], later
    assert all(r["status"] == "success" for r in later), later
    freshness = next(r for r in later if r["request"]["command"] == "source freshness")
    assert {n["unique_id"] for n in freshness["nodes"]} == {f"source.shop.bronze.{t}" for t in rows}

    want = expected_gold(rows)
    got = gold_now(shop)
    for table in want:
        assert got[table] == want[table], f"gold.{table} differs from what the files say"
    assert len(got["fct_orders"]) == len({o["order_id"] for o in rows["orders"]})


def test_the_same_files_dropped_again_ingest_nothing_twice(airflow, demo_files, shop):
    before, snaps, events = bronze_counts(shop), snapshot_counts(shop), asset_events(BRONZE_URI)
    airflow.drop(*demo_files[0])
    # The same bytes under another name are the same data: the key is the content's digest.
    orders = next(p for p in demo_files[0] if p.name.startswith("orders_"))
    airflow.drop(orders, name="orders_resent.ndjson")

    run = airflow.run("lakeflight_ingest")
    assert run.returncode == 0 and run.state == "success", run.explain()
    assert run.tasks["ingest_files"] == "success" and run.tasks["check_quarantine"] == "success", run.explain()
    assert run.tasks["publish_bronze"] == "skipped", "nothing new: no bronze event, no transform"
    assert "ingest: 0 files committed, 4 already there, 0 quarantined" in run.output
    assert bronze_counts(shop) == before
    assert snapshot_counts(shop) == snaps, "a replayed ingest committed a snapshot"
    assert asset_events(BRONZE_URI) == events
    assert airflow.landed() == []
    assert any(airflow.archive.rglob("orders_resent.ndjson"))


def test_bad_files_go_to_quarantine_the_rest_ingests_and_the_webhook_hears(airflow, demo_files, shop, webhook):
    before = bronze_counts(shop)
    airflow.drop(*demo_files[1])
    broken = airflow.landing / "orders_broken.ndjson"
    broken.write_text('{"order_id": 1, "customer_id": \n')
    (airflow.landing / "customers").mkdir()
    typed = airflow.landing / "customers" / "bad_ids.csv"
    typed.write_text("customer_id,email,full_name,country,signed_up_on,updated_at\n"
                     "not-a-number,x@example.net,X,DE,2026-01-01,2026-01-01 00:00:00\n")

    run = airflow.run("lakeflight_ingest")
    assert run.returncode != 0 and run.state == "failed", run.explain()
    assert run.tasks == {"wait_for_files": "success", "ingest_files": "success", "publish_bronze": "success",
                         "check_quarantine": "failed"}, run.explain()
    assert "2 files quarantined" in run.output and "orders_broken.ndjson" in run.output

    # The good files are in bronze; the bad ones in the quarantine, each with the server's reason.
    step1 = inputs(demo_files[1])
    assert bronze_counts(shop) == {t: before[t] + len(step1.get(t, [])) for t in before}
    assert airflow.landed() == []
    note = json.loads((airflow.quarantine / "orders" / "orders_broken.ndjson.error.json").read_text())
    assert note["status"] == 400 and "malformed input" in note["detail"], note
    assert (airflow.quarantine / "orders" / "orders_broken.ndjson").read_text() == '{"order_id": 1, "customer_id": \n'
    note = json.loads((airflow.quarantine / "customers" / "bad_ids.csv.error.json").read_text())
    assert note["table"] == "bronze.customers" and note["status"] == 400, note
    assert note["errors"][0]["line"] == 2 and note["errors"][0]["column"] == "customer_id", note

    [alert] = webhook.posts_for("lakeflight_ingest")
    assert alert["task_id"] == "check_quarantine" and alert["run_id"] == run.run_id, alert
    assert "orders_broken.ndjson" in alert["error"] and "bad_ids.csv" in alert["error"], alert

    # The second day reaches gold.
    run = airflow.run("lakeflight_transform")
    assert run.returncode == 0, run.explain()
    rows = inputs(demo_files[0] + demo_files[1])
    want, got = expected_gold(rows), gold_now(shop)
    for table in want:
        assert got[table] == want[table], f"gold.{table} differs from what the files say after the second day"


def test_a_failing_quality_check_fails_the_dag_naming_it(airflow, shop, webhook):
    n = len(gold_now(shop)["fct_orders"])
    checks = [
        {"table": "gold.fct_orders", "min_rows": n + 1},  # one more row than there is: must fail
        {"table": "gold.daily_revenue", "min_rows": 1, "max_null_rate": {"revenue": 0}},
    ]
    run = airflow.run("lakeflight_quality", lakeflight_quality_checks=json.dumps(checks))
    assert run.returncode != 0 and run.state == "failed", run.explain()
    assert run.tasks == {"dbt_test": "success", "source_freshness": "success", "gold_checks": "failed"}, run.explain()
    failure = f"1 of 3 quality checks failed: row_count(gold.fct_orders) >= {n + 1}: observed {n}"
    assert failure in run.output, run.explain()
    [alert] = webhook.posts_for("lakeflight_quality")
    assert alert["task_id"] == "gold_checks" and failure in alert["error"], alert


def test_maintenance_reports_on_every_table(airflow, shop):
    with e2e.connect(shop) as conn:
        objects = conn.adbc_get_objects(depth="tables", table_types_filter=["TABLE"]).read_all().to_pylist()
    tables = sorted(
        f"{s['db_schema_name']}.{t['table_name']}"
        for c in objects for s in c["catalog_db_schemas"] or [] for t in s["db_schema_tables"] or []
    )
    assert {"bronze.orders", "gold.fct_orders", "silver.stg_orders"} <= set(tables)

    run = airflow.run("lakeflight_maintenance")
    assert run.returncode == 0 and run.state == "success", run.explain()
    assert f"maintenance report: {len(tables)} tables" in run.output
    for t in tables:
        for action in ("compact", "expire-snapshots", "remove-orphan-files"):
            assert f"  {t} {action}: snapshots " in run.output, f"no report line for {t} {action}"
    # The server ran a job for each table and action.
    jobs = httpx.get(f"{shop.http_base}/v1/maintenance", timeout=30).json()["jobs"]
    done = {(j["table"], j["action"]) for j in jobs if j["status"] == "succeeded"}
    for t in tables:
        assert {(t, "compact"), (t, "expire_snapshots"), (t, "remove_orphan_files")} <= done, t


def test_a_failing_dbt_test_fails_the_transform_with_dbts_error(airflow, shop, webhook):
    # An order in a status the shop does not have: it ingests, and stg_orders' accepted_values test fails.
    lost = {"order_id": 999999999, "customer_id": 1, "ordered_at": "2026-02-01T10:00:00Z",
            "updated_at": "2026-02-01T10:00:00Z", "status": "lost", "channel": "web",
            "items": [{"product_id": 1, "quantity": 1, "unit_price": "1.00"}], "ship_to": None, "coupon": None}
    (airflow.landing / "orders_lost.ndjson").write_text(json.dumps(lost) + "\n")
    run = airflow.run("lakeflight_ingest")
    assert run.returncode == 0, run.explain()

    gold_events = asset_events(GOLD_URI)
    run = airflow.run("lakeflight_transform")
    assert run.returncode != 0 and run.tasks == {"dbt_build": "failed"}, run.explain()
    assert "AirflowFailException: dbt build run" in run.output
    failed = transform_runs(shop)[0]
    assert failed["status"] == "failed"
    assert f"dbt build run {failed['id']} failed: {failed['error']}" in run.output
    bad = [n["unique_id"] for n in failed["nodes"] if n["status"] == "fail"]
    assert bad and all("accepted_values_stg_orders_status" in b for b in bad), bad
    for b in bad:
        assert f"  {b}: fail" in run.output, f"the failure does not name {b}"
    [alert] = webhook.posts_for("lakeflight_transform")
    assert alert["task_id"] == "dbt_build" and "accepted_values_stg_orders_status" in alert["error"], alert
    assert asset_events(GOLD_URI) == gold_events, "a failed build published gold"


@pytest.fixture(autouse=True)
def _empty_landing(airflow):
    """Each test starts with an empty landing folder (a failed one may leave files)."""
    yield
    for p in airflow.landed():
        p.unlink()
