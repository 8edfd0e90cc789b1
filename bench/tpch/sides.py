"""The sides the bench times, each answering one query at a time as an Arrow table:

- lakeflight: the query over Flight SQL with Python ADBC (execute, then fetch_arrow_table), in a
  session that has said `USE tpch`;
- lakeflight-go: the same over arrow-go's Flight SQL client (Execute, then DoGet to the end), a Go
  worker process (goclient/) speaking worker.py's protocol;
- the in-process DuckDB sides, each a worker process (worker.py) with views named after the TPC-H
  tables, so that the same query texts run unchanged:
  (a) `duckdb`: DuckDB 1.5.6 on the generator's Parquet files (read_parquet of one file a table),
  (b) `duckdb-lf-files`: DuckDB 1.5.6 on lakeflight's own data files (read_parquet of the
      table's current data files, as iceberg_files lists them),
  (c) `duckdb-iceberg`: DuckDB 1.5.5 with its iceberg extension on lakeflight's tables
      (iceberg_scan of each table's current metadata file).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from lakeflight_server import BenchError

WORKER = Path(__file__).resolve().parent / "worker.py"


@dataclass
class Answer:
    seconds: float
    table: pa.Table | None  # only when asked for


def sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class Worker:
    """An in-process DuckDB side in a process of its own."""

    def __init__(self, name: str, python: Path, work: Path, argv: list[str] | None = None):
        """A worker.py under python, or the command argv speaking its protocol."""
        self.name, self.work = name, work
        self.stderr = open(work / f"{name}.stderr", "wb")  # closed in close()
        self.proc = subprocess.Popen(argv or [str(python), str(WORKER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.version = "?"

    def call(self, req: dict) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise BenchError(f"{self.name} worker exited (code {self.proc.wait()}); see {self.stderr.name}")
        ans = json.loads(line)
        if "error" in ans:
            raise BenchError(f"{self.name}: {ans['error']}")
        return ans

    def setup(self, views: dict[str, str], extensions: tuple[Path, ...] = ()) -> None:
        """Views named after the tables over the given FROM clauses."""
        sql = [f"CREATE VIEW {t} AS SELECT * FROM {src}" for t, src in views.items()]
        self.version = self.call({"op": "setup", "extensions": [str(e) for e in extensions], "sql": sql})["version"]

    def run(self, nr: int, sql: str, keep: bool) -> Answer:
        save = self.work / f"{self.name}-q{nr:02d}.arrow" if keep else None
        ans = self.call({"op": "run", "sql": sql, "save": str(save) if save else None})
        table = None
        if save:
            with pa.memory_map(str(save)) as f:
                table = pa.ipc.open_file(f).read_all()
            save.unlink()
        return Answer(ans["seconds"], table)

    def connect(self, addr: str, sql: list[str]) -> None:
        """The arrow-go worker's setup: connect to lakeflight and run sql in its session."""
        self.version = self.call({"op": "setup", "addr": addr, "sql": sql})["version"]

    def explain(self, sql: str) -> str:
        return self.call({"op": "explain", "sql": sql})["plan"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


class Lakeflight:
    """lakeflight over Flight SQL with ADBC."""

    name = "lakeflight"

    def __init__(self, conn):
        self.conn = conn
        self.cur = conn.cursor()

    def run(self, nr: int, sql: str, keep: bool) -> Answer:
        start = time.perf_counter()
        self.cur.execute(sql)
        table = self.cur.fetch_arrow_table()
        return Answer(time.perf_counter() - start, table if keep else None)

    def explain(self, sql: str) -> str:
        self.cur.execute("EXPLAIN ANALYZE " + sql)
        rows = self.cur.fetch_arrow_table().to_pylist()
        return "\n".join(str(list(r.values())[-1]) for r in rows)

    def close(self) -> None:
        self.cur.close()
