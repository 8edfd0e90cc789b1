"""Partition pruning (issue 13): one day of a 100-day table, partitioned by day(ts) and not.

Starts `bin/lakeflight serve` on free loopback ports with a fresh data directory, creates over
Flight SQL (ADBC) two tables of the same --rows rows spread evenly over 100 days (interleaved, as
unsorted ingest leaves them): bronze.part, PARTITIONED BY (day(ts)), and bronze.flat, not
partitioned. Then runs the same one-day aggregate on each, and the same query in-process through
DuckDB's iceberg extension (iceberg_scan of bronze.part's metadata file), --runs times each after
one untimed run, the three alternating; reports the median of each, the ratios and the answers
(which must agree), with the machine's load. Run with bench/partitions/run.sh (make bench).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import adbc_driver_flightsql.dbapi as flightsql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tpch"))
import gen  # noqa: E402  (the tpch bench's DuckDB with its extension wheels)

import lakeflight_proc  # noqa: E402

GOAL_VS_FLAT = 20.0  # the one-day query on the partitioned table, times faster than on the flat one
GOAL_VS_DUCKDB = 1.2  # at most this many times DuckDB iceberg_scan's time

SELECT = (
    "SELECT range AS id, range % 1000 AS k, (range * 7919 % 10007) / 10007.0 AS v, "
    "TIMESTAMP '2026-01-01' + INTERVAL (range % 100) DAY + INTERVAL (range % 86400) SECOND AS ts FROM range({rows})"
)
QUERY = (
    "SELECT count(*) AS n, round(sum(v), 6) AS s, max(k) AS mk FROM {t} "
    "WHERE ts >= TIMESTAMP '2026-02-10' AND ts < TIMESTAMP '2026-02-11'"
)


class BenchError(Exception):
    pass


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default="bin/lakeflight")
    ap.add_argument("--out", default="docs/benchmarks-partitions.md")
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="partbench-") as tmp:
        data = Path(tmp) / "data"
        proc, flight, _ = lakeflight_proc.spawn(Path(args.bin), data, Path(tmp) / "server.log", BenchError)
        try:
            with flightsql.connect(f"grpc://{flight}") as conn, conn.cursor() as cur:
                setup = {}
                for name, clause in (("part", " PARTITIONED BY (day(ts))"), ("flat", "")):
                    secs, _ = timed(
                        lambda n=name, c=clause: cur.execute(
                            f"CREATE TABLE bronze.{n}{c} AS " + SELECT.format(rows=args.rows)
                        )
                    )
                    cur.execute(f"SELECT count(*) AS files FROM iceberg_files('bronze.{name}')")
                    setup[name] = (secs, cur.fetchone()[0])
                db = sqlite3.connect(f"file:{data / 'catalog.db'}?mode=ro", uri=True)
                row = db.execute("SELECT metadata_location FROM iceberg_tables WHERE table_name = 'part'").fetchone()
                meta = row[0]
                db.close()
                duck = gen.connect()
                duck.execute(f"LOAD '{gen.extension_path('avro')}'")
                duck.execute(f"LOAD '{gen.extension_path('iceberg')}'")
                sides = {
                    "lakeflight, PARTITIONED BY (day(ts))": lambda: run_flight(cur, QUERY.format(t="bronze.part")),
                    "lakeflight, not partitioned": lambda: run_flight(cur, QUERY.format(t="bronze.flat")),
                    "DuckDB iceberg_scan of the partitioned table": lambda: duck.execute(
                        QUERY.format(t=f"iceberg_scan('{meta.removeprefix('file://')}')")
                    ).fetchall()[0],
                }
                times: dict[str, list[float]] = {k: [] for k in sides}
                answers = {k: fn() for k, fn in sides.items()}  # untimed first run
                # The round trip of a query that reads nothing, on the same connection: the
                # floor under any Flight SQL query's time here.
                floor: list[float] = []
                run_flight(cur, "SELECT 1")
                for r in range(args.runs):
                    order = list(sides)[r % 3 :] + list(sides)[: r % 3]
                    for k in order:
                        secs, got = timed(sides[k])
                        times[k].append(secs)
                        if tuple(got) != tuple(answers[k]):
                            raise BenchError(f"{k}: answer {got} changed from {answers[k]}")
                    floor.append(timed(lambda: run_flight(cur, "SELECT 1"))[0])
                if len({tuple(a) for a in answers.values()}) != 1:
                    raise BenchError(f"the sides disagree: {answers}")
        finally:
            lakeflight_proc.stop(proc)
    report(args, setup, times, answers, statistics.median(floor), load_before, os.getloadavg())
    return 0


def run_flight(cur, sql: str):
    cur.execute(sql)
    return cur.fetchone()


def report(args, setup, times, answers, floor, load_before, load_after) -> None:
    med = {k: statistics.median(v) for k, v in times.items()}
    part, flat, duck = (med[k] for k in times)
    vs_flat, vs_duck = flat / part, part / duck
    lines = [
        "# Partition pruning",
        "",
        "Written by `bash bench/partitions/run.sh` (part of `make bench`); re-run it when planning or the write "
        "layout changes.",
        "",
        f"Method: {args.rows:,} rows over 100 days (interleaved), created over Flight SQL twice: `bronze.part` "
        f"PARTITIONED BY (day(ts)) ({setup['part'][1]} data files, {setup['part'][0]:.1f} s) and `bronze.flat` "
        f"({setup['flat'][1]} data files, {setup['flat'][0]:.1f} s). The query, read to the end over ADBC Flight SQL "
        "(and in-process by DuckDB 1.5.5's iceberg extension on the partitioned table's metadata file), "
        f"{args.runs} timed runs each after an untimed one, the sides alternating; medians:",
        "",
        "```sql",
        QUERY.format(t="<table>"),
        "```",
        "",
        "| side | median s | answer |",
        "|---|---:|---|",
    ]
    for k in times:
        lines.append(f"| {k} | {med[k]:.4f} | {list(answers[k])} |")
    lines += [
        "",
        f"- one-day query, partitioned against not partitioned: **{vs_flat:.1f}× faster** "
        f"(goal ≥ {GOAL_VS_FLAT:.0f}×: {'met' if vs_flat >= GOAL_VS_FLAT else '**not met**'})",
        f"- lakeflight on the partitioned table against DuckDB's iceberg_scan of it: **{vs_duck:.2f}×** its time "
        f"(goal ≤ {GOAL_VS_DUCKDB}×: {'met' if vs_duck <= GOAL_VS_DUCKDB else '**not met**'})",
        f"- the round trip of `SELECT 1` on the same ADBC connection (the floor under any query's time here): "
        f"{floor:.4f} s; above it, the partitioned query takes {part - floor:.4f} s and the flat one "
        f"{flat - floor:.4f} s ({(flat - floor) / max(part - floor, 1e-9):.1f}×). At this floor the 20× goal "
        f"needs the flat query to take at least {GOAL_VS_FLAT * floor:.3f} s even if the partitioned one "
        "cost nothing more than the round trip",
        "",
        "Machine: " + json.dumps(lakeflight_proc.machine(load_before, load_after), ensure_ascii=False),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    sys.exit(main())
