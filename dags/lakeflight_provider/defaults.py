"""What every lakeflight DAG shares: the task defaults (retries with exponential backoff, a time
limit, the failure notification) and the Assets that chain the DAGs: ingest publishes BRONZE, the
transform runs on it and publishes GOLD, the quality gate runs on GOLD."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset

from .notify import notify_failure

BRONZE = Asset(name="lakeflight_bronze", uri="lakeflight://bronze")
GOLD = Asset(name="lakeflight_gold", uri="lakeflight://gold")

# A fixed date in the past: with catchup off, only the latest interval runs.
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def default_args(**overrides) -> dict:
    """Task defaults: 3 retries 30 s, 60 s, 120 s apart (at most 10 minutes), 30 minutes per try,
    notify_failure once the last try has failed."""
    args = {
        "owner": "data-engineering",
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(minutes=30),
        "on_failure_callback": notify_failure,
    }
    args.update(overrides)
    return args
