r"""pgwirebench: lakeflight's Flight SQL against PostgreSQL's wire protocol, reading the same rows.

One table of --rows rows (two BIGINT, a DOUBLE, a short VARCHAR, a DATE; the values of
docs/benchmarks.md's streaming query) is made twice with the same values: in a private PostgreSQL
cluster (Debian's server, a data directory under the work directory, a free loopback port;
pgcluster.py) with generate_series, then VACUUM (FREEZE, ANALYZE); and in a lakeflight server of
its own (bench/lakeflight_proc.py) with CREATE TABLE … AS over range() through Flight SQL. Then
`SELECT * FROM bronze.t` is read to the end by lakeflight's usual Python client (ADBC,
fetch_arrow_table) and by PostgreSQL's (ADBC's PostgreSQL driver into Arrow; psql's \copy in
binary format to /dev/null; psycopg's COPY in binary format, bytes read and dropped; a psycopg
cursor's fetchall), all over TCP on 127.0.0.1, plus `lakeflight query --format csv|json` to
/dev/null. Every reader first runs once with its rows and the sum of the id column (or the COPY
stream's exact size) checked, then --runs timed rounds follow, the readers' order rotating from
round to round. Then, when perf is installed, two more lakeflight reads run under a perf profile of
the server (perfsplit.py). The report (best and median seconds, rows/s, MB/s, CPU of client and
server, the ratio to lakeflight, where lakeflight's time goes, the machine and its load) is printed
and written to docs/benchmarks-pgwire.md with a chart beside it.

Run by bench/pgwire/run.sh with bench/pgwire/.venv's Python; run.sh also owns the work directory
and stops whatever is left of the servers if this driver dies.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_postgresql
import psycopg
import pyarrow

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/: lakeflight_proc

import lakeflight_proc
import perfsplit
import pgcluster
import pgwire_report
import readers

REPO = Path(__file__).resolve().parents[2]
TABLE = "bronze.t"
QUERY = f"SELECT * FROM {TABLE}"

# The same values on both sides: docs/benchmarks.md's streaming query.
PG_LOAD = """CREATE TABLE bronze.t AS
SELECT i AS id, i * 2 AS twice, i::float8 / 3 AS third, (i % 1000)::varchar AS label,
  DATE '2020-01-01' + (i % 3650)::int AS day
FROM generate_series(0::bigint, {last}) AS g(i)"""
LF_LOAD = """CREATE TABLE bronze.t AS
SELECT i AS id, i * 2 AS twice, i::DOUBLE / 3 AS third, (i % 1000)::VARCHAR AS label,
  DATE '2020-01-01' + (i % 3650)::INTEGER AS day
FROM range({rows}) t(i)"""


# One row of aggregates over every column, valid SQL on both sides: equal answers mean equal tables.
SAME_VALUES = """SELECT count(*), sum(id), sum(twice), sum(third), sum(length(label)),
  CAST(min(day) AS VARCHAR), CAST(max(day) AS VARCHAR), sum(day - DATE '2020-01-01')
FROM bronze.t"""


class BenchError(Exception):
    pass


def copy_bytes(rows: int) -> int:
    """The size of the binary COPY stream of the table: a 19-byte header and a 2-byte trailer; a row
    is a 2-byte field count, a 4-byte length per field, 8+8+8+4 bytes of id, twice, third and day,
    and the label's digits."""
    def digits(n: int) -> int:  # the digits of 0 … n-1 written out, together
        return sum((d + 1) * (min(n, 10 ** (d + 1)) - (10 ** d if d else 0)) for d in range(len(str(max(n - 1, 0)))))
    labels = rows // 1000 * digits(1000) + digits(rows % 1000)
    return 19 + rows * (2 + 5 * 4 + 28) + labels + 2


def libpq_version() -> str:
    v = psycopg.pq.version()
    return f"{v // 10000}.{v % 10000}"


def shown_argv(argv: list[str]) -> list[str]:
    """The driver's arguments as the report shows them: without run.sh's --work."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--work":
            skip = True
        elif not a.startswith("--work="):
            out.append(a)
    return out


def load_postgres(dsn: str, rows: int) -> float:
    t0 = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA bronze")
        conn.execute(PG_LOAD.format(last=rows - 1))
        conn.execute("VACUUM (FREEZE, ANALYZE) bronze.t")
    return time.perf_counter() - t0


def load_lakeflight(uri: str, rows: int) -> float:
    t0 = time.perf_counter()
    with flightsql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(LF_LOAD.format(rows=rows))
    return time.perf_counter() - t0


def same_values(dsn: str, uri: str) -> None:
    """The two tables hold the same values, column by column (the float sum to rounding: the
    sides add in different orders)."""
    with psycopg.connect(dsn) as conn:
        pg = conn.execute(SAME_VALUES).fetchone()
    with flightsql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(SAME_VALUES)
        lf = cur.fetchone()
    def norm(v):  # sums come back as int or Decimal, depending on the side
        return int(v) if isinstance(v, int | decimal.Decimal) else str(v)

    differ = [i for i in range(len(pg)) if i != 3 and norm(pg[i]) != norm(lf[i])]
    if differ or abs(float(pg[3]) - float(lf[3])) > 1e-9 * abs(float(pg[3])):
        raise BenchError(f"the two tables differ: PostgreSQL {pg}, lakeflight {lf}")


def make_readers(args, work: Path, cluster: pgcluster.Cluster, flight: str, lf_pid: int) -> list[readers.Reader]:
    uri, dsn = f"grpc://{flight}", cluster.tcp_dsn

    def psql(check: bool) -> readers.Read:
        sink = work / "copy.bin" if check else Path(os.devnull)
        try:
            return readers.psql_copy(cluster.bin / "psql", "127.0.0.1", cluster.port, QUERY,
                                     cluster.postmaster_pid(), sink)
        finally:
            if check:
                sink.unlink(missing_ok=True)

    def cli(fmt: str):
        return lambda check: readers.lakeflight_cli(args.bin, flight, QUERY, fmt, lf_pid, check)

    R = readers.Reader
    out = [
        R("lakeflight", "lakeflight, ADBC Flight SQL `fetch_arrow_table`", "Arrow table", "lakeflight",
          lambda _: readers.lakeflight_adbc(uri, QUERY, lf_pid)),
        R("pg-adbc", "PostgreSQL, ADBC PostgreSQL `fetch_arrow_table`", "Arrow table", "postgresql",
          lambda _: readers.postgres_adbc(dsn, QUERY)),
        R("pg-psql-copy", "PostgreSQL, psql `\\copy (FORMAT binary)` > /dev/null", "nothing (bytes dropped)",
          "postgresql", psql),
        R("pg-copy-bytes", "PostgreSQL, psycopg `COPY (FORMAT binary)`, bytes only", "nothing (bytes dropped)",
          "postgresql", lambda _: readers.psycopg_copy_bytes(dsn, QUERY)),
        R("pg-fetchall", "PostgreSQL, psycopg cursor `fetchall`", "Python tuples", "postgresql",
          lambda _: readers.psycopg_fetchall(dsn, QUERY)),
        R("cli-csv", "lakeflight CLI `query --format csv` > /dev/null", "CSV text", "cli", cli("csv")),
        R("cli-json", "lakeflight CLI `query --format json` > /dev/null", "JSON text", "cli", cli("json")),
    ]
    if args.readers:
        want = set(args.readers.split(","))
        out = [r for r in out if r.key in want]
    return out


def check(r: readers.Reader, got: readers.Read, rows: int) -> None:
    if got.rows != rows:
        raise BenchError(f"{r.key}: read {got.rows} rows, the table has {rows}")
    if got.id_sum is not None and got.id_sum != rows * (rows - 1) // 2:
        raise BenchError(f"{r.key}: the ids sum to {got.id_sum}, want {rows * (rows - 1) // 2}")
    if r.key in ("pg-copy-bytes", "pg-psql-copy") and got.nbytes != copy_bytes(rows):
        raise BenchError(f"{r.key}: {got.nbytes} bytes, the binary COPY of the table is {copy_bytes(rows)}")


def warm_up(rs: list[readers.Reader], args) -> dict[str, readers.Read]:
    """Every reader once, checked: the CLI's output is counted from a pipe, psql's from a file."""
    out = {}
    for r in rs:
        got = r.run(True)
        check(r, got, args.rows)
        out[r.key] = got
        print(f"  checked {r.key}: {got.rows:,} rows in {got.seconds:.2f} s", flush=True)
    return out


def timed(rs: list[readers.Reader], args, checked: dict[str, readers.Read]) -> dict[str, list[readers.Read]]:
    """The timed rounds. The CLI's and psql's output goes to /dev/null there: their rows and bytes
    are those of their check run."""
    runs: dict[str, list[readers.Read]] = {r.key: [] for r in rs}
    for n in range(args.runs):
        order = rs[n % len(rs):] + rs[:n % len(rs)]
        for r in order:
            got = r.run(False)
            if r.side == "cli" or r.key == "pg-psql-copy":
                got.rows, got.nbytes = checked[r.key].rows, checked[r.key].nbytes
            check(r, got, args.rows)
            runs[r.key].append(got)
            print(f"  run {n + 1}/{args.runs} {r.key}: {got.seconds:.3f} s", flush=True)
    return runs


def run(args, work: Path) -> pgwire_report.Report:
    started = dt.datetime.now()
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    cluster = pgcluster.create(work)
    lf = None
    try:
        print(f"starting PostgreSQL ({cluster.bin}) on 127.0.0.1:{cluster.port}", flush=True)
        cluster.start()
        pg_load = load_postgres(cluster.tcp_dsn, args.rows)
        print(f"  loaded {TABLE}: {args.rows:,} rows in {pg_load:.1f} s (with VACUUM FREEZE, ANALYZE)", flush=True)
        lf, flight, _ = lakeflight_proc.spawn(args.bin, work / "lakeflight-data", work / "lakeflight.log", BenchError)
        (work / "lakeflight.pid").write_text(str(lf.pid))
        lf_load = load_lakeflight(f"grpc://{flight}", args.rows)
        print(f"started lakeflight on {flight}; loaded {TABLE} in {lf_load:.1f} s", flush=True)
        same_values(cluster.tcp_dsn, f"grpc://{flight}")
        print("  the two tables hold the same values", flush=True)
        rs = make_readers(args, work, cluster, flight, lf.pid)
        checked = warm_up(rs, args)
        runs = timed(rs, args, checked)
        profile = None
        if args.perf and any(r.key == "lakeflight" for r in rs) and perfsplit.available():
            print("profiling lakeflight's server over two more reads (perf)", flush=True)
            uri = f"grpc://{flight}"
            profile = perfsplit.record(lf.pid, work / "perf.data",
                                       lambda: [readers.lakeflight_adbc(uri, QUERY, lf.pid) for _ in range(2)])
        versions = {
            "PostgreSQL server": cluster.version(),
            "lakeflight": lakeflight_proc.version(args.bin),
            "adbc-driver-flightsql": adbc_driver_flightsql.__version__,
            "adbc-driver-postgresql": adbc_driver_postgresql.__version__,
            "psycopg": f"{psycopg.__version__} ({psycopg.pq.__impl__}, libpq {libpq_version()})",
            "pyarrow": pyarrow.__version__,
        }
    finally:
        if lf is not None:
            lakeflight_proc.stop(lf)
        cluster.stop()
    load_after = os.getloadavg()
    return pgwire_report.Report(
        rows=args.rows, runs=args.runs, argv=shown_argv(sys.argv[1:]), date=started.date().isoformat(),
        machine=lakeflight_proc.machine(load_before, load_after), versions=versions,
        results=[pgwire_report.Result(r.key, r.label, r.decoded, r.side, runs[r.key]) for r in rs],
        pg_load=pg_load, lf_load=lf_load, wall=time.perf_counter() - t0, profile=profile,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--runs", type=int, default=5, help="timed rounds after the checked warm-up")
    p.add_argument("--bin", type=Path, default=REPO / "bin/lakeflight")
    p.add_argument("--work", type=Path, help="work directory (default: a new temporary one, removed at the end)")
    p.add_argument("--readers", help="comma-separated subset of: lakeflight, pg-adbc, pg-copy-bytes, "
                   "pg-psql-copy, pg-fetchall, cli-csv, cli-json")
    p.add_argument("--no-perf", dest="perf", action="store_false",
                   help="leave out the perf profile of lakeflight's server (taken when perf is installed)")
    p.add_argument("--out", type=Path, default=REPO / "docs/benchmarks-pgwire.md",
                   help="the report (the chart goes beside it as .svg); '-' prints only")
    args = p.parse_args()
    if args.rows < 1 or args.runs < 1:
        p.error("--rows and --runs must be at least 1")
    args.bin = args.bin.resolve()
    if not args.bin.exists():
        p.error(f"{args.bin} does not exist (make build)")
    # SIGTERM unwinds like ^C, so the servers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = args.work or Path(tempfile.mkdtemp(prefix="lakeflight-pgwire-"))
    try:
        rep = run(args, work)
    except (BenchError, pgcluster.ClusterError, readers.ReadError) as e:
        print(f"pgwirebench: {e}", file=sys.stderr)
        return 1
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    text = rep.markdown()
    print(text)
    if str(args.out) != "-":
        svg = args.out.with_suffix(".svg")
        svg.write_text(rep.svg())
        args.out.write_text(rep.markdown(chart=svg.name))
        print(f"wrote {args.out} and {svg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

