"""The readers the pgwire bench times: each reads the whole table once, over a fresh connection, and
says what it got (rows, the sum of the id column, bytes) and how much CPU the server spent on it.

Only the read is timed (execute to last row); connecting and the checks after the read are not.
CPU is taken from /proc: the server process (lakeflight) or the connection's backend (PostgreSQL),
and this process (every thread, ADBC's included) or the child (the lakeflight CLI).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_postgresql.dbapi as pgadbc
import psycopg
import pyarrow.compute as pc

CLOCK_TICK = os.sysconf("SC_CLK_TCK")


class ReadError(Exception):
    pass


@dataclass
class Read:
    seconds: float
    rows: int
    id_sum: int | None  # None: the reader does not decode the id column
    nbytes: int | None  # bytes as the reader holds them (Arrow buffers, COPY stream); None: not meaningful
    client_cpu: float
    server_cpu: float


def proc_cpu(pid: int) -> float:
    """User plus system seconds of a process, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def self_cpu(who: int = resource.RUSAGE_SELF) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


class Clock:
    """Wall time and CPU of the client and the server across one read."""

    def __init__(self, server_pid: int, client: int = resource.RUSAGE_SELF):
        self.server_pid, self.client = server_pid, client

    def __enter__(self) -> Clock:
        self.s0, self.c0, self.t0 = proc_cpu(self.server_pid), self_cpu(self.client), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.client_cpu = self_cpu(self.client) - self.c0
        self.server_cpu = proc_cpu(self.server_pid) - self.s0

    def read(self, rows: int, id_sum: int | None, nbytes: int | None) -> Read:
        return Read(self.seconds, rows, id_sum, nbytes, self.client_cpu, self.server_cpu)


@dataclass
class Reader:
    key: str
    label: str  # what the report calls it
    decoded: str  # what the client ends up with
    side: str  # "lakeflight", "postgresql" or "cli"
    # Reads the table once; check: the untimed warm-up, whose output (where the reader writes
    # one) must be kept to be counted, rather than dropped.
    run: Callable[[bool], Read]


def lakeflight_adbc(uri: str, sql: str, server_pid: int) -> Read:
    with flightsql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        with Clock(server_pid) as clk:
            cur.execute(sql)
            table = cur.fetch_arrow_table()
        return clk.read(table.num_rows, pc.sum(table.column("id")).as_py(), table.nbytes)


def postgres_adbc(dsn: str, sql: str) -> Read:
    with pgadbc.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        with Clock(pid) as clk:
            cur.execute(sql)
            table = cur.fetch_arrow_table()
        return clk.read(table.num_rows, pc.sum(table.column("id")).as_py(), table.nbytes)


def psycopg_copy_bytes(dsn: str, sql: str) -> Read:
    """COPY (…) TO STDOUT (FORMAT binary), every chunk read and dropped, nothing decoded. The server
    sends one CopyData message a row, and psycopg hands each to Python as its own chunk."""
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with Clock(conn.info.backend_pid) as clk:
            nbytes = 0
            with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)") as copy:
                for chunk in copy:
                    nbytes += len(chunk)
        return clk.read(cur.rowcount, None, nbytes)


def reaped_cpu(pid: int) -> float:
    """User plus system seconds of the children a process has waited for (the postmaster: its
    backends that have exited)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / CLOCK_TICK


SETTLE_TIMEOUT_S = 10.0


def settle(postmaster: int) -> None:
    """Waits until the postmaster has reaped every client backend: none left running (their
    process title starts "postgres: <user> <database>"), exiting, or exited and not yet waited
    for. Only then does reaped_cpu hold a finished backend's CPU, and no other's."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        if not any(_client_backend(p) for p in _children(postmaster)):
            return
        time.sleep(0.02)
    raise ReadError(f"PostgreSQL client backends still there after {SETTLE_TIMEOUT_S:.0f} s")


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


def _client_backend(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read()
        # An exiting process reads as an empty title while it unmaps its memory (for a backend,
        # the shared buffers): it has not been reaped yet either.
        return title == b"" or title.startswith(b"postgres: postgres postgres")
    except OSError:
        return False


def psql_copy(psql: Path, host: str, port: int, sql: str, postmaster: int, sink: Path) -> Read:
    r"""psql's \copy (…) TO sink (FORMAT binary): libpq in C writing the COPY stream to a file, the
    fastest PostgreSQL export without Python. The server's CPU is its backend's, counted by the
    postmaster once it has reaped the backend (so measured after the clock stops)."""
    cmd = [str(psql), "-X", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", str(port), "-U", "postgres",
           "-d", "postgres", "-c", f"\\copy ({sql}) TO '{sink}' WITH (FORMAT binary)"]
    settle(postmaster)
    s0 = reaped_cpu(postmaster)
    with Clock(postmaster, resource.RUSAGE_CHILDREN) as clk:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise ReadError(f"psql \\copy: exit {proc.returncode}: {proc.stderr[-2000:]}")
    settle(postmaster)
    clk.server_cpu = reaped_cpu(postmaster) - s0
    tag = proc.stdout.split()
    rows = int(tag[1]) if len(tag) == 2 and tag[0] == "COPY" else -1
    nbytes = sink.stat().st_size if sink.is_file() else None
    return clk.read(rows, None, nbytes)


def psycopg_fetchall(dsn: str, sql: str) -> Read:
    """A plain (client-side) cursor: execute, fetchall; the id sum is taken after the clock stops."""
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with Clock(conn.info.backend_pid) as clk:
            cur.execute(sql)
            rows = cur.fetchall()
        out = clk.read(len(rows), sum(r[0] for r in rows), None)
        del rows
        return out


# What the CLI prints before the id of each row: csv has a header line, json one object a line.
CLI_ID = {"csv": re.compile(rb"^(\d+),", re.M), "json": re.compile(rb'^\{"id":(\d+)', re.M)}


def lakeflight_cli(binary: Path, server: str, sql: str, fmt: str, server_pid: int, check: bool) -> Read:
    """`lakeflight query --format fmt` with stdout on /dev/null; with check, the output goes to a
    pipe instead and is counted (a check run, not one to time)."""
    args = [str(binary), "query", "--server", server, "--format", fmt, sql]
    with Clock(server_pid, resource.RUSAGE_CHILDREN) as clk:
        if check:
            proc = subprocess.run(args, capture_output=True, timeout=600)
            out = proc.stdout
        else:
            with open(os.devnull, "wb") as sink:
                proc = subprocess.run(args, stdout=sink, stderr=subprocess.PIPE, timeout=600)
            out = None
    if proc.returncode != 0:
        raise ReadError(f"lakeflight query --format {fmt}: exit {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    if out is None:
        return clk.read(-1, None, None)
    ids = [int(m.group(1)) for m in CLI_ID[fmt].finditer(out)]
    return clk.read(len(ids), sum(ids), len(out))
