"""MaintenanceOperator: one maintenance action (compaction, snapshot expiry, orphan-file removal)
on one table, run by the server as a background job and waited for in the triggerer."""

from __future__ import annotations

import json
from collections.abc import Sequence

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from .hook import LakeflightError, LakeflightHook, task_error
from .triggers import MaintenanceJobTrigger

# The maintenance actions, in the order a table gets them: compaction first (it leaves the old
# files to older snapshots), then snapshot expiry (which drops them), then orphan removal.
MAINTENANCE_ACTIONS = ("compact", "expire-snapshots", "remove-orphan-files")


class MaintenanceOperator(BaseOperator):
    """Runs one maintenance action on one table as a background job (?async=true) and waits for
    it in the triggerer. body is the action's JSON body (e.g. {"older_than": "7d", "retain_last": 5}
    for expire-snapshots); when None, the Airflow Variable named by bodies_variable (JSON, keyed by
    action) gives it, else the server's defaults apply. Returns the job's report with the table,
    action and status; a job that fails fails the task with the server's error."""

    template_fields: Sequence[str] = ("table",)

    def __init__(
        self,
        *,
        table: str,
        action: str,
        body: dict | None = None,
        bodies_variable: str | None = "lakeflight_maintenance",
        lakeflight_conn_id: str = LakeflightHook.default_conn_name,
        poll_interval: float = 2.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if action not in MAINTENANCE_ACTIONS:
            raise ValueError(f"unknown maintenance action {action!r}: want one of {MAINTENANCE_ACTIONS}")
        self.table = table
        self.action = action
        self.body = body
        self.bodies_variable = bodies_variable
        self.lakeflight_conn_id = lakeflight_conn_id
        self.poll_interval = poll_interval

    def _body(self) -> dict:
        if self.body is not None:
            return self.body
        if self.bodies_variable:
            from airflow.sdk import Variable

            return action_body(Variable.get(self.bodies_variable, default=None), self.action, self.bodies_variable)
        return {}

    def execute(self, context):
        try:
            job = LakeflightHook(self.lakeflight_conn_id).start_maintenance(self.table, self.action, self._body())
        except LakeflightError as e:
            raise task_error(f"{self.table} {self.action}", e) from e
        self.log.info("%s: %s started as job %s", self.table, self.action, job["id"])
        self.defer(
            trigger=MaintenanceJobTrigger(job["id"], self.lakeflight_conn_id, self.poll_interval),
            method_name="execute_complete",
            timeout=self.execution_timeout,
        )

    def execute_complete(self, context, event: dict):
        if event["status"] != "done":
            raise AirflowException(f"{self.table} {self.action}: waiting for the job failed: {event['message']}")
        job = event["doc"]
        if job["status"] != "succeeded":
            raise AirflowException(f"{self.table} {self.action}: job {job['id']} {job['status']}: {job.get('error')}")
        report = {**(job.get("report") or {}), "table": self.table, "action": self.action, "status": job["status"]}
        if orphans := report.pop("orphans", None):
            self.log.info("%s: orphan files removed:\n  %s", self.table, "\n  ".join(orphans))
        report["orphan_files"] = len(orphans or [])
        self.log.info("%s %s: %s", self.table, self.action, format_report(report))
        return report


def action_body(raw: str | None, action: str, variable: str = "lakeflight_maintenance") -> dict:
    """The body of action from the JSON of the bodies Variable (keyed by action). A key that names
    no action is refused: a misspelt one would otherwise leave the server's defaults in force
    without a word."""
    if not raw:
        return {}
    bodies = json.loads(raw)
    if not isinstance(bodies, dict):
        raise ValueError(f"Airflow Variable {variable}: want a JSON object keyed by action {MAINTENANCE_ACTIONS}")
    if unknown := sorted(set(bodies) - set(MAINTENANCE_ACTIONS)):
        raise ValueError(f"Airflow Variable {variable}: {unknown} name no maintenance action {MAINTENANCE_ACTIONS}")
    return bodies.get(action) or {}


def format_report(r: dict) -> str:
    """One line of a succeeded action's report: what it changed."""
    parts = [
        f"snapshots {r.get('snapshots_before')}→{r.get('snapshots_after')}",
        f"files {r.get('files_before')}→{r.get('files_after')}",
        f"bytes {r.get('bytes_before')}→{r.get('bytes_after')}",
    ]
    if r.get("action") == "compact":
        parts.append(f"data files {r.get('data_files_before', 0)}→{r.get('data_files_after', 0)}, "
                     f"{r.get('rewritten_files', 0)} rewritten")
    if r.get("action") == "remove-orphan-files":
        parts.append(f"{r.get('orphan_files', 0)} orphans ({r.get('orphan_bytes', 0)} bytes)")
    return ", ".join(parts)
