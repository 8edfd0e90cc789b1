"""Triggers: the waits of the lakeflight operators, run by Airflow's triggerer so that no worker
slot is held while dbt builds, a maintenance job runs or the landing folder stays empty.

Each trigger fires one event. A server that does not answer is polled again (it may be
restarting); after `max_errors` failed polls in a row the event says so and the task fails, to be
retried by Airflow.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx
from airflow.sdk import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

from .hook import Endpoint, LakeflightError, check
from .landing import scan


class _PollTrigger(BaseTrigger):
    """GET one lakeflight document every poll_interval seconds until its status field leaves the
    `waiting` statuses; the event carries the last document."""

    waiting: frozenset[str] = frozenset()

    def __init__(self, resource_id: str, lakeflight_conn_id: str, poll_interval: float = 5.0, max_errors: int = 12):
        super().__init__()
        self.resource_id = resource_id
        self.lakeflight_conn_id = lakeflight_conn_id
        self.poll_interval = poll_interval
        self.max_errors = max_errors

    def path(self) -> str:
        raise NotImplementedError

    def serialize(self) -> tuple[str, dict[str, Any]]:
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}", {
            "resource_id": self.resource_id,
            "lakeflight_conn_id": self.lakeflight_conn_id,
            "poll_interval": self.poll_interval,
            "max_errors": self.max_errors,
        }

    async def endpoint(self) -> Endpoint:
        return Endpoint.from_connection(await BaseHook.aget_connection(self.lakeflight_conn_id))

    async def run(self):
        endpoint = await self.endpoint()
        errors = 0
        async with endpoint.async_client() as client:
            while True:
                try:
                    doc = check(await client.get(self.path()), 200)
                    errors = 0
                except (httpx.HTTPError, LakeflightError) as e:
                    if isinstance(e, LakeflightError) and e.status == 404:
                        # The server forgot it (a restart, for maintenance jobs): polling more is no use.
                        yield TriggerEvent({"status": "error", "message": str(e)})
                        return
                    errors += 1
                    self.log.warning("polling %s failed (%d of %d): %s", self.path(), errors, self.max_errors, e)
                    if errors >= self.max_errors:
                        yield TriggerEvent({"status": "error", "message": f"{self.path()}: {e}"})
                        return
                    await asyncio.sleep(self.poll_interval)
                    continue
                if doc.get("status") not in self.waiting:
                    yield TriggerEvent({"status": "done", "doc": doc})
                    return
                await asyncio.sleep(self.poll_interval)


class TransformRunTrigger(_PollTrigger):
    """Waits for a dbt run started by POST /transform to end (success, failed or canceled)."""

    waiting = frozenset({"queued", "running"})

    def path(self) -> str:
        return f"/transform/{quote(self.resource_id, safe='')}"

    async def on_kill(self) -> None:
        # The task was killed by a user while it waited: stop dbt too.
        endpoint = await self.endpoint()
        async with endpoint.async_client() as client:
            resp = await client.delete(self.path())
            self.log.info("canceled transform run %s: HTTP %s", self.resource_id, resp.status_code)


class MaintenanceJobTrigger(_PollTrigger):
    """Waits for a maintenance job started with ?async=true to end (succeeded or failed)."""

    waiting = frozenset({"running"})

    def path(self) -> str:
        return f"/v1/maintenance/{quote(self.resource_id, safe='')}"


class LandingFilesTrigger(BaseTrigger):
    """Waits until the landing folder holds files ready to ingest (landing.scan); the event lists
    them."""

    def __init__(self, landing_dir: str, settle_seconds: float, poll_interval: float = 30.0):
        super().__init__()
        self.landing_dir = landing_dir
        self.settle_seconds = settle_seconds
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", {
            "landing_dir": self.landing_dir,
            "settle_seconds": self.settle_seconds,
            "poll_interval": self.poll_interval,
        }

    async def run(self):
        while True:
            files = await asyncio.to_thread(scan, self.landing_dir, self.settle_seconds)
            if files:
                yield TriggerEvent({"files": files})
                return
            await asyncio.sleep(self.poll_interval)
