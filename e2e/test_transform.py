"""The medallion pipeline end to end: `lakeflight demo` loads bronze, `POST /transform` runs the
repository's dbt project (dbt/) inside lakeflight through the lakeflight adapter, and the gold
marts over Flight SQL equal what this test computes itself from bronze, before and after a second
day of data (each incremental strategy updated without duplicates); a rebuilt table's previous
result stays readable with AT (VERSION => …); a failing dbt test fails the run, naming the test.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from conftest import REPO, connect, start_server, stop

DBT = Path(sys.executable).parent / "dbt"
PROJECT = REPO / "dbt"
RUN_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    srv = start_server(
        tmp_path_factory.mktemp("transform") / "data", "--dbt-project-dir", str(PROJECT), "--dbt-command", str(DBT)
    )
    try:
        yield srv
    finally:
        stop(srv)


def demo(server, *args: str) -> None:
    proc = subprocess.run(
        [str(server.bin), "demo", "--server", server.flight_addr, *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr


def http(server, method: str, path: str, body: dict | None = None) -> tuple[int, dict, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{server.http_addr}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), dict(e.headers)


def http_text(server, path: str) -> str:
    with urllib.request.urlopen(f"http://{server.http_addr}{path}", timeout=30) as resp:
        return resp.read().decode()


def transform(server, body: dict | None = None) -> dict:
    """POST /transform and wait for the run to end; returns the finished run."""
    status, run, headers = http(server, "POST", "/transform", body or {})
    assert status == 202, run
    assert headers.get("Location") == f"/transform/{run['id']}"
    assert run["status"] == "queued"
    seen = {run["status"]}
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while run["status"] not in ("success", "failed", "canceled"):
        assert time.monotonic() < deadline, f"run still {run['status']} after {RUN_TIMEOUT_S}s"
        time.sleep(0.5)
        status, run, _ = http(server, "GET", f"/transform/{run['id']}")
        assert status == 200, run
        seen.add(run["status"])
    assert "running" in seen or run["started_at"], run
    return run


def rows(server, sql: str) -> list[dict]:
    with connect(server) as c, c.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table().to_pylist()


def cents(x) -> Decimal:
    return Decimal(str(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected(server) -> dict:
    """Gold computed here, from bronze and the coupon seed, without the project's SQL."""
    coupons = {r["coupon"]: int(r["discount_pct"]) for r in csv.DictReader(open(PROJECT / "seeds" / "coupons.csv"))}
    latest: dict[int, dict] = {}
    events = set()
    orders = rows(
        server, "SELECT order_id, customer_id, ordered_at, updated_at, status, coupon, items FROM bronze.orders"
    )
    for o in orders:
        events.add((o["order_id"], o["status"], o["updated_at"]))
        if o["order_id"] not in latest or o["updated_at"] > latest[o["order_id"]]["updated_at"]:
            latest[o["order_id"]] = o
    net, day_revenue, day_orders, lifetime = {}, defaultdict(Decimal), defaultdict(int), defaultdict(Decimal)
    for oid, o in latest.items():
        gross = sum(Decimal(i["quantity"]) * Decimal(i["unit_price"]) for i in o["items"])
        pct = coupons.get((o["coupon"] or "").strip().upper(), 0)
        net[oid] = cents(gross * (100 - pct) / 100)
        if o["status"] not in ("cancelled", "returned"):
            day = o["ordered_at"].date()
            day_revenue[day] += net[oid]
            day_orders[day] += 1
            lifetime[o["customer_id"]] += net[oid]
    return {"latest": latest, "net": net, "events": events, "day_revenue": day_revenue, "day_orders": day_orders,
            "lifetime": lifetime}


def check_gold(server) -> dict:
    want = expected(server)
    fct = rows(server, "SELECT order_id, status, net_amount FROM gold.fct_orders")
    assert len(fct) == len({r["order_id"] for r in fct}) == len(want["latest"]), "fct_orders: one row per order"
    for r in fct:
        assert r["status"] == want["latest"][r["order_id"]]["status"], r
        assert r["net_amount"] == want["net"][r["order_id"]], r
    daily = rows(server, "SELECT order_date, orders, revenue FROM gold.daily_revenue")
    assert {r["order_date"]: r["revenue"] for r in daily if r["orders"]} == dict(want["day_revenue"])
    assert {r["order_date"]: r["orders"] for r in daily if r["orders"]} == dict(want["day_orders"])
    events = rows(server, "SELECT order_id, status, reported_at FROM gold.order_status_events")
    assert len(events) == len(want["events"]), "order_status_events: each reported status once"
    assert {(e["order_id"], e["status"], e["reported_at"]) for e in events} == want["events"]
    dim = rows(server, "SELECT customer_id, lifetime_value FROM gold.dim_customers WHERE orders > 0")
    assert {r["customer_id"]: r["lifetime_value"] for r in dim} == dict(want["lifetime"])
    return want


COUNTRIES = {"GERMANY": "DE", "FRANCE": "FR", "NETHERLANDS": "NL", "SPAIN": "ES", "ITALY": "IT", "POLAND": "PL",
             "SWEDEN": "SE"}


def customers_now(server) -> dict:
    """Each customer's cleaned e-mail and country as of its latest record in bronze."""
    latest: dict[int, dict] = {}
    for c in rows(server, "SELECT customer_id, email, country, updated_at FROM bronze.customers"):
        if c["customer_id"] not in latest or c["updated_at"] > latest[c["customer_id"]]["updated_at"]:
            latest[c["customer_id"]] = c
    out = {}
    for cid, c in latest.items():
        email = (c["email"] or "").strip().lower() or None
        country = (c["country"] or "").strip().upper()
        out[cid] = (email, COUNTRIES.get(country, country))
    return out


def snapshot_id(server, table: str) -> int:
    snaps = rows(server, f"SELECT snapshot_id FROM iceberg_snapshots('{table}') ORDER BY timestamp_ms")
    return snaps[-1]["snapshot_id"]


def test_demo_to_gold_and_a_second_day(shop):
    demo(shop)
    run = transform(shop)
    assert run["status"] == "success", (run["error"], run["log_tail"][-20:])
    built = {n["unique_id"]: n["status"] for n in run["nodes"]}
    models = ("stg_orders", "int_order_amounts", "fct_orders", "daily_revenue", "order_status_events", "dim_customers")
    for model in models:
        assert built.get(f"model.shop.{model}") == "success", built
    assert any(k.startswith("unit_test.shop.") and v == "pass" for k, v in built.items()), built
    first = check_gold(shop)
    # Each model's snapshot names the model (dbt's query comment, kept as the query tag).
    tags = rows(shop, "SELECT summary['lakeflight.query-tag'] AS tag FROM iceberg_snapshots('gold.fct_orders')")
    assert tags == [{"tag": "model.shop.fct_orders"}], tags
    assert rows(shop, "SELECT table_type FROM information_schema.tables WHERE table_name = 'int_order_amounts'")
    # The ephemeral model the view uses is inlined: no relation, no node that ran.
    ephemeral = rows(shop, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'int_order_lines'")
    assert ephemeral == [{"n": 0}]
    assert "model.shop.int_order_lines" not in built
    before = snapshot_id(shop, "gold.dim_customers")
    customers0 = customers_now(shop)
    history = rows(shop, "SELECT count(*) AS n, count(dbt_valid_to) AS closed FROM silver.customers_history")
    assert history == [{"n": len(customers0), "closed": 0}], history
    before_value = rows(shop, "SELECT sum(lifetime_value) AS v FROM gold.dim_customers")[0]["v"]

    # A second day: new orders, orders that moved on, changed customers.
    demo(shop, "--step", "1")
    run = transform(shop)
    assert run["status"] == "success", (run["error"], run["log_tail"][-20:])
    second = check_gold(shop)
    # The run names the snapshot each model committed: the table's current one, for tables and
    # incrementals (one statement, one snapshot); a view has none.
    nodes = {n["unique_id"]: n for n in run["nodes"]}
    for model, table in (("fct_orders", "gold.fct_orders"), ("daily_revenue", "gold.daily_revenue"),
                         ("dim_customers", "gold.dim_customers"), ("stg_orders", "silver.stg_orders")):
        node = nodes[f"model.shop.{model}"]
        assert node["relation"] == table and node["snapshots"] == [snapshot_id(shop, table)], node
    assert nodes["snapshot.shop.customers_history"]["snapshots"] == [snapshot_id(shop, "silver.customers_history")]
    assert "snapshots" not in nodes["model.shop.int_order_amounts"], nodes["model.shop.int_order_amounts"]
    metrics = http_text(shop, "/metrics")
    builds = 'lakeflight_transform_runs_total{command="build",status="success"} 2'
    assert builds in metrics.splitlines(), metrics[-2000:]
    assert 'lakeflight_transform_nodes_total{resource_type="model",status="success"}' in metrics
    [fct_seconds] = [float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                     if line.startswith('lakeflight_transform_node_duration_seconds{node="model.shop.fct_orders"}')]
    assert fct_seconds == nodes["model.shop.fct_orders"]["seconds"], metrics[-2000:]
    # The check-strategy snapshot closed each customer whose e-mail or country changed, and
    # opened their new version; new customers got their first.
    customers1 = customers_now(shop)
    changed = sum(1 for cid, v in customers0.items() if customers1[cid] != v)
    assert changed, "the second day changed no customer's e-mail or country"
    history = rows(shop, "SELECT count(*) AS n, count(dbt_valid_to) AS closed FROM silver.customers_history")
    assert history == [{"n": len(customers1) + changed, "closed": changed}], (history, changed)
    current = rows(
        shop, "SELECT customer_id, email, country_code FROM silver.customers_history WHERE dbt_valid_to IS NULL"
    )
    assert {r["customer_id"]: (r["email"], r["country_code"]) for r in current} == customers1
    assert len(second["latest"]) > len(first["latest"])
    moved = [oid for oid, o in first["latest"].items() if second["latest"][oid]["status"] != o["status"]]
    assert moved, "the second day moved no order on: the merge is not exercised"

    # The table model's previous build is still there, as it was.
    old = rows(shop, f"SELECT sum(lifetime_value) AS v FROM gold.dim_customers AT (VERSION => {before})")[0]["v"]
    assert old == before_value
    assert rows(shop, "SELECT sum(lifetime_value) AS v FROM gold.dim_customers")[0]["v"] != before_value


def test_cancel_a_running_build_then_build_again(shop):
    """DELETE /transform/{id} stops dbt (its whole process group) and the run ends canceled; the next
    build brings gold up to date with bronze as if nothing had happened."""
    demo(shop, "--steps", "3")  # days 0 to 2 (those loaded before are replayed, not added)
    status, run, _ = http(shop, "POST", "/transform", {})
    assert status == 202, run
    deadline = time.monotonic() + 60
    while run["status"] == "queued":
        assert time.monotonic() < deadline, run
        time.sleep(0.05)
        _, run, _ = http(shop, "GET", f"/transform/{run['id']}")
    assert run["status"] == "running", run
    status, canceled, _ = http(shop, "DELETE", f"/transform/{run['id']}")
    assert status == 202, canceled
    deadline = time.monotonic() + 30
    while run["status"] == "running":
        assert time.monotonic() < deadline, "dbt still running 30 s after the cancel"
        time.sleep(0.2)
        _, run, _ = http(shop, "GET", f"/transform/{run['id']}")
    assert run["status"] == "canceled", run
    left = subprocess.run(["pgrep", "-f", run["id"]], capture_output=True, text=True)
    assert left.stdout.strip() == "", f"dbt processes of the canceled run are still there: {left.stdout}"
    status, again, _ = http(shop, "DELETE", f"/transform/{run['id']}")
    assert status == 409, again

    run = transform(shop)
    assert run["status"] == "success", (run["error"], run["log_tail"][-20:])
    check_gold(shop)


def test_docs_generate_reads_the_catalog(shop, tmp_path):
    """`dbt docs generate` builds its catalog from lakeflight's metadata: every model and source
    with its columns (the profile is the one lakeflight wrote for its transforms)."""
    demo(shop)
    if not rows(shop, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'fct_orders'")[0]["n"]:
        assert transform(shop)["status"] == "success"
    proc = subprocess.run(
        [str(DBT), "docs", "generate", "--profiles-dir", str(shop.data_dir / "transform"),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=PROJECT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "DO_NOT_TRACK": "1", "DBT_USE_COLORS": "false"},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    fct = catalog["nodes"]["model.shop.fct_orders"]
    assert fct["metadata"]["schema"] == "gold"
    # Types from GetTables: an Iceberg table is a table, a persistent view a view (DuckDB's
    # own catalog functions call both views).
    assert fct["metadata"]["type"] == "BASE TABLE"
    assert catalog["nodes"]["model.shop.int_order_amounts"]["metadata"]["type"] == "VIEW"
    assert catalog["sources"]["source.shop.bronze.orders"]["metadata"]["type"] == "BASE TABLE"
    want = [r["column_name"] for r in rows(shop, "SELECT column_name FROM (DESCRIBE gold.fct_orders)")]
    assert list(fct["columns"]) == want
    assert set(catalog["sources"]) == {f"source.shop.bronze.{t}" for t in ("customers", "products", "orders")}


def dbt_cli(shop, tmp_path, *args: str) -> subprocess.CompletedProcess:
    """dbt run by hand against the server, with the profile lakeflight wrote for its transforms."""
    return subprocess.run(
        [str(DBT), *args, "--profiles-dir", str(shop.data_dir / "transform"),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=PROJECT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "DO_NOT_TRACK": "1", "DBT_USE_COLORS": "false"},
    )


def test_source_freshness_and_show(shop, tmp_path):
    """`dbt source freshness` reads each bronze source's newest loaded_at over Flight SQL, and
    `dbt show` previews a model's rows and inline SQL: both equal what ADBC reads."""
    demo(shop)
    if not rows(shop, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'fct_orders'")[0]["n"]:
        assert transform(shop)["status"] == "success"
    proc = dbt_cli(shop, tmp_path, "source", "freshness")
    assert proc.returncode == 0, proc.stdout[-3000:]
    results = json.loads((tmp_path / "target" / "sources.json").read_text())["results"]
    got = {r["unique_id"]: r for r in results}
    assert set(got) == {f"source.shop.bronze.{t}" for t in ("customers", "products", "orders")}
    for table in ("customers", "products", "orders"):
        r = got[f"source.shop.bronze.{table}"]
        assert r["status"] == "pass", r
        newest = rows(shop, f"SELECT max(updated_at) AS t FROM bronze.{table}")[0]["t"]
        assert r["max_loaded_at"].startswith(newest.strftime("%Y-%m-%dT%H:%M:%S")), (r["max_loaded_at"], newest)

    proc = dbt_cli(shop, tmp_path, "show", "--inline", "select count(*) as n from {{ ref('fct_orders') }}",
                   "--output", "json", "--log-format", "json")
    assert proc.returncode == 0, proc.stdout[-3000:]
    preview = [json.loads(line)["data"].get("preview") for line in proc.stdout.splitlines() if '"preview"' in line]
    [shown] = [json.loads(p) for p in preview if p]
    assert shown == [{"n": rows(shop, "SELECT count(*) AS n FROM gold.fct_orders")[0]["n"]}], shown


def test_test_and_freshness_runs_through_the_server(shop):
    """POST /transform with command test runs dbt's tests alone (no model is rebuilt), and with
    source freshness checks each bronze source; both report their nodes like a build."""
    demo(shop)
    if not rows(shop, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'fct_orders'")[0]["n"]:
        assert transform(shop)["status"] == "success"
    before = snapshot_id(shop, "gold.fct_orders")
    run = transform(shop, {"command": "test"})
    assert run["status"] == "success", run
    assert run["command"][1:3] == ["test", "--project-dir"], run["command"]
    kinds = {n["unique_id"].split(".")[0] for n in run["nodes"]}
    assert kinds == {"test", "unit_test"}, kinds  # data tests and the project's unit tests, no model
    assert snapshot_id(shop, "gold.fct_orders") == before, "a test run rebuilt a model"

    run = transform(shop, {"command": "source freshness"})
    assert run["status"] == "success", run
    assert run["request"]["command"] == "source freshness"
    got = {n["unique_id"]: n["status"] for n in run["nodes"]}
    assert got == {f"source.shop.bronze.{t}": "pass" for t in ("customers", "products", "orders")}, got

    status, problem, _ = http(shop, "POST", "/transform", {"command": "test", "full_refresh": True})
    assert status == 400 and "full_refresh applies to build only" in problem["detail"], problem


def test_a_failing_dbt_test_fails_the_run(shop):
    demo(shop)  # replayed when an earlier test loaded it
    # An order in a status the shop does not have: the accepted_values test on stg_orders fails.
    with connect(shop) as c, c.cursor() as cur:
        cur.execute(
            "INSERT INTO bronze.orders (order_id, customer_id, ordered_at, updated_at, status, channel, items) "
            "SELECT 999999999, 1, now(), now(), 'lost', 'web', [{'product_id': 1, 'quantity': 1, 'unit_price': '1.00'}]"
        )
    run = transform(shop, {"select": ["stg_orders+"]})
    assert run["status"] == "failed", run
    assert "accepted_values_stg_orders_status" in run["error"], run["error"]
    failed = [n for n in run["nodes"] if n["status"] == "fail"]
    assert failed and all("accepted_values_stg_orders_status" in n["unique_id"] for n in failed), failed
    assert any(n["status"] == "skipped" for n in run["nodes"]), "models after the failing test should be skipped"
    status, runs, _ = http(shop, "GET", "/transform")
    assert status == 200 and runs["runs"][0]["id"] == run["id"]
