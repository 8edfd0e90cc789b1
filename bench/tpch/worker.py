"""An in-process DuckDB side of the TPC-H bench, in a process of its own.

The driver (main.py) starts one worker per in-process side, each with the Python of the
virtualenv whose DuckDB that side needs: DuckDB 1.5.6, the release lakeflight embeds, for the
generator's files and lakeflight's files; DuckDB 1.5.5 with the iceberg extension wheel for
lakeflight's Iceberg tables (PyPI's extension wheels stop at 1.5.5, and an extension loads
only into the release it was built for). A process per side also keeps each side's caches its
own.

Protocol: one JSON object per line on stdin, one answer per line on the original stdout
(DuckDB's own output goes to stderr). Requests:
  {"op": "setup", "extensions": [path, ...], "sql": [statement, ...]}
      LOAD each extension file, run each statement; answers {"version": "v1.5.6"}
  {"op": "run", "sql": query, "save": path or null}
      run the query to an Arrow table (what a client gets); answers {"seconds": s, "rows": n},
      and writes the table to `save` (Arrow IPC file) when given
  {"op": "explain", "sql": query}
      answers {"plan": text} from EXPLAIN ANALYZE
An error answers {"error": text}; end of input ends the worker.
"""

from __future__ import annotations

import json
import os
import sys
import time

import duckdb
import pyarrow as pa


def serve(con: duckdb.DuckDBPyConnection, requests, answers) -> None:
    for line in requests:
        req = json.loads(line)
        try:
            ans = handle(con, req)
        except (duckdb.Error, OSError, pa.ArrowException) as e:
            ans = {"error": f"{type(e).__name__}: {e}"}
        answers.write(json.dumps(ans) + "\n")
        answers.flush()


def handle(con: duckdb.DuckDBPyConnection, req: dict) -> dict:
    op = req["op"]
    if op == "setup":
        for path in req.get("extensions", []):
            con.execute(f"LOAD '{path}'")
        for stmt in req.get("sql", []):
            con.execute(stmt)
        return {"version": con.execute("PRAGMA version").fetchone()[0]}
    if op == "run":
        start = time.perf_counter()
        table = con.sql(req["sql"]).to_arrow_table()
        seconds = time.perf_counter() - start
        if req.get("save"):
            with pa.OSFile(req["save"], "wb") as f, pa.ipc.new_file(f, table.schema) as w:
                w.write_table(table)
        return {"seconds": seconds, "rows": table.num_rows}
    if op == "explain":
        rows = con.execute("EXPLAIN ANALYZE " + req["sql"]).fetchall()
        return {"plan": "\n".join(str(r[-1]) for r in rows)}
    raise ValueError(f"unknown op {op!r}")


def main() -> int:
    # Answers go to the stdout we were given; anything DuckDB prints goes to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute("SET enable_progress_bar = false")
    try:
        serve(con, sys.stdin, answers)
    except ValueError as e:  # a request the driver should not have sent
        print(f"worker: {e}", file=sys.stderr)
        return 2
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
