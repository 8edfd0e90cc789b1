"""One `dbt build` of the repository's project, timed, with what dbt itself recorded.

dbt runs as a user runs it (the venv's `dbt`, a profiles.yml of its own) with its target and log
directories in the benchmark's temporary directory, so nothing is written into dbt/. Its debug log
is JSON: each statement is a SQLQuery event (the text, when it was sent) followed on the same
thread by SQLQueryStatus (how long the adapter's execute took, on dbt's clock). run_results.json
gives each node's execution time and the run phase's length (the wall time less start-up and
parsing).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from errors import BenchError
from server import parse_time

DBT = Path(sys.executable).parent / "dbt"
DBT_TIMEOUT_S = 1800
PROFILE = "lakeflight"  # the project's profile name, whatever the adapter
# One thread on both sides: statements follow each other, so a build's parts add up to its wall time.
THREADS = 1

QUERIES = "SELECT (tests, introspection)"

_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)

# A statement's kind from its first words (comments removed, lower case, spaces folded).
_KINDS = [
    (re.compile(r"^create (or replace )?(temp|temporary) table "), "CREATE TEMP TABLE … AS"),
    (re.compile(r"^create (or replace )?table \S+ as[ (]"), "CREATE TABLE … AS"),
    (re.compile(r"^create (or replace )?view "), "CREATE VIEW"),
    (re.compile(r"^insert "), "INSERT"),
    (re.compile(r"^merge "), "MERGE"),
    (re.compile(r"^delete "), "DELETE"),
    (re.compile(r"^update "), "UPDATE"),
    (re.compile(r"^(select|with|describe|show)\b"), QUERIES),
    (re.compile(r"^(begin|commit|rollback)\b"), "BEGIN / COMMIT"),
]
OTHER = "other (schemas, ALTER, DROP, COPY)"


def kind_of(sql: str) -> str:
    text = " ".join(_COMMENT.sub(" ", sql).split()).lower()
    for pattern, kind in _KINDS:
        if pattern.match(text):
            return kind
    return OTHER


@dataclass
class Statement:
    kind: str
    start: dt.datetime
    end: dt.datetime
    elapsed: float  # seconds, the adapter's execute as dbt timed it


@dataclass
class Node:
    unique_id: str
    status: str
    seconds: float

    @property
    def resource_type(self) -> str:
        return self.unique_id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.unique_id.rsplit(".", 1)[-1]


@dataclass
class Build:
    label: str
    wall: float  # the dbt process, start to exit
    run_phase: float  # run_results.json elapsed_time: the nodes, after start-up and parsing
    start: dt.datetime
    end: dt.datetime
    statements: list[Statement]
    nodes: list[Node]

    @property
    def statement_seconds(self) -> float:
        return sum(s.elapsed for s in self.statements)


def lakeflight_profile(host: str, port: int) -> dict:
    return {"type": "lakeflight", "host": host, "port": port, "schema": "silver", "threads": THREADS}


def duckdb_profile(path: Path) -> dict:
    # lakeflight's sessions run in UTC; DuckDB's default is the machine's zone, and the project
    # casts timestamptz to date.
    return {"type": "duckdb", "path": str(path), "schema": "silver", "threads": THREADS,
            "settings": {"TimeZone": "UTC"}}


class Dbt:
    """dbt on one project and profile; the target directory is kept between builds (partial parsing)."""

    def __init__(self, project: Path, work: Path, output: dict):
        self.project, self.work = project, work
        work.mkdir(parents=True, exist_ok=True)
        profile = {PROFILE: {"target": "bench", "outputs": {"bench": output}}}
        (work / "profiles.yml").write_text(yaml.safe_dump(profile, sort_keys=False))

    def build(self, label: str) -> Build:
        logs = self.work / f"logs-{label}"
        target = self.work / "target"
        args = [str(DBT), "build", "--project-dir", str(self.project), "--profiles-dir", str(self.work),
                "--target-path", str(target), "--log-path", str(logs),
                "--log-format-file", "json", "--log-level-file", "debug"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "LAKEFLIGHT_"))}
        env.update(DO_NOT_TRACK="1", DBT_USE_COLORS="false")
        start = dt.datetime.now(dt.UTC)
        t0 = time.monotonic()
        proc = subprocess.run(args, cwd=self.project, env=env, capture_output=True, text=True, timeout=DBT_TIMEOUT_S)
        wall = time.monotonic() - t0
        end = dt.datetime.now(dt.UTC)
        (self.work / f"stdout-{label}.txt").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
            raise BenchError(f"dbt build ({label}, {self.work.name}) exited {proc.returncode}:\n{tail}")
        results = json.loads((target / "run_results.json").read_text())
        (self.work / f"run_results-{label}.json").write_text(json.dumps(results))
        nodes = [Node(r["unique_id"], r["status"], float(r["execution_time"])) for r in results["results"]]
        bad = [n.unique_id for n in nodes if n.status not in ("success", "pass", "no-op")]
        if bad:
            raise BenchError(f"dbt build ({label}, {self.work.name}): not successful: {', '.join(bad)}")
        return Build(label, wall, float(results["elapsed_time"]), start, end, statements(logs / "dbt.log"), nodes)


def statements(log: Path) -> list[Statement]:
    """Each statement of a dbt JSON log: a SQLQuery and the next SQLQueryStatus of its thread."""
    pending: dict[str, dict] = {}
    out = []
    with open(log) as f:
        for line in f:
            event = json.loads(line)
            info = event["info"]
            if info["name"] == "SQLQuery":
                pending[info["thread"]] = event
            elif info["name"] == "SQLQueryStatus" and info["thread"] in pending:
                query = pending.pop(info["thread"])
                out.append(Statement(
                    kind=kind_of(query["data"]["sql"]),
                    start=parse_time(query["info"]["ts"]),
                    end=parse_time(info["ts"]),
                    elapsed=float(event["data"]["elapsed"]),
                ))
    return out
