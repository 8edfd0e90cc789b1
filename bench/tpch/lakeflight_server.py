"""The lakeflight side of the TPC-H bench: a server of its own, loading through `lakeflight
ingest`, and where its tables' files are.

The server runs on free loopback ports with a data directory in the bench's work directory. The
TPC-H tables go into namespace `tpch` (CREATE SCHEMA over Flight SQL, then one `lakeflight ingest`
per table), and the queries run in a session that has said `USE tpch`, so DuckDB's query texts
run unchanged. For the in-process sides the bench reads back each table's data files
(`iceberg_files('tpch.t')` over Flight SQL) and its current metadata file (the SQL catalog's
iceberg_tables row, read from <data-dir>/catalog.db).
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
INGEST_TIMEOUT_S = 1800
NAMESPACE = "tpch"


class BenchError(Exception):
    """A failure that ends the bench (the work directory is kept for its logs)."""


@dataclass
class Ingested:
    table: str
    rows: int
    seconds: float  # the `lakeflight ingest` process, start to exit


@dataclass
class Server:
    binary: Path
    proc: subprocess.Popen
    data_dir: Path
    flight_addr: str
    http_addr: str
    log_path: Path

    @property
    def uri(self) -> str:
        return f"grpc://{self.flight_addr}"

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def connect(self):
        """An ADBC connection whose session (the cookie) has said USE tpch."""
        conn = flight_sql.connect(
            self.uri, autocommit=True,
            db_kwargs={adbc_driver_flightsql.DatabaseOptions.WITH_COOKIE_MIDDLEWARE.value: "true"})
        with conn.cursor() as cur:
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {NAMESPACE}")
            cur.fetch_arrow_table()
            cur.execute(f"USE {NAMESPACE}")
            cur.fetch_arrow_table()
        return conn

    def ingest(self, table: str, path: Path) -> Ingested:
        """One `lakeflight ingest` of a Parquet file into tpch.<table>, a new table."""
        args = [str(self.binary), "ingest", "--server", self.flight_addr, "--table", f"{NAMESPACE}.{table}",
                "--mode", "create", "--progress", "none", "--json", str(path)]
        start = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True, timeout=INGEST_TIMEOUT_S)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise BenchError(f"lakeflight ingest of {path} failed:\n{proc.stdout}{proc.stderr}")
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        return Ingested(table, int(summary.get("rows", -1)), seconds)

    def data_files(self, conn, table: str) -> list[str]:
        """The local paths of the table's current data files."""
        with conn.cursor() as cur:
            cur.execute(f"SELECT file_path, content FROM iceberg_files('{NAMESPACE}.{table}')")
            rows = cur.fetch_arrow_table().to_pylist()
        if any(r["content"] != "data" for r in rows):
            raise BenchError(f"tpch.{table} has delete files: a fresh ingest should have none")
        return [r["file_path"].removeprefix("file://") for r in rows]

    def metadata_location(self, table: str) -> str:
        """The table's current metadata file, from the catalog's iceberg_tables."""
        db = sqlite3.connect(f"file:{self.data_dir / 'catalog.db'}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT metadata_location FROM iceberg_tables WHERE table_namespace = ? "
                             "AND table_name = ?", (NAMESPACE, table)).fetchone()
        finally:
            db.close()
        if row is None:
            raise BenchError(f"no tpch.{table} in {self.data_dir / 'catalog.db'}")
        return row[0].removeprefix("file://")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready_record(log_path: Path, flight: str) -> bool:
    """Whether our own log says our server is ready: /ready alone could be another server's answer
    on a port taken in between."""
    with open(log_path, "rb") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("msg") == "lakeflight ready" and rec.get("flight") == flight:
                return True
    return False


def start(binary: Path, data_dir: Path, log_path: Path) -> Server:
    """Start lakeflight on free loopback ports and wait until it is ready."""
    flight, http = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    args = [str(binary), "serve", "--data-dir", str(data_dir), "--flight-addr", flight, "--http-addr", http,
            "--log-format", "json"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    srv = Server(binary, proc, data_dir, flight, http, log_path)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"lakeflight exited with code {proc.returncode} before it was ready:\n{srv.log_tail()}")
        if _ready_record(log_path, flight):
            try:
                with urllib.request.urlopen(f"http://{http}/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return srv
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.1)
    srv.stop()
    raise BenchError(f"lakeflight not ready after {READY_TIMEOUT_S:.0f} s:\n{srv.log_tail()}")


def query_arrow(conn, sql: str) -> pa.Table:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


def version(binary: Path) -> str:
    """What `lakeflight version` prints, without the leading name."""
    proc = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0 or not proc.stdout.strip():
        return "?"
    return proc.stdout.strip().splitlines()[0].removeprefix("lakeflight ")
