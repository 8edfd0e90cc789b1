"""dbtbench: `dbt build` of the demo shop in lakeflight against dbt-duckdb on a local DuckDB file.

Each run starts a lakeflight server of its own (free loopback ports, a temporary data directory),
loads step 0 of the demo shop (`lakeflight demo --scale N`, about 1M bronze rows at the default
scale) and copies bronze into a DuckDB file. Both sides then run `dbt build` of the repository's
project (dbt/) with one thread: the first build, then, after demo step 1 has been loaded into
both, the incremental one. After each build their silver and gold are compared. The report gives
the wall times, their ratio, lakeflight's split (dbt / SQL / data-file write / commit), the
statements by kind and the slowest models, prints it and rewrites docs/benchmarks-dbt.md.

Run by bench/dbtbench/run.sh with e2e/.venv's Python (dbt-core, dbt-duckdb, the lakeflight
adapter, ADBC, duckdb).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import dbtrun
import reference
import report
import server
import split
from errors import BenchError

REPO = Path(__file__).resolve().parents[2]
BUILDS = ("first", "incremental")  # demo step 0, then step 1


@dataclass
class Side:
    build: dbtrun.Build
    split: split.Split


@dataclass
class BuildResult:
    label: str
    lakeflight: Side
    reference: Side
    checked: int  # values compared equal between the sides

    @property
    def ratio(self) -> float:
        return self.lakeflight.build.wall / self.reference.build.wall

    @property
    def run_phase_ratio(self) -> float:
        return self.lakeflight.build.run_phase / self.reference.build.run_phase


@dataclass
class Run:
    builds: list[BuildResult]
    bronze: list[dict[str, int]]  # rows per bronze table after each step
    duckdb_lakeflight: str


def lakeflight_build(srv: server.Server, dbt: dbtrun.Dbt, label: str) -> Side:
    """A build in lakeflight, split with the server's log records and query time of that build."""
    offset, queries = srv.log_offset(), srv.query_seconds()
    b = dbt.build(label)
    queries = srv.query_seconds() - queries
    return Side(b, split.lakeflight_split(b, srv.records(offset), queries))


def reference_build(dbt: dbtrun.Dbt, label: str) -> Side:
    b = dbt.build(label)
    return Side(b, split.reference_split(b))


def bench_once(args: argparse.Namespace, work: Path, lakeflight_first: bool) -> Run:
    work.mkdir(parents=True)
    srv = server.start(args.bin, work / "lakeflight-data", work / "lakeflight.log")
    try:
        db = work / "reference.duckdb"
        lf = dbtrun.Dbt(args.project, work / "dbt-lakeflight", dbtrun.lakeflight_profile("127.0.0.1", srv.port))
        ref = dbtrun.Dbt(args.project, work / "dbt-duckdb", dbtrun.duckdb_profile(db))
        builds, bronze = [], []
        for step, label in enumerate(BUILDS):
            server.load_demo(args.bin, srv, args.scale, step)
            bronze.append(reference.copy_bronze(srv.uri, db))
            if lakeflight_first:
                ours = lakeflight_build(srv, lf, label)
                theirs = reference_build(ref, label)
            else:
                theirs = reference_build(ref, label)
                ours = lakeflight_build(srv, lf, label)
            checked = reference.compare(reference.lakeflight_answers(srv.uri), reference.duckdb_answers(db), label)
            builds.append(BuildResult(label, ours, theirs, checked))
            print(f"  {label}: lakeflight {ours.build.wall:.1f} s, dbt-duckdb {theirs.build.wall:.1f} s, "
                  f"{checked} values equal", flush=True)
        return Run(builds, bronze, srv.duckdb_version())
    finally:
        srv.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=int, default=188,
                   help="lakeflight demo --scale (188: about 1.0M bronze rows at step 0; 1 for a quick run)")
    p.add_argument("--runs", type=int, default=3,
                   help="whole runs (fresh server and DuckDB file each); medians are reported")
    p.add_argument("--bin", type=Path, default=REPO / "bin" / "lakeflight", help="the lakeflight binary")
    p.add_argument("--project", type=Path, default=REPO / "dbt", help="the dbt project")
    p.add_argument("--out", default="docs/benchmarks-dbt.md", help="markdown report to write ('' for none)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, run_results, data)")
    args = p.parse_args(argv)
    args.bin, args.project = args.bin.resolve(), args.project.resolve()
    if args.scale < 1 or args.runs < 1:
        p.error("--scale and --runs want 1 or more")
    if not os.access(args.bin, os.X_OK):
        p.error(f"no lakeflight binary at {args.bin}: run `make build` or give --bin")
    if not dbtrun.DBT.exists():
        p.error(f"no dbt beside {sys.executable}: run with e2e/.venv/bin/python (bench/dbtbench/run.sh does)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()
    started = dt.datetime.now(dt.UTC)
    tmp = Path(tempfile.mkdtemp(prefix="dbtbench-"))
    runs = []
    try:
        for i in range(args.runs):
            print(f"run {i + 1} of {args.runs} (scale {args.scale}, in {tmp})", flush=True)
            runs.append(bench_once(args, tmp / f"run{i + 1}", lakeflight_first=i % 2 == 0))
    except BenchError as e:
        print(f"dbtbench: {e}\ndbtbench: logs, results and data kept in {tmp}", file=sys.stderr)
        return 1
    load_after = os.getloadavg()
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    rep = report.Report(
        runs=runs, builds=BUILDS, scale=args.scale, argv=sys.argv[1:], date=started.date().isoformat(),
        machine=report.machine(load_before, load_after, server.version(args.bin)),
    )
    text = rep.markdown()
    print()
    print(text)
    if args.out:
        out = Path(args.out)
        if not out.is_absolute():
            out = REPO / out
        out.write_text(text)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
