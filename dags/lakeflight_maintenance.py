"""lakeflight_maintenance, weekly (Sunday 03:00 UTC): compaction, snapshot expiry and orphan-file
removal for every table.

list_tables asks the server over Flight SQL for its Iceberg tables (views have no files of their
own); compact, expire_snapshots and remove_orphan_files then run, in that order, on every table as
background jobs of the server, waited for in the triggerer (the Variable lakeflight_maintenance,
JSON keyed by action, gives their bodies, e.g. {"expire-snapshots": {"older_than": "7d",
"retain_last": 5}}; the server's defaults otherwise); report writes what each action changed to
the task log, and fails naming each table and action that did not succeed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import CronTriggerTimetable, dag, task
from airflow.sdk.exceptions import AirflowFailException

from lakeflight_provider import MAINTENANCE_ACTIONS, START_DATE, LakeflightHook, MaintenanceOperator, default_args
from lakeflight_provider.maintenance import format_report

log = logging.getLogger(__name__)


@dag(
    dag_id="lakeflight_maintenance",
    schedule=CronTriggerTimetable("0 3 * * 0", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["lakeflight"],
    doc_md=__doc__,
)
def lakeflight_maintenance():
    @task
    def list_tables() -> list[str]:
        tables = LakeflightHook().list_tables()
        log.info("%d tables: %s", len(tables), ", ".join(tables))
        return tables

    tables = list_tables()
    # One stage per action, each over every table: compaction, then expiry, then orphan removal.
    # A table whose action failed still gets the next ones (all_done); report names what failed.
    stages = []
    for action in MAINTENANCE_ACTIONS:
        stage = MaintenanceOperator.partial(
            task_id=action.replace("-", "_"),
            action=action,
            execution_timeout=timedelta(hours=1),
            trigger_rule="all_done" if stages else "all_success",
        ).expand(table=tables)
        if stages:
            stages[-1] >> stage
        stages.append(stage)

    @task(trigger_rule="all_done")
    def report(tables: list[str], *stage_reports):
        done: dict[tuple[str, str], dict] = {}
        for reports in stage_reports:
            # By index: iterating a mapped task's results asks for one past the end (an error in the log).
            for i in range(len(reports)):
                r = reports[i]
                done[(r["table"], r["action"])] = r
        lines = [f"maintenance report: {len(tables)} tables"]
        missing = []
        for t in tables:
            for action in MAINTENANCE_ACTIONS:
                r = done.get((t, action))
                if r is None:
                    missing.append(f"{t} {action}")
                    lines.append(f"  {t} {action}: FAILED (see the {action.replace('-', '_')} task's log)")
                else:
                    lines.append(f"  {t} {action}: {format_report(r)}")
        log.info("\n".join(lines))
        if missing:
            raise AirflowFailException(f"maintenance failed for: {', '.join(missing)}")
        return {"tables": len(tables), "actions": len(done)}

    report(tables, *[s.output for s in stages])


lakeflight_maintenance()
