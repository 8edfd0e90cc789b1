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
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/: lakeflight_proc

import lakeflight_proc

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
        return lakeflight_proc.log_tail(self.log_path, lines)

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
        lakeflight_proc.stop(self.proc)


def start(binary: Path, data_dir: Path, log_path: Path) -> Server:
    """Start lakeflight on free loopback ports and wait until it is ready."""
    proc, flight, http = lakeflight_proc.spawn(binary, data_dir, log_path, BenchError)
    return Server(binary, proc, data_dir, flight, http, log_path)


def query_arrow(conn, sql: str) -> pa.Table:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


version = lakeflight_proc.version
machine = lakeflight_proc.machine
