"""dbt with the lakeflight adapter (dbt/adapter) against a real server.

The project is e2e/dbt_smoke: a seed loaded into bronze by bulk ingest, a table model,
three incremental models (append, merge, delete+insert) and a view in silver, and schema
tests. dbt
runs as a user runs it (the venv's `dbt`, a profiles.yml naming the server's port); every
result is then read back over ADBC and compared with rows computed here from the seed
CSV, and the table model's previous build is read with AT (VERSION => …).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import connect, start_server, stop

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "dbt_smoke"
DBT = Path(sys.executable).parent / "dbt"
DBT_TIMEOUT_S = 300

# Rows appended to bronze.orders between the two runs: one on the last day the first run
# saw (delete+insert must recompute that day), a new customer (merge inserts), an existing
# one (merge updates) and a cancelled order (the staging model drops it).
NEW_ORDERS = [
    (7, "erin", "placed", Decimal("4.00"), dt.date(2026, 11, 3)),
    (8, "alice", "shipped", Decimal("1.25"), dt.date(2026, 11, 4)),
    (9, "bob", "cancelled", Decimal("2.00"), dt.date(2026, 11, 4)),
]


def seed_orders() -> list[tuple]:
    with open(PROJECT / "seeds" / "orders.csv", newline="") as f:
        return [
            (int(r["id"]), r["customer"], r["status"], Decimal(r["amount"]), dt.date.fromisoformat(r["ordered_at"]))
            for r in csv.DictReader(f)
        ]


def expected_models(orders: list[tuple]) -> dict[str, list[tuple]]:
    """Each model's rows, sorted, computed from the orders the way its SQL says."""
    stg = [(i, c.upper(), s, a, d) for i, c, s, a, d in orders if s != "cancelled"]
    per_customer: dict[str, list] = defaultdict(lambda: [0, Decimal("0")])
    for _, c, _, a, _ in stg:
        per_customer[c][0] += 1
        per_customer[c][1] += a
    per_day: dict[dt.date, list] = defaultdict(lambda: [0, Decimal("0")])
    for _, _, _, a, d in orders:
        per_day[d][0] += 1
        per_day[d][1] += a
    per_status: dict[str, list] = defaultdict(lambda: [0, Decimal("0")])
    for _, _, s, a, _ in stg:
        per_status[s][0] += 1
        per_status[s][1] += a
    return {
        "stg_orders": sorted(stg),
        "status_summary": sorted((s, n, t) for s, (n, t) in per_status.items()),
        "orders_log": sorted((i, c, a) for i, c, _, a, _ in orders),
        "customer_totals": sorted((c, n, t) for c, (n, t) in per_customer.items()),
        "orders_by_day": sorted((d, n, t) for d, (n, t) in per_day.items()),
    }


def port(server) -> int:
    return int(server.flight_addr.rsplit(":", 1)[1])


def rows(cur, sql: str) -> list[tuple]:
    cur.execute(sql)
    return sorted(cur.fetchall())


def relation_types(conn, schema: str) -> dict[str, str]:
    """name → table type of one namespace, as Flight SQL GetTables lists it."""
    objects = conn.adbc_get_objects(depth="tables", catalog_filter="lakehouse", db_schema_filter=schema)
    [catalog] = objects.read_all().to_pylist()
    return {t["table_name"]: t["table_type"] for s in catalog["catalog_db_schemas"] for t in s["db_schema_tables"]}


def snapshots(cur, table: str) -> list[tuple]:
    cur.execute(
        f"SELECT snapshot_id, parent_id, operation, summary['added-records'] FROM iceberg_snapshots('{table}') "
        "ORDER BY sequence_number"
    )
    return cur.fetchall()


class Dbt:
    def __init__(self, tmp: Path, port: int):
        self.profiles = tmp / "profiles"
        self.target = tmp / "target"
        self.logs = tmp / "logs"
        self.profiles.mkdir()
        self.write_profile(port)

    def write_profile(self, port: int, **extra: str) -> None:
        lines = [
            "lakeflight_smoke:",
            "  target: dev",
            "  outputs:",
            "    dev:",
            "      type: lakeflight",
            "      host: 127.0.0.1",
            f"      port: {port}",
            "      schema: silver",
            "      threads: 2",
            *(f"      {k}: {v}" for k, v in extra.items()),
        ]
        (self.profiles / "profiles.yml").write_text("\n".join(lines) + "\n")

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "LAKEFLIGHT_"))}
        env.update(
            DO_NOT_TRACK="1", DBT_USE_COLORS="false", DBT_TARGET_PATH=str(self.target), DBT_LOG_PATH=str(self.logs)
        )
        proc = subprocess.run(
            [str(DBT), *args, "--profiles-dir", str(self.profiles)],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=DBT_TIMEOUT_S,
        )
        if ok:
            assert proc.returncode == 0, f"dbt {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def results(self) -> dict[str, str]:
        """unique_id → status from the last invocation's run_results.json."""
        data = json.loads((self.target / "run_results.json").read_text())
        return {r["unique_id"]: r["status"] for r in data["results"]}


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    if not DBT.exists():
        pytest.fail(f"no dbt at {DBT}: run e2e/run.sh, which installs dbt and the adapter into the venv")
    srv = start_server(tmp_path_factory.mktemp("dbt-lakeflight-data"))
    try:
        yield srv, Dbt(tmp_path_factory.mktemp("dbt"), port(srv))
    finally:
        stop(srv)


def test_seed_run_test_rerun_and_failing_test(lake):
    server, dbt = lake
    debug = dbt("debug")
    assert "Connection test: [OK connection ok]" in debug.stdout, debug.stdout

    orders = seed_orders()
    dbt("seed")
    assert dbt.results() == {"seed.dbt_smoke.orders": "success"}
    dbt("run")
    models = ["stg_orders", "orders_log", "customer_totals", "orders_by_day", "status_summary"]
    assert dbt.results() == {f"model.dbt_smoke.{m}": "success" for m in models}

    first = expected_models(orders)
    with connect(server) as conn, conn.cursor() as cur:
        assert rows(cur, "SELECT * FROM bronze.orders") == sorted(orders)
        cur.execute("DESCRIBE bronze.orders")
        assert [(r[0], r[1]) for r in cur.fetchall()] == [
            ("id", "BIGINT"),
            ("customer", "VARCHAR"),
            ("status", "VARCHAR"),
            ("amount", "DECIMAL(10,2)"),  # the seed's column_types
            ("ordered_at", "DATE"),
        ]
        assert snapshots(cur, "bronze.orders")[-1][3] == str(len(orders)), "the seed is one ingest snapshot"
        for m in models:
            assert rows(cur, f"SELECT * FROM silver.{m}") == first[m], m
        assert relation_types(conn, "silver") == {
            "stg_orders": "TABLE",
            "orders_log": "TABLE",
            "customer_totals": "TABLE",
            "orders_by_day": "TABLE",
            "status_summary": "VIEW",
        }
        stg_first = snapshots(cur, "silver.stg_orders")
        log_first = snapshots(cur, "silver.orders_log")
        days_first = snapshots(cur, "silver.orders_by_day")
        assert len(stg_first) == 1 and len(log_first) == 1 and len(days_first) == 1

    tests = dbt("test", "--exclude", "tag:deliberately_failing")
    statuses = dbt.results()
    assert len(statuses) == 11 and set(statuses.values()) == {"pass"}, tests.stdout

    # More bronze data, then a second run: each incremental strategy takes exactly the change.
    with connect(server) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO bronze.orders VALUES (?, ?, ?, ?, ?)", NEW_ORDERS)
    dbt("run")  # the view too: replaced by the same definition
    assert dbt.results() == {f"model.dbt_smoke.{m}": "success" for m in models}

    second = expected_models(orders + NEW_ORDERS)
    assert first["stg_orders"] != second["stg_orders"] and first["customer_totals"] != second["customer_totals"]
    with connect(server) as conn, conn.cursor() as cur:
        for m in models:
            assert rows(cur, f"SELECT * FROM silver.{m}") == second[m], m

        # append: one new snapshot adding exactly the new orders (no duplicates of old ones).
        log_now = snapshots(cur, "silver.orders_log")
        assert len(log_now) == 2 and log_now[1][1] == log_first[0][0] and log_now[1][2] == "append"
        added = rows(
            cur,
            "SELECT * FROM silver.orders_log EXCEPT ALL "
            f"SELECT * FROM silver.orders_log AT (VERSION => {log_first[0][0]})",
        )
        assert added == sorted((i, c, a) for i, c, _, a, _ in NEW_ORDERS)

        # delete+insert: one snapshot that removes the recomputed days and adds them again
        # (never a delete committed without its insert), based on the first build.
        days_now = snapshots(cur, "silver.orders_by_day")
        assert len(days_now) == 2 and days_now[1][1] == days_first[0][0] and days_now[1][2] == "overwrite"
        last_seen = max(d for *_, d in orders)
        recomputed = {d for *_, d in orders + NEW_ORDERS if d >= last_seen}
        assert days_now[1][3] == str(len(recomputed)), days_now

        # table: the rebuild is an overwrite snapshot of the same table, and the first build
        # is still there to read.
        stg_now = snapshots(cur, "silver.stg_orders")
        assert len(stg_now) == 2
        assert stg_now[1][1] == stg_first[0][0] and stg_now[1][2] == "overwrite"
        before = rows(cur, f"SELECT * FROM silver.stg_orders AT (VERSION => {stg_first[0][0]})")
        assert before == first["stg_orders"]

    # A data test that the data violates (its accepted values leave out 'shipped') fails
    # `dbt test`, which names it.
    proc = dbt("test", "--select", "tag:deliberately_failing", ok=False)
    assert proc.returncode != 0, proc.stdout
    assert "deliberately_failing_status_values" in proc.stdout, proc.stdout
    [(test_id, status)] = dbt.results().items()
    assert test_id.startswith("test.dbt_smoke.deliberately_failing_status_values") and status == "fail"


def test_profile_with_unknown_key_is_refused(lake, tmp_path):
    server, _ = lake
    bad = Dbt(tmp_path, port(server))
    bad.write_profile(port(server), passwrd="secret")  # misspelt: it would be silently ignored
    proc = bad("debug", ok=False)
    assert proc.returncode != 0
    assert "unknown key(s) for a lakeflight target: passwrd" in proc.stdout, proc.stdout
    bad.write_profile(port(server), token="t", user="u", password="p")
    proc = bad("debug", ok=False)
    assert proc.returncode != 0
    assert "a `token` or a `user` and `password`, not both" in proc.stdout, proc.stdout


def test_model_over_freshly_ingested_table(lake):
    """What a model over a source another client just ingested does first: list it, read it in a write.
    (Both failed until c3d24eb: the engine learnt of an ingested table only when a query read it.)"""
    server, _ = lake
    with connect(server) as conn, conn.cursor() as cur:
        cur.adbc_ingest("fresh_events", pa.table({"x": [1, 2, 3]}), mode="create", db_schema_name="bronze")
    with connect(server) as conn, conn.cursor() as cur:
        assert relation_types(conn, "bronze").get("fresh_events") == "TABLE"
        cur.execute("CREATE OR REPLACE TABLE silver.fresh_copy AS SELECT * FROM bronze.fresh_events")
        assert rows(cur, "SELECT * FROM silver.fresh_copy") == [(1,), (2,), (3,)]
