"""Where a build's time went: dbt itself, SQL, data-file writes and Iceberg commits.

dbt runs with one thread, so its statements follow each other and the parts add up to the wall
time:

- dbt start-up: the wall time less run_results.json's run phase (interpreter, adapter, parsing);
- dbt in the run: the run phase less the statements (Jinja, materialisation logic, the adapter's
  relation cache; for lakeflight also its catalog calls, Flight SQL GetTables, which are not
  statements);
- statements: the adapter's execute as dbt timed it (its SQLQueryStatus). For lakeflight a query
  runs only when its result is read, after execute has returned (the ADBC driver's execute is
  CreatePreparedStatement and GetFlightInfo; DoGet executes and streams), so the queries' DoGet
  time, from the server's lakeflight_flightsql_query_duration_seconds over the build, is added.

lakeflight's log splits a statement further where it can. A record belongs to the statement whose
interval (dbt's SQLQuery to its SQLQueryStatus, on the same clock) holds its time:

- "sql write committed" (INSERT, UPDATE, DELETE, MERGE, CREATE [OR REPLACE] TABLE … AS): its
  `write` (data and delete files) and `commit` (the Iceberg commit); the rest of the statement is
  SQL (for CREATE TABLE … AS that includes the catalog creating a new table, `create`);
- "ingest committed" (a seed's bulk ingest, not a statement): its duration, "not split";
- every other statement (queries, temp tables, views, DDL) is SQL.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from dbtrun import QUERIES, Build, Statement
from server import Record

# dbt's and the server's timestamps come from the same clock; this absorbs their rounding.
SLACK = dt.timedelta(milliseconds=2)
INGEST = "bulk ingest (seed)"


@dataclass
class Part:
    """Seconds of one statement kind (or of a whole build) by where they went."""

    count: int = 0
    seconds: float = 0.0  # as dbt timed the statements (queries' DoGet and ingest: as the server did)
    sql: float = 0.0
    write: float = 0.0
    commit: float = 0.0
    unsplit: float = 0.0

    def add(self, other: Part) -> None:
        self.count += other.count
        self.seconds += other.seconds
        self.sql += other.sql
        self.write += other.write
        self.commit += other.commit
        self.unsplit += other.unsplit


@dataclass
class Split:
    wall: float
    startup: float
    in_run: float
    statements: Part
    kinds: dict[str, Part] = field(default_factory=dict)
    engine: dict[str, float] = field(default_factory=dict)  # DML phases summed, from the server's records
    stray: int = 0  # "sql write committed" records in no statement's interval (0, or the split is off)


def statement_part(st: Statement, records: list[Record]) -> tuple[str, Part]:
    mine = [r for r in records if st.start - SLACK <= r.time <= st.end + SLACK]
    part = Part(count=1, seconds=st.elapsed)
    written = next((r for r in mine if r.msg == "sql write committed"), None)
    if written is not None:
        part.write, part.commit = written.seconds("write"), written.seconds("commit")
    part.sql = st.elapsed - part.write - part.commit
    return st.kind, part


def lakeflight_split(build: Build, records: list[Record], queries: float) -> Split:
    """The split of a lakeflight build, from dbt's statements, the server's records of the build
    and the seconds the server spent in DoGet of its queries."""
    kinds: dict[str, Part] = defaultdict(Part)
    engine: dict[str, float] = defaultdict(float)
    for st in build.statements:
        kind, part = statement_part(st, records)
        kinds[kind].add(part)
    kinds[QUERIES].add(Part(seconds=queries, sql=queries))
    stray = 0
    for r in records:
        if not build.start <= r.time <= build.end:
            continue
        if r.msg == "ingest committed":
            d = r.seconds("duration")
            kinds[INGEST].add(Part(count=1, seconds=d, unsplit=d))
        elif r.msg == "sql write committed":
            for phase in ("plan", "stand_in", "run", "collect", "create", "rewrite", "write", "commit"):
                engine[phase] += r.seconds(phase)
            if not any(st.start - SLACK <= r.time <= st.end + SLACK for st in build.statements):
                stray += 1
    return finish(build, kinds, engine, stray)


def reference_split(build: Build) -> Split:
    """dbt-duckdb's split: no server of its own, so statements are SQL whole."""
    kinds: dict[str, Part] = defaultdict(Part)
    for st in build.statements:
        kinds[st.kind].add(Part(count=1, seconds=st.elapsed, sql=st.elapsed))
    return finish(build, kinds, {})


def finish(build: Build, kinds: dict[str, Part], engine: dict[str, float], stray: int = 0) -> Split:
    total = Part()
    for part in kinds.values():
        total.add(part)
    return Split(wall=build.wall, startup=build.wall - build.run_phase, in_run=build.run_phase - total.seconds,
                 statements=total, kinds=dict(kinds), engine=dict(engine), stray=stray)
