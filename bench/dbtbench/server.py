"""The lakeflight side of the dbt benchmark: a server of its own and what it logs.

The server runs on free loopback ports in the run's temporary directory, logging JSON at debug
level, so every record of a build can be read back afterwards: "sql write committed" (the phases of
one INSERT, UPDATE, DELETE or MERGE), "table created" and "table committed" (a CREATE TABLE … AS of
a new table), "ingest committed" (a seed's bulk ingest). The demo shop is loaded with the same
binary's `demo` command.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/: lakeflight_proc

import lakeflight_proc
from errors import BenchError

_NANOS = re.compile(r"(\.\d{6})\d+")
_QUERY_METRIC = re.compile(r"^lakeflight_flightsql_query_duration_seconds_sum\{[^}]*\} (\S+)$", re.M)


def parse_time(text: str) -> dt.datetime:
    """An RFC 3339 time as slog and dbt write it (Z, up to nanoseconds) as an aware datetime."""
    return dt.datetime.fromisoformat(_NANOS.sub(r"\1", text).replace("Z", "+00:00"))


@dataclass
class Record:
    """One line of the server's JSON log."""

    time: dt.datetime
    msg: str
    fields: dict

    def seconds(self, key: str) -> float:
        """A duration field (slog writes time.Duration as nanoseconds) in seconds."""
        return float(self.fields.get(key, 0)) / 1e9


@dataclass
class Server:
    proc: subprocess.Popen
    flight_addr: str
    http_addr: str
    log_path: Path

    @property
    def uri(self) -> str:
        return f"grpc://{self.flight_addr}"

    @property
    def port(self) -> int:
        return int(self.flight_addr.rsplit(":", 1)[1])

    def query_seconds(self) -> float:
        """The seconds the server has spent in DoGet of query results (execution and streaming):
        lakeflight_flightsql_query_duration_seconds_sum over every outcome, from /metrics."""
        with urllib.request.urlopen(f"http://{self.http_addr}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        return sum(float(v) for v in _QUERY_METRIC.findall(text))

    def log_offset(self) -> int:
        return self.log_path.stat().st_size

    def records(self, offset: int = 0) -> list[Record]:
        """The log's JSON records from byte offset on (lines that are not JSON are skipped)."""
        out = []
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                out.append(Record(parse_time(rec.pop("time")), rec.pop("msg", ""), rec))
        return out

    def duckdb_version(self) -> str:
        for r in self.records():
            if r.msg == "engine open":
                return str(r.fields.get("duckdb", "?"))
        return "?"

    def log_tail(self, lines: int = 30) -> str:
        return lakeflight_proc.log_tail(self.log_path, lines)

    def stop(self) -> None:
        lakeflight_proc.stop(self.proc)


def start(binary: Path, data_dir: Path, log_path: Path) -> Server:
    """Start lakeflight on free ports (JSON log at debug level) and wait until it is ready."""
    proc, flight, http = lakeflight_proc.spawn(binary, data_dir, log_path, BenchError, "--log-level", "debug")
    return Server(proc, flight, http, log_path)


def load_demo(binary: Path, server: Server, scale: int, step: int) -> None:
    """`lakeflight demo`: one step of the demo shop into bronze (through the normal ingest path)."""
    proc = subprocess.run(
        [str(binary), "demo", "--server", server.flight_addr, "--scale", str(scale), "--step", str(step)],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        raise BenchError(f"lakeflight demo --scale {scale} --step {step} failed:\n{proc.stdout}{proc.stderr}")


version = lakeflight_proc.version
machine = lakeflight_proc.machine
