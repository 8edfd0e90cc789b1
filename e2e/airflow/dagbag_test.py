"""The DAGs as Airflow's DagBag loads them: no import errors, the four DAG ids, their schedules
(hourly; daily and on the bronze Asset; on the gold Asset; weekly), the Assets that chain them,
and on every task retries with exponential backoff, a time limit and the failure notification.
Also the pieces the DAG runs cannot show cheaply: triggers survive their serialization, and the
landing folder's rules (which files are ready, which table each goes to, what options may set)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import Asset
from airflow.sdk.module_loading import import_string
from croniter import croniter

from airflow_harness import DAGS
from lakeflight_provider import BRONZE, GOLD, landing, notify_failure
from lakeflight_provider.maintenance import action_body
from lakeflight_provider.triggers import LandingFilesTrigger, MaintenanceJobTrigger, TransformRunTrigger

DAG_IDS = {"lakeflight_ingest", "lakeflight_transform", "lakeflight_quality", "lakeflight_maintenance"}


@pytest.fixture(scope="module")
def bag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


def fires_every(expression: str) -> set[timedelta]:
    """The gaps between a cron expression's next ten firings."""
    it = croniter(expression, datetime(2026, 3, 1, tzinfo=UTC))
    times = [it.get_next(datetime) for _ in range(10)]
    return {b - a for a, b in zip(times, times[1:], strict=False)}


def test_the_four_dags_import_without_errors(bag):
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == DAG_IDS


def test_schedules_and_the_assets_that_chain_the_dags(bag):
    ingest = bag.dags["lakeflight_ingest"]
    assert fires_every(ingest.timetable.expression) == {timedelta(hours=1)}

    transform = bag.dags["lakeflight_transform"]
    assert type(transform.timetable).__name__ == "AssetOrTimeSchedule", transform.timetable
    assert fires_every(transform.timetable.timetable.expression) == {timedelta(days=1)}
    assert list(transform.timetable.asset_condition.objects) == [BRONZE]

    quality = bag.dags["lakeflight_quality"]
    assert type(quality.timetable).__name__ == "AssetTriggeredTimetable", quality.timetable
    assert list(quality.timetable.asset_condition.objects) == [GOLD]

    maintenance = bag.dags["lakeflight_maintenance"]
    assert fires_every(maintenance.timetable.expression) == {timedelta(days=7)}

    # ingest publishes bronze, which the transform consumes; the transform publishes gold.
    assert [t.task_id for t in ingest.tasks if BRONZE in t.outlets] == ["publish_bronze"]
    assert [t.task_id for t in transform.tasks if GOLD in t.outlets] == ["dbt_build"]
    assert all(isinstance(a, Asset) for d in bag.dags.values() for t in d.tasks for a in t.outlets)


def test_every_task_retries_with_backoff_has_a_time_limit_and_notifies(bag):
    tasks = [(d.dag_id, t) for d in bag.dags.values() for t in d.tasks]
    assert len(tasks) >= 12
    for dag_id, t in tasks:
        where = f"{dag_id}.{t.task_id}"
        assert t.retries > 0, where
        assert t.retry_delay > timedelta(0), where
        assert t.retry_exponential_backoff > 1, f"{where}: retries without exponential backoff"
        assert t.execution_timeout is not None and t.execution_timeout > timedelta(0), where
        callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
        assert notify_failure in callbacks, where
    # The dbt and maintenance waits happen in the triggerer, bounded by the task's time limit.
    for dag_id, task_id in (("lakeflight_transform", "dbt_build"), ("lakeflight_quality", "dbt_test")):
        assert bag.dags[dag_id].get_task(task_id).execution_timeout >= timedelta(hours=1)


@pytest.mark.parametrize(
    "trigger",
    [
        TransformRunTrigger("20261206T000000.000-abcd", "lakeflight_default", 2.5),
        MaintenanceJobTrigger("0123456789abcdef", "other_conn"),
        LandingFilesTrigger("/data/landing", 60.0, 15.0),
    ],
    ids=lambda t: type(t).__name__,
)
def test_triggers_rebuild_from_their_serialization(trigger):
    path, kwargs = trigger.serialize()
    again = import_string(path)(**kwargs)
    assert type(again) is type(trigger)
    assert again.serialize() == (path, kwargs)


@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("customers_step000.csv", "customers"),
        ("orders.ndjson", "orders"),
        ("products-2026-01.parquet", "products"),
        ("order_items/2026/01/export.csv", "order_items"),
    ],
)
def test_a_landing_file_names_its_table(path, table):
    assert landing.table_for(path) == table


def test_a_landing_file_that_names_no_table_is_refused():
    with pytest.raises(ValueError, match="cannot tell its table"):
        landing.table_for("2026-01-01_orders.csv")


def test_scan_takes_settled_files_only(tmp_path):
    (tmp_path / "orders").mkdir()
    for rel in ("customers_1.csv", "orders/a.ndjson", ".hidden.csv", "_tmp/x.csv", "big.csv.part", "fresh.csv"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n")
    old = time.time() - 120
    for rel in ("customers_1.csv", "orders/a.ndjson", ".hidden.csv", "_tmp/x.csv", "big.csv.part"):
        os.utime(tmp_path / rel, (old, old))
    assert landing.scan(tmp_path, settle_seconds=60) == ["customers_1.csv", "orders/a.ndjson"]
    assert "fresh.csv" in landing.scan(tmp_path, settle_seconds=0)


def test_archive_and_quarantine_must_be_outside_the_landing_folder(tmp_path):
    with pytest.raises(ValueError, match="inside the landing folder"):
        landing.Landing.of(tmp_path / "in", archive_dir=tmp_path / "in" / "archive")
    conf = landing.Landing.of(tmp_path / "in")
    assert conf.archive_dir == tmp_path / "archive" and conf.quarantine_dir == tmp_path / "quarantine"


def test_ingest_options_cannot_change_the_table_or_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"may not set \['key'\]"):
        landing.Landing.of(tmp_path / "in", ingest_options={"on_bad": "rejects", "key": "fixed"})
    assert landing.Landing.of(tmp_path / "in", ingest_options={"on_bad": "rejects"}).ingest_options == {
        "on_bad": "rejects"
    }


def test_maintenance_bodies_must_name_actions():
    raw = '{"expire-snapshots": {"older_than": "7d"}, "compact": {}}'
    assert action_body(raw, "expire-snapshots") == {"older_than": "7d"}
    assert action_body(raw, "remove-orphan-files") == {}
    assert action_body(None, "compact") == {}
    with pytest.raises(ValueError, match=r"\['expire_snapshots'\] name no maintenance action"):
        action_body('{"expire_snapshots": {"older_than": "1d"}}', "expire-snapshots")
    with pytest.raises(ValueError, match="want a JSON object"):
        action_body('[{"older_than": "1d"}]', "expire-snapshots")
