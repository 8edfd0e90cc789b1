"""lakeflight_quality, after each transform (on the gold Asset): the quality gate.

dbt_test runs the project's dbt tests and source_freshness dbt's source freshness, both through
POST /transform; gold_checks counts rows and null rates of the gold tables over Flight SQL. Any
failure fails the run loudly, naming what failed. The Variable lakeflight_quality_checks (JSON, the
shape of GOLD_CHECKS) replaces the SQL checks below.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag

from lakeflight_provider import GOLD, START_DATE, QualityChecksOperator, TransformOperator, default_args

# The demo shop's gold marts: each has rows, and its keys and measures are never null.
GOLD_CHECKS = [
    {
        "table": "gold.fct_orders",
        "min_rows": 1,
        "max_null_rate": {"order_id": 0, "customer_id": 0, "order_date": 0, "status": 0, "net_amount": 0},
    },
    {"table": "gold.daily_revenue", "min_rows": 1, "max_null_rate": {"order_date": 0, "revenue": 0}},
    {"table": "gold.dim_customers", "min_rows": 1, "max_null_rate": {"customer_id": 0, "lifetime_value": 0}},
    {"table": "gold.order_status_events", "min_rows": 1, "max_null_rate": {"order_id": 0, "status": 0}},
]


@dag(
    dag_id="lakeflight_quality",
    schedule=[GOLD],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["lakeflight"],
    doc_md=__doc__,
)
def lakeflight_quality():
    TransformOperator(task_id="dbt_test", command="test", execution_timeout=timedelta(hours=1))
    TransformOperator(task_id="source_freshness", command="source freshness", execution_timeout=timedelta(minutes=30))
    QualityChecksOperator(task_id="gold_checks", checks=GOLD_CHECKS)


lakeflight_quality()
