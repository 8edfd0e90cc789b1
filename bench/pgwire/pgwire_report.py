"""The pgwire bench's report: the markdown of docs/benchmarks-pgwire.md and its chart."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import perfsplit
import readers

GOAL = 4.0  # lakeflight at least this many times faster than the fastest PostgreSQL reader


@dataclass
class Result:
    key: str
    label: str
    decoded: str
    side: str
    runs: list[readers.Read]

    @property
    def best(self) -> readers.Read:
        return min(self.runs, key=lambda r: r.seconds)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    def cpu(self, which: str) -> float:
        """Median CPU seconds over the runs."""
        return statistics.median(getattr(r, which) for r in self.runs)


def rate(n: float) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"


@dataclass
class Report:
    rows: int
    runs: int
    argv: list[str]
    date: str
    machine: dict[str, str]
    versions: dict[str, str]
    results: list[Result]
    pg_load: float
    lf_load: float
    wall: float
    profile: perfsplit.Split | None = None

    def result(self, key: str) -> Result | None:
        return next((r for r in self.results if r.key == key), None)

    def fastest_postgres(self) -> Result | None:
        pg = [r for r in self.results if r.side == "postgresql"]
        return min(pg, key=lambda r: r.best.seconds) if pg else None

    @staticmethod
    def path(r: Result) -> str:
        """A PostgreSQL reader's label without the leading "PostgreSQL, "."""
        return r.label.removeprefix("PostgreSQL, ")

    def goal_line(self) -> str:
        lf, pg = self.result("lakeflight"), self.fastest_postgres()
        if lf is None or pg is None:
            return "Goal not assessed: lakeflight or every PostgreSQL reader was left out of this run."
        n = pg.best.seconds / lf.best.seconds
        verdict = "met" if n >= GOAL else "not met"
        return (f"**Goal: lakeflight ≥ {GOAL:g}× the fastest PostgreSQL path: {verdict} (measured {n:.2f}×**, "
                f"best against best; the fastest PostgreSQL path is {self.path(pg)}, {pg.best.seconds:.2f} s)")

    def table(self) -> str:
        lf = self.result("lakeflight")
        out = ["| reader | client ends up with | best s | median s | rows/s | MB/s | client CPU s | server CPU s "
               "| × lakeflight |",
               "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in self.results:
            b = r.best
            mbs = f"{b.nbytes / b.seconds / 1e6:.0f}" if b.nbytes else "—"
            ratio = f"{b.seconds / lf.best.seconds:.2f}" if lf else "—"
            out.append(f"| {r.label} | {r.decoded} | {b.seconds:.2f} | {r.median:.2f} | {rate(self.rows / b.seconds)} "
                       f"| {mbs} | {r.cpu('client_cpu'):.2f} | {r.cpu('server_cpu'):.2f} | {ratio} |")
        return "\n".join(out)

    def where_time_goes(self) -> list[str]:
        lf, pg = self.result("lakeflight"), self.fastest_postgres()
        if lf is None:
            return []
        cores = int(self.machine["nproc"])
        srv, cli = lf.cpu("server_cpu"), lf.cpu("client_cpu")
        out = ["## Where lakeflight's time goes\n",
               f"Per read (medians): {lf.median:.2f} s wall; lakeflight's server used {srv:.2f} s of CPU and "
               f"the ADBC client {cli:.2f} s, {(srv + cli) / lf.median:.2f} of the machine's {cores} cores busy "
               "on average. " + ("The server's work is what limits the read, not the client's decoding."
                                 if srv > 1.5 * cli else "Server and client share the work about evenly.")]
        if pg is not None:
            target = pg.best.seconds / GOAL
            out.append(f"The fastest PostgreSQL path, {self.path(pg)}, spent {pg.cpu('server_cpu'):.2f} s in its one "
                       f"backend process and {pg.cpu('client_cpu'):.2f} s in the client; PostgreSQL sends a query's "
                       f"rows from that one process, so its read is bound by it. {GOAL:g}× that path is "
                       f"{target:.2f} s, {lf.best.seconds / target:.1f}× faster than lakeflight's best here.")
        out[-1] += "\n"
        if self.profile is not None:
            out.append(f"perf profile of the server over two more reads ({self.profile.samples:,} samples at "
                       f"{perfsplit.SAMPLE_HZ} Hz, call stacks; a sample counts under the first bucket any of its "
                       "frames falls in):\n")
            out.append("| where | share of server CPU | hottest function |\n|---|---:|---|\n" + "\n".join(
                f"| {name} | {share * 100:.0f}% | `{leaf[:70]}` |" for name, share, leaf in self.profile.shares)
                + "\n")
        return out

    def markdown(self, chart: str | None = None) -> str:
        m = self.machine
        parts = [
            "# lakeflight against PostgreSQL's wire protocol\n",
            "Written by `make bench-pgwire` (`bash bench/pgwire/run.sh"
            + (" " + " ".join(self.argv) if self.argv else "") + "`, part of `make bench`); "
            "re-run it when the read path changes.\n",
            "## Method\n",
            f"One table of {self.rows:,} rows (two BIGINT, a DOUBLE, a short VARCHAR, a DATE) holds the same values "
            "on both sides, those of the streaming query in [benchmarks.md](benchmarks.md): "
            "`id = i, twice = i * 2, third = i / 3.0, label = (i % 1000)::varchar, "
            "day = DATE '2020-01-01' + i % 3650`.\n",
            f"- **PostgreSQL**: Debian's server in a private cluster the bench starts (temporary data directory, "
            f"free loopback port, trust authentication, `shared_buffers` 2 GB so the table is in memory; "
            f"durability settings off, which only speeds up the load). Loaded with `generate_series`, then "
            f"`VACUUM (FREEZE, ANALYZE)`: {self.pg_load:.1f} s.",
            f"- **lakeflight**: `bin/lakeflight serve` on free loopback ports with a fresh data directory; "
            f"`CREATE TABLE bronze.t AS SELECT … FROM range(…)` over Flight SQL (one Iceberg snapshot, "
            f"Parquet files): {self.lf_load:.1f} s.\n",
            "Before any read, one row of aggregates over every column (count, sums, the date range) is "
            "compared between the two sides.\n",
            "`SELECT * FROM bronze.t` is read to the end by each reader below, every client over TCP on "
            "127.0.0.1, each run on a fresh connection. For the Python clients the clock runs from execute "
            "to the last row (connecting is not timed); psql and the lakeflight CLI are timed as whole "
            "processes (start, connect, read, exit). The psycopg COPY reads every chunk and drops it (the "
            "server sends one message a row, and psycopg hands each to Python); psql writes the stream to "
            "/dev/null. Every reader first runs once untimed with its row count and the sum of its `id` "
            "column checked (the COPY readers: the row count from the command tag and the exact size of the "
            "binary COPY stream, psql's written to a file; the CLI: its output counted from a pipe), then "
            f"{self.runs} timed round{'s' if self.runs > 1 else ''} follow with the readers' order rotating "
            "from round to round (the Python readers are checked again on every round). MB/s counts what "
            "the client holds: Arrow buffer bytes, the COPY stream's bytes, the CLI's text. Client CPU is "
            "this process's (every thread) or the child's (psql, the CLI); server CPU is lakeflight's "
            "process or the connection's PostgreSQL backend, from /proc; both are medians over the timed "
            "rounds.\n",
            "## Results\n",
            self.table() + "\n",
            self.goal_line() + "\n",
        ]
        if chart:
            parts.append(f"![seconds to read the table, per reader]({chart})\n")
        parts.extend(self.where_time_goes())
        parts += [
            "## Machine and versions\n",
            f"{m['host']}, `nproc` {m['nproc']} ({m['cpu']}), {m['mem']}, {m['os']}, Python {m['python']}; "
            f"measured {self.date}. Load average before: {m['load_before']}; after: {m['load_after']}. "
            f"The bench took {self.wall:.0f} s.\n",
            "| component | version |\n|---|---|\n"
            + "\n".join(f"| {k} | {v} |" for k, v in self.versions.items()) + "\n",
        ]
        return "\n".join(parts)

    def svg(self) -> str:
        """One bar a reader, best seconds, scaled to the slowest."""
        width, left, bar, gap, top = 780, 370, 22, 10, 40
        colors = {"lakeflight": "#3b7dd8", "postgresql": "#9aa5b1", "cli": "#8fb8ee"}
        height = top + len(self.results) * (bar + gap) + 8
        peak = max(r.best.seconds for r in self.results)
        span = width - left - 70
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               'font-family="sans-serif" font-size="12">',
               f'<text x="10" y="22" font-size="15" font-weight="bold">Reading {self.rows:,} rows: best seconds '
               '(lower is better)</text>']
        for i, r in enumerate(self.results):
            y = top + i * (bar + gap)
            w = r.best.seconds / peak * span
            label = r.label.replace("`", "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            out.append(f'<text x="10" y="{y + bar - 7}">{label}</text>')
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colors[r.side]}"/>')
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar - 7}">{r.best.seconds:.2f} s</text>')
        out.append("</svg>")
        return "\n".join(out) + "\n"
