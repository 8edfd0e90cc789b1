"""TransformOperator: a dbt command run by the server (POST /transform), waited for in the
triggerer. A run that did not succeed is a verdict on the data or the project, not an outage: it
fails the task at once (no retries) with dbt's error and the failing nodes, and the failure
callback tells someone. Starting the run or polling it failing is retried with backoff."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from .hook import LakeflightError, LakeflightHook, task_error
from .triggers import TransformRunTrigger

# dbt node statuses that fail a run, and the ones that only warn.
BAD_NODE = frozenset({"error", "fail", "runtime error"})
WARN_NODE = frozenset({"warn"})


def describe_run(run: dict, tail: int = 15) -> str:
    """Why a dbt run did not succeed: the run's error, each failing node with its message and,
    when no node says, the last lines dbt printed."""
    lines = [f"dbt {run.get('request', {}).get('command', 'build')} run {run['id']} {run['status']}: "
             f"{run.get('error') or 'no error given'}"]
    bad = [n for n in run.get("nodes") or [] if n.get("status") in BAD_NODE]
    for n in bad:
        failures = f" ({n['failures']} failing rows)" if n.get("failures") else ""
        lines.append(f"  {n['unique_id']}: {n['status']}{failures}: {n.get('message') or ''}".rstrip(": "))
    if not bad and run.get("log_tail"):
        lines.append("  dbt's last lines:")
        lines.extend(f"    {line}" for line in run["log_tail"][-tail:])
    return "\n".join(lines)


class TransformOperator(BaseOperator):
    """Runs a dbt command in the server (POST /transform) and waits for it in the triggerer.

    command is "build" (default), "test" or "source freshness"; select, exclude, full_refresh,
    vars and target are POST /transform's fields. Returns a summary of the run (id, status, node
    counts by status) as XCom; a run that failed or was canceled fails the task with dbt's error and
    the failing nodes."""

    template_fields: Sequence[str] = ("select", "exclude", "vars", "target")

    def __init__(
        self,
        *,
        command: str = "build",
        select: list[str] | None = None,
        exclude: list[str] | None = None,
        full_refresh: bool = False,
        vars: dict | None = None,
        target: str | None = None,
        lakeflight_conn_id: str = LakeflightHook.default_conn_name,
        poll_interval: float = 3.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.command = command
        self.select = select
        self.exclude = exclude
        self.full_refresh = full_refresh
        self.vars = vars
        self.target = target
        self.lakeflight_conn_id = lakeflight_conn_id
        self.poll_interval = poll_interval

    def body(self) -> dict:
        body: dict[str, Any] = {"command": self.command}
        for key in ("select", "exclude", "vars", "target"):
            if value := getattr(self, key):
                body[key] = value
        if self.full_refresh:
            body["full_refresh"] = True
        return body

    def execute(self, context):
        try:
            run = LakeflightHook(self.lakeflight_conn_id).start_transform(self.body())
        except LakeflightError as e:
            raise task_error(f"starting dbt {self.command}", e) from e
        self.log.info("dbt %s queued as transform run %s", self.command, run["id"])
        self.defer(
            trigger=TransformRunTrigger(run["id"], self.lakeflight_conn_id, self.poll_interval),
            method_name="execute_complete",
            timeout=self.execution_timeout,
        )

    def execute_complete(self, context, event: dict):
        if event["status"] != "done":
            raise AirflowException(f"waiting for the dbt run failed: {event['message']}")
        run = event["doc"]
        counts: dict[str, int] = {}
        for n in run.get("nodes") or []:
            self.log.info("  %-60s %-8s %6.2fs %s", n["unique_id"], n["status"], n.get("seconds", 0),
                          n.get("message") or "")
            if n["status"] in WARN_NODE:
                self.log.warning("dbt warns: %s: %s", n["unique_id"], n.get("message") or "")
            counts[n["status"]] = counts.get(n["status"], 0) + 1
        if run["status"] != "success":
            raise AirflowFailException(describe_run(run))
        self.log.info("dbt %s run %s succeeded: %s", self.command, run["id"], counts)
        for asset in self.outlets:
            context["outlet_events"][asset].extra = {"transform_run": run["id"], "nodes": counts}
        return {"run_id": run["id"], "status": run["status"], "nodes": counts}
