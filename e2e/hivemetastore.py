"""Apache Hive's standalone metastore (4.0.0) as an external catalog for tests, the same one the Go
suites start (internal/hmstest): on a PostgreSQL database (Derby deadlocks on concurrent commits'
table locks), bound to 127.0.0.1. `make hivemetastore` (internal/hmstest/fixture/build.sh) puts
its jars in LAKEFLIGHT_HMS_DIR, by default ~/.cache/lakeflight/hive-metastore."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 90
LAUNCHER = "dev.lakeflight.hmstest.LoopbackMetastore"


def home() -> Path:
    base = Path(os.environ.get("LAKEFLIGHT_HMS_DIR") or Path.home() / ".cache/lakeflight/hive-metastore")
    if not (base / "lib" / "lakeflight-hms-launcher.jar").exists():
        raise RuntimeError(f"no Hive Metastore in {base}/lib: run `make hivemetastore`")
    return base.resolve()


def java() -> str:
    if (h := os.environ.get("JAVA_HOME")) and (b := Path(h) / "bin" / "java").exists():
        return str(b)
    if b := shutil.which("java"):
        return b
    raise RuntimeError("no java (17 to 22) for the Hive Metastore")


@dataclass
class Metastore:
    state: Path
    proc: subprocess.Popen
    port: int

    @property
    def uri(self) -> str:
        return f"thrift://127.0.0.1:{self.port}"

    @property
    def warehouse(self) -> Path:
        return self.state / "warehouse"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # its lifeline: it exits at the end of stdin
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(state: Path, database_url: str) -> Metastore:
    """A metastore whose catalog lives in the PostgreSQL database at database_url."""
    base = home()
    state.mkdir(parents=True, exist_ok=True)
    (state / "warehouse").mkdir(exist_ok=True)
    u = urllib.parse.urlsplit(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEFLIGHT_HMS_", "HADOOP_", "HIVE_"))}
    env["LAKEFLIGHT_HMS_JDBC_URL"] = f"jdbc:postgresql://{u.hostname}:{u.port}{u.path}"
    env["LAKEFLIGHT_HMS_JDBC_USER"] = u.username or ""
    if u.password:
        env["LAKEFLIGHT_HMS_JDBC_PASSWORD"] = u.password
    port_file = state / "hive-metastore.port"
    port_file.unlink(missing_ok=True)
    log = state / "hive-metastore.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [java(), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx1g", "-cp", str(base / "lib" / "*"),
             LAUNCHER, "--home", str(base), "--state", str(state), "--warehouse", str(state / "warehouse"),
             "--port-file", str(port_file), "--exit-with-stdin"],
            stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=state,
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_S
    while not port_file.exists() or not port_file.read_text().strip():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
            tail = log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"the Hive Metastore did not start: {tail}")
        time.sleep(0.1)
    return Metastore(state, proc, int(port_file.read_text().strip()))
