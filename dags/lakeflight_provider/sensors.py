"""LandingFilesSensor: waits for files in the landing folder without holding a worker slot."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import BaseSensorOperator

from .landing import Landing, scan
from .triggers import LandingFilesTrigger


class LandingFilesSensor(BaseSensorOperator):
    """Succeeds with the landing files ready to ingest (relative paths, sorted; landing.scan) as
    XCom. It looks once on the worker; when there is nothing yet it defers to LandingFilesTrigger,
    which looks every poke_interval seconds in the triggerer until timeout (then the sensor fails,
    or is skipped with soft_fail: an hour without files is no error for an hourly DAG)."""

    def __init__(self, *, poke_interval: float = 60.0, **kwargs):
        super().__init__(poke_interval=poke_interval, **kwargs)

    def execute(self, context):
        conf = Landing.from_variables()
        files = scan(conf.landing_dir, conf.settle_seconds)
        if files:
            self.log.info("%d files ready in %s: %s", len(files), conf.landing_dir, ", ".join(files))
            return files
        self.log.info("no files ready in %s yet: waiting in the triggerer", conf.landing_dir)
        self.defer(
            trigger=LandingFilesTrigger(str(conf.landing_dir), conf.settle_seconds, self.poke_interval),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context, event: dict):
        files = event["files"]
        self.log.info("%d files ready: %s", len(files), ", ".join(files))
        return files
