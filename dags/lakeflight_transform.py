"""lakeflight_transform, daily at 02:00 UTC and whenever the ingest DAG published new bronze rows.

dbt_build runs `dbt build` of the server's dbt project through POST /transform and waits for it in
the triggerer; a failed build fails the task with dbt's error and its failing models and tests. On
success it publishes the gold Asset, which the quality DAG runs on.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag

from lakeflight_provider import BRONZE, GOLD, START_DATE, TransformOperator, default_args


@dag(
    dag_id="lakeflight_transform",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 2 * * *", timezone="UTC"), assets=[BRONZE]),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["lakeflight"],
    doc_md=__doc__,
)
def lakeflight_transform():
    TransformOperator(task_id="dbt_build", command="build", outlets=[GOLD], execution_timeout=timedelta(hours=2))


lakeflight_transform()
