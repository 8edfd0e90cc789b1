"""Apache Iceberg's Java REST catalog server (the apache/iceberg-rest-fixture server, Iceberg
1.10.1) as an external catalog for tests, the same one the Go suites start (internal/resttest):
its JDBC catalog in a SQLite file, a local warehouse, bound to 127.0.0.1. `make restcatalog`
(internal/resttest/fixture/build.sh) puts its jars in LAKEFLIGHT_REST_FIXTURE_DIR, by default
~/.cache/lakeflight/iceberg-rest-fixture."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 60
LAUNCHER = "org.apache.iceberg.rest.LoopbackRESTCatalogServer"


def classpath() -> str:
    base = Path(os.environ.get("LAKEFLIGHT_REST_FIXTURE_DIR") or Path.home() / ".cache/lakeflight/iceberg-rest-fixture")
    lib = base / "lib"
    if not (lib / "lakeflight-rest-launcher.jar").exists():
        raise RuntimeError(f"no Iceberg REST fixture in {lib}: run `make restcatalog`")
    return str(lib / "*")


def java() -> str:
    if home := os.environ.get("JAVA_HOME"):
        if (b := Path(home) / "bin" / "java").exists():
            return str(b)
    if b := shutil.which("java"):
        return b
    raise RuntimeError("no java (17 or newer) for the Iceberg REST fixture")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RestCatalog:
    warehouse: Path  # the local directory new tables go under
    db: Path  # the JDBC catalog's SQLite file
    port: int
    log: Path
    proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        """Start (or start again, on the same port and catalog database)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
        env.update(
            CATALOG_WAREHOUSE=self.warehouse.as_uri(),
            CATALOG_URI=f"jdbc:sqlite:{self.db}",
            CATALOG_REST_PORT=str(self.port),
        )
        with open(self.log, "ab") as log:
            # stdin is a pipe the server watches: it exits when this process goes.
            self.proc = subprocess.Popen(
                [java(), "-XX:+UseSerialGC", "-Xmx1g", "-cp", classpath(), LAUNCHER, "--exit-with-stdin"],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(self.uri + "v1/config", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(errors="replace")[-4000:]
                raise RuntimeError(f"the Iceberg REST fixture did not start: {tail}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc and self.proc.stdin:
            self.proc.stdin.close()
        self.proc = None


def create(work: Path) -> RestCatalog:
    warehouse = work / "warehouse"
    warehouse.mkdir(parents=True)
    return RestCatalog(warehouse, work / "catalog.db", free_port(), work / "rest-catalog.log")
