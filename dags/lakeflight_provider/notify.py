"""Failure notifications: every lakeflight task's on_failure_callback. It always writes the failure
to the task log, and POSTs it as JSON to the webhook URL in the Airflow Variable
``lakeflight_alert_webhook`` when one is set (any receiver that takes a JSON POST: an incident
tool, a chat bridge, Alertmanager's webhook adapter). A webhook that fails is logged, never raised:
the task has failed already, and the callback must not hide why.
"""

from __future__ import annotations

import logging

import httpx

log = logging.getLogger(__name__)

WEBHOOK_VARIABLE = "lakeflight_alert_webhook"


def failure_message(context) -> dict:
    """What went wrong, from a task's callback context."""
    ti = context["ti"]
    exc = context.get("exception")
    logical = context.get("logical_date")
    return {
        "event": "task_failed",
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "map_index": getattr(ti, "map_index", -1),
        "try_number": ti.try_number,
        "logical_date": logical.isoformat() if logical else None,
        "error": f"{type(exc).__name__}: {exc}" if exc else None,
    }


def notify_failure(context) -> None:
    """on_failure_callback: the task log always, the webhook when configured."""
    msg = failure_message(context)
    log.error(
        "lakeflight alert: %s.%s failed (run %s, try %s): %s",
        msg["dag_id"], msg["task_id"], msg["run_id"], msg["try_number"], msg["error"],
    )
    try:
        from airflow.sdk import Variable

        url = Variable.get(WEBHOOK_VARIABLE, default=None)
    except Exception as e:  # a callback must not fail on a Variable lookup
        log.warning("lakeflight alert: cannot read Variable %s: %s", WEBHOOK_VARIABLE, e)
        return
    if not url:
        log.info("lakeflight alert: no webhook (Variable %s unset): the task log is the only notice", WEBHOOK_VARIABLE)
        return
    try:
        resp = httpx.post(url, json=msg, timeout=10)
        resp.raise_for_status()
        log.info("lakeflight alert: posted to the webhook (HTTP %s)", resp.status_code)
    except httpx.HTTPError as e:
        log.warning("lakeflight alert: the webhook failed: %s", e)
