"""tpchbench: the 22 TPC-H queries over lakeflight's Flight SQL against DuckDB in-process.

The data comes from DuckDB's tpch extension (`dbgen`, from the `duckdb-extension-tpch` wheel) at
scale factor --sf, written as one Parquet file a table: the generator's files. A lakeflight
server of its own (free loopback ports, a data directory in the work directory) loads each file
with `lakeflight ingest` into namespace tpch. Then every query runs on five sides (sides.py):
lakeflight over Flight SQL with Python ADBC and with arrow-go's client, and in-process DuckDB
on (a) the generator's files, (b) lakeflight's own data files, (c) lakeflight's Iceberg tables
through DuckDB's iceberg extension. Per query: one warm-up run on each side, whose answers are
checked against (a)'s (and (a)'s against the TPC-H reference answers, where the extension has
them for --sf), then --runs timed runs, the sides taking turns in a rotating order; the median
is reported. The report
(per-query times and ratios to (a), geometric means, the worst query, the machine and its load)
is printed and written to docs/benchmarks-tpch.md with a chart in docs/benchmarks-tpch.svg.

Run by bench/tpch/run.sh with bench/tpch/.venv's Python (DuckDB 1.5.5 with the tpch, iceberg and
avro extension wheels, ADBC); sides (a) and (b) run with bench/tpch/.venv-duckdb's (DuckDB 1.5.6,
the release lakeflight embeds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import answers
import gen
import lakeflight_server
import sides
import tpch_report
from lakeflight_server import BenchError

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SIDES = ("duckdb", "lakeflight", "lakeflight-go", "duckdb-lf-files", "duckdb-iceberg")
YARDSTICK = "duckdb"


def load(srv: lakeflight_server.Server, data: gen.Data) -> list[lakeflight_server.Ingested]:
    out = []
    for t in gen.TABLES:
        ing = srv.ingest(t, data.files[t])
        if ing.rows != data.rows[t]:
            raise BenchError(f"lakeflight ingest of {t}: {ing.rows} rows, the file has {data.rows[t]}")
        print(f"  ingested tpch.{t}: {ing.rows:,} rows in {ing.seconds:.2f} s", flush=True)
        out.append(ing)
    return out


def start_sides(args, work: Path, srv: lakeflight_server.Server, conn, data: gen.Data) -> dict:
    """The five sides, each with the eight tables under their plain names."""
    files = {t: srv.data_files(conn, t) for t in gen.TABLES}
    out = {"lakeflight": sides.Lakeflight(conn)}
    try:
        g = out["lakeflight-go"] = sides.Worker("lakeflight-go", Path(), work, argv=[str(build_goclient(args, work))])
        g.connect(srv.flight_addr, [f"USE {lakeflight_server.NAMESPACE}"])
        a = out["duckdb"] = sides.Worker("duckdb", args.duckdb_python, work)
        a.setup({t: f"read_parquet({sides.sql_string(str(f))})" for t, f in data.files.items()})
        b = out["duckdb-lf-files"] = sides.Worker("duckdb-lf-files", args.duckdb_python, work)
        b.setup({t: "read_parquet([" + ", ".join(sides.sql_string(p) for p in fs) + "])" for t, fs in files.items()})
        c = out["duckdb-iceberg"] = sides.Worker("duckdb-iceberg", Path(sys.executable), work)
        c.setup({t: f"iceberg_scan({sides.sql_string(srv.metadata_location(t))})" for t in gen.TABLES},
                extensions=(gen.extension_path("avro"), gen.extension_path("iceberg")))
    except BaseException:
        close_sides(out)
        raise
    return out


def build_goclient(args, work: Path) -> Path:
    """The arrow-go side's binary (goclient/), built into the work directory."""
    out = work / "tpch-goclient"
    proc = subprocess.run([args.go, "build", "-tags", "duckdb_arrow", "-o", str(out), "./bench/tpch/goclient"],
                          cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"building the arrow-go side: {proc.stderr.strip()}")
    return out


def close_sides(running: dict) -> None:
    for s in running.values():
        s.close()


def bench_query(nr: int, sql: str, running: dict, runs: int, reference: str | None) -> tpch_report.QueryResult:
    """Warm-up and check, then the timed runs with the sides' order rotating from run to run."""
    res = tpch_report.QueryResult(nr, {s: [] for s in SIDES}, {}, 0)
    warm = {s: running[s].run(nr, sql, keep=True) for s in SIDES}
    want = warm[YARDSTICK].table
    res.rows = want.num_rows
    if reference is not None:
        res.diffs["reference"] = answers.compare_reference(want, reference)
    for s in SIDES:
        if s != YARDSTICK:
            res.diffs[s] = answers.compare(warm[s].table, want)
    for i in range(runs):
        order = SIDES[i % len(SIDES):] + SIDES[:i % len(SIDES)]
        for s in order:
            res.seconds[s].append(running[s].run(nr, sql, keep=False).seconds)
    return res


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (default 1; 0.01 for a quick run)")
    p.add_argument("--runs", type=int, default=5, help="timed runs per query and side, after one warm-up")
    p.add_argument("--queries", default="", help="comma-separated query numbers (default: all 22)")
    p.add_argument("--bin", type=Path, default=REPO / "bin" / "lakeflight", help="the lakeflight binary")
    p.add_argument("--duckdb-python", type=Path, default=HERE / ".venv-duckdb" / "bin" / "python",
                   help="the Python whose duckdb runs sides (a) and (b) (run.sh makes it)")
    p.add_argument("--go", default="go", help="the go command that builds the arrow-go side (goclient/)")
    p.add_argument("--data", type=Path, default=None,
                   help="directory for the generator's Parquet files, reused when it holds them at --sf "
                        "(default: in the work directory)")
    p.add_argument("--out", default="docs/benchmarks-tpch.md", help="markdown report to write ('' for none); "
                   "the chart goes beside it as .svg")
    p.add_argument("--explain", default="", help="comma-separated query numbers whose EXPLAIN ANALYZE, on "
                   "lakeflight, (a) and (b), is written to the work directory (kept)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (server log and data)")
    p.add_argument("--write-queries", action="store_true", help="write queries/qNN.sql from tpch_queries() and exit")
    args = p.parse_args(argv)
    if args.write_queries:
        return args
    args.bin = args.bin.resolve()
    if args.sf <= 0 or args.runs < 1:
        p.error("--sf wants a positive number and --runs 1 or more")
    try:
        args.queries = [int(q) for q in args.queries.split(",") if q] or list(range(1, 23))
        args.explain = [int(q) for q in args.explain.split(",") if q]
    except ValueError:
        p.error("--queries and --explain want query numbers, comma-separated")
    if not all(1 <= q <= 22 for q in args.queries + args.explain):
        p.error("TPC-H queries are numbered 1 to 22")
    if not os.access(args.bin, os.X_OK):
        p.error(f"no lakeflight binary at {args.bin}: run `make build` or give --bin")
    if not os.access(args.duckdb_python, os.X_OK):
        p.error(f"no Python at {args.duckdb_python}: run bench/tpch/run.sh, which makes it")
    return args


def explain(nrs: list[int], texts: dict[int, str], running: dict, work: Path) -> None:
    for nr in nrs:
        for s in ("lakeflight", YARDSTICK, "duckdb-lf-files"):
            path = work / f"explain-q{nr:02d}-{s}.txt"
            path.write_text(running[s].explain(texts[nr]) + "\n")
            print(f"  wrote {path}")


def bench(args, work: Path, texts: dict[int, str], refs: dict[int, str]) -> tpch_report.Report:
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    print(f"generating TPC-H at SF {args.sf:g} (dbgen, DuckDB's tpch extension)", flush=True)
    data = gen.generate(args.data or work / "gen", args.sf)
    print(f"  {'reused' if data.reused else f'generated in {data.seconds:.1f} s:'} {data.dir}", flush=True)
    srv = lakeflight_server.start(args.bin, work / "lakeflight-data", work / "lakeflight.log")
    running: dict = {}
    try:
        conn = srv.connect()
        try:
            ingested = load(srv, data)
            running = start_sides(args, work, srv, conn, data)
            versions = {s: running[s].version for s in SIDES if s != "lakeflight"}
            versions["lakeflight"] = lakeflight_server.query_arrow(conn, "SELECT version() AS v").column(0)[0].as_py()
            layout = tpch_report.layout(data, {t: srv.data_files(conn, t) for t in gen.TABLES})
            results = []
            for nr in args.queries:
                r = bench_query(nr, texts[nr], running, args.runs, refs.get(nr))
                med = {s: statistics.median(v) for s, v in r.seconds.items()}
                bad = [s for s, d in r.diffs.items() if d]
                print(f"  Q{nr:02d}: " + ", ".join(f"{s} {1000 * med[s]:.0f} ms" for s in SIDES)
                      + (f"; WRONG on {', '.join(bad)}" if bad else ""), flush=True)
                results.append(r)
            if args.explain:
                explain(args.explain, texts, running, work)
        finally:
            close_sides(running)
            conn.close()
    finally:
        srv.stop()
    load_after = os.getloadavg()
    return tpch_report.Report(
        sf=args.sf, runs=args.runs, argv=sys.argv[1:], date=started.date().isoformat(),
        machine=tpch_report.machine(load_before, load_after, lakeflight_server.version(args.bin)), versions=versions,
        results=results, data=data, ingested=ingested, layout=layout, wall=time.perf_counter() - t0,
        checked_reference=bool(refs),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.write_queries:
        for path in gen.write_queries():
            print(f"wrote {path}")
        return 0
    texts = gen.queries()
    refs = gen.reference_answers(args.sf)
    work = Path(tempfile.mkdtemp(prefix="tpchbench-"))
    print(f"work directory {work}", flush=True)
    try:
        rep = bench(args, work, texts, refs)
    except BenchError as e:
        print(f"tpchbench: {e}\ntpchbench: logs and data kept in {work}", file=sys.stderr)
        return 1
    if not args.keep and not args.explain:
        shutil.rmtree(work, ignore_errors=True)
    text = rep.markdown()
    print()
    print(text)
    if args.out:
        out = Path(args.out)
        if not out.is_absolute():
            out = REPO / out
        svg = out.with_suffix(".svg")
        svg.write_text(rep.svg())
        out.write_text(rep.markdown(chart=svg.name))
        print(f"wrote {out} and {svg}")
    return 1 if rep.wrong() else 0


if __name__ == "__main__":
    sys.exit(main())
