"""lakeflight_ingest, hourly: the landing folder into bronze.

wait_for_files waits (deferred, no worker slot) for files in the landing folder (Variable
lakeflight_landing_dir); ingest_files sends each through POST /ingest with the idempotency key
sha256:<content digest> and moves it to the archive, or to the quarantine with the server's reason
beside it when the server refuses it. publish_bronze then emits the bronze Asset (which the
transform DAG runs on) if anything new was committed, and check_quarantine fails the run, with the
failure notification, when a file was quarantined. An hour without files skips the run.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from lakeflight_provider import BRONZE, START_DATE, IngestFilesOperator, LandingFilesSensor, default_args


@dag(
    dag_id="lakeflight_ingest",
    schedule="@hourly",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # two runs would race for the same files
    default_args=default_args(),
    tags=["lakeflight"],
    doc_md=__doc__,
)
def lakeflight_ingest():
    files = LandingFilesSensor(
        task_id="wait_for_files",
        poke_interval=60,
        timeout=timedelta(minutes=50),
        soft_fail=True,
        execution_timeout=timedelta(minutes=55),
    )
    ingest = IngestFilesOperator(task_id="ingest_files", files=files.output, execution_timeout=timedelta(hours=1))

    @task(outlets=[BRONZE])
    def publish_bronze(summary: dict):
        new = summary["ingested"]
        if not new:
            raise AirflowSkipException("nothing new was committed: no bronze event")
        tables: dict[str, int] = {}
        for f in new:
            tables[f["table"]] = tables.get(f["table"], 0) + f["rows"]
        get_current_context()["outlet_events"][BRONZE].extra = {"rows": tables, "files": [f["file"] for f in new]}
        return tables

    @task
    def check_quarantine(summary: dict):
        bad = summary["quarantined"]
        if bad:
            raise AirflowFailException(
                f"{len(bad)} files quarantined: "
                + "; ".join(f"{q['file']} → {q['to']}: {q['detail']}" for q in bad)
            )

    publish_bronze(ingest.output)
    check_quarantine(ingest.output)


lakeflight_ingest()
