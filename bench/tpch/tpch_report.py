"""The TPC-H bench's report: the markdown printed at the end and written to
docs/benchmarks-tpch.md, and its chart (docs/benchmarks-tpch.svg).

Per query and side the time is the median of the timed runs; a side's geometric mean is over
the queries' medians; a ratio is a side's time over the yardstick's, (a) DuckDB in-process on
the generator's files.
"""

from __future__ import annotations

import math
import shlex
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import lakeflight_server
import pyarrow.parquet as pq

GOAL_GEOMEAN = 1.1
GOAL_QUERY = 1.5
LABELS = {
    "duckdb": "(a) DuckDB, generator's files",
    "lakeflight": "lakeflight (Flight SQL, ADBC)",
    "lakeflight-go": "lakeflight (Flight SQL, arrow-go)",
    "duckdb-lf-files": "(b) DuckDB, lakeflight's files",
    "duckdb-iceberg": "(c) DuckDB iceberg_scan",
}

METHOD = """## Method

`dbgen` of DuckDB's tpch extension (the `duckdb-extension-tpch` wheel, loaded from its file)
makes the eight tables at the scale factor, and DuckDB writes each to one Parquet file with its
defaults (Snappy, row groups of 122,880 rows): the generator's files. A lakeflight server of its
own (free loopback ports, a fresh data directory, default settings) loads each file with
`lakeflight ingest --table tpch.<name> --mode create`, one Iceberg snapshot a table, written by
lakeflight's own Parquet writer.

The 22 queries are DuckDB's TPC-H texts (`tpch_queries()`, kept in `bench/tpch/queries/`), sent
unchanged. On lakeflight they run in a Flight SQL session (ADBC with the session cookie) that
has said `USE tpch`, so `lineitem` is `lakehouse.tpch.lineitem`. The in-process sides are views
with the tables' names in a worker process each, one DuckDB connection with its default
settings (threads = cores):

- **lakeflight**: Python ADBC (`adbc_driver_flightsql`): `cursor.execute(sql)` then
  `fetch_arrow_table()`; the whole round trip over loopback, streaming included. ADBC prepares
  the statement again only when the SQL text changes, so timed runs reuse the warm-up's
  prepared statement;
- **lakeflight, arrow-go**: arrow-go's Flight SQL client (`bench/tpch/goclient`, a Go worker
  process with the session cookie): `Execute` then `DoGet` of every endpoint, keeping every
  batch; arrow-go prepares nothing, so each run sends the query text afresh;
- **(a)**: DuckDB in-process, the release lakeflight embeds, on the generator's files
  (`read_parquet` of one file a table): the yardstick;
- **(b)**: the same DuckDB on lakeflight's own data files (`read_parquet` of the files
  `iceberg_files('tpch.<name>')` lists): (a) → (b) is the cost or gain of lakeflight's file
  layout, (b) → lakeflight that of the server, the view and the wire;
- **(c)**: DuckDB 1.5.5 (PyPI's newest extension wheels are 1.5.5) with its iceberg extension,
  `iceberg_scan` of each table's current metadata file.

In-process times are `sql(query).to_arrow_table()` in the worker: the query to an Arrow table,
what the ADBC client ends with too. The queries run in order, Q01 to Q22; per query each side
runs once to warm up (its answer is checked), then the timed runs follow, the sides taking turns
in an order that rotates from run to run, so a change in the machine's load falls on all of them.
Reported: the median of the timed runs; geometric means over the queries' medians; ratios to
(a) (above 1: slower than (a)).
"""

CHECKS = """Answers are checked on the warm-up run: each side's against (a)'s, and (a)'s against the TPC-H
reference answers that DuckDB's tpch extension carries (scale factors 0.01, 0.1 and 1). Rules
(`bench/tpch/answers.py`): the same column names and types, the same rows in the same order
(every query orders or returns one row), integers, decimals, strings and dates exactly, floating
point values within 1e-9 relative (1e-6, or 0.005 where the reference prints two places,
against the reference's text).
"""

NOT_MEASURED = """### Not measured yet

- Clients other than ADBC (Python) and arrow-go, e.g. the JDBC driver; their figures would
  differ from these by the client's own decoding work, which is small next to the queries at SF 1.
- No tuning on any side: lakeflight as `serve` starts it, DuckDB with its defaults.
"""


def machine(load_before: tuple, load_after: tuple, lakeflight: str) -> dict[str, str]:
    return {**lakeflight_server.machine(load_before, load_after), "lakeflight": lakeflight}


@dataclass
class TableLayout:
    table: str
    rows: int
    gen_bytes: int
    gen_row_groups: int
    lf_files: int
    lf_bytes: int
    lf_row_groups: int


def layout(data, lf_files: dict[str, list[str]]) -> list[TableLayout]:
    """Sizes and row groups of the generator's files and lakeflight's, table by table."""
    out = []
    for t, f in data.files.items():
        lf = [Path(p) for p in lf_files[t]]
        out.append(TableLayout(
            t, data.rows[t], f.stat().st_size, pq.ParquetFile(f).metadata.num_row_groups,
            len(lf), sum(p.stat().st_size for p in lf), sum(pq.ParquetFile(p).metadata.num_row_groups for p in lf)))
    return out


@dataclass
class QueryResult:
    nr: int
    seconds: dict[str, list[float]]  # side → timed runs
    diffs: dict[str, list[str]]  # side (or "reference") → differences from (a)'s answer
    rows: int

    def median(self, side: str) -> float:
        return statistics.median(self.seconds[side])

    def ratio(self, side: str) -> float:
        return self.median(side) / self.median("duckdb")


def geomean(xs) -> float:
    xs = list(xs)
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def ms(s: float) -> str:
    return f"{1000 * s:.0f}" if s >= 0.1 else f"{1000 * s:.1f}"


def shown_args(argv: list[str]) -> list[str]:
    """The arguments that change the figures: not where things are or where the report goes."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--bin", "--out", "--data", "--duckdb-python", "--explain"):
            skip = True
        elif not a.startswith(("--bin=", "--out=", "--data=", "--duckdb-python=", "--explain=", "--keep")):
            out.append(a)
    return out


@dataclass
class Report:
    sf: float
    runs: int
    argv: list[str]
    date: str
    machine: dict[str, str]
    versions: dict[str, str]
    results: list[QueryResult]
    data: object  # gen.Data
    ingested: list  # lakeflight_server.Ingested
    layout: list[TableLayout]
    wall: float
    checked_reference: bool
    sides: tuple[str, ...] = field(default=("duckdb", "lakeflight", "lakeflight-go", "duckdb-lf-files",
                                             "duckdb-iceberg"))

    def wrong(self) -> list[tuple[int, str, list[str]]]:
        return [(r.nr, s, d) for r in self.results for s, d in r.diffs.items() if d]

    def geomeans(self) -> dict[str, float]:
        return {s: geomean(r.median(s) for r in self.results) for s in self.sides}

    def markdown(self, chart: str | None = None) -> str:
        parts = [self.header(), self.goal(), METHOD, "## Results\n", self.per_query(), self.summary()]
        if chart:
            parts.append(f"![TPC-H per query, lakeflight against (a)]({chart})\n")
        parts += [self.checks(), self.data_section(), NOT_MEASURED]
        return "\n".join(parts)

    def header(self) -> str:
        m, v = self.machine, self.versions
        args = shlex.join(shown_args(self.argv))
        return (
            "# lakeflight TPC-H benchmark\n\n"
            "Written by `make bench-tpch` (`bash bench/tpch/run.sh`); re-run it when the query path changes.\n\n"
            f"Command: `bash bench/tpch/run.sh{' ' + args if args else ''}` (SF {self.sf:g}, "
            f"{self.runs} timed runs a query and side after one warm-up, "
            f"{len(self.results)} queries; the bench took {self.wall / 60:.1f} min).\n\n"
            f"Machine: {m['host']}, {m['cores']} cores ({m['cpu']}), {m['mem']}, {m['os']}, Python {m['python']}; "
            f"measured {self.date}. Load average (1, 5, 15 min) before: {m['load_before']}, after: "
            f"{m['load_after']}. The machine may be shared with other work while the bench runs.\n\n"
            f"Versions: lakeflight {m['lakeflight']}, embedding DuckDB {v['lakeflight']} (`SELECT version()` over "
            f"Flight SQL), read by ADBC and by {v['lakeflight-go']}; in-process DuckDB {v['duckdb']} for (a) and (b), "
            f"{v['duckdb-iceberg']} with the iceberg extension for (c).\n"
        )

    def goal(self) -> str:
        g = self.geomeans()
        gr = g["lakeflight"] / g["duckdb"]
        worst = max(self.results, key=lambda r: r.ratio("lakeflight"))
        over = [r for r in self.results if r.ratio("lakeflight") > GOAL_QUERY]
        met = gr <= GOAL_GEOMEAN and not over
        lines = [
            f"**Goal (issue 12): lakeflight within {GOAL_GEOMEAN}× of (a) on the geometric mean and no query above "
            f"{GOAL_QUERY}×: {'met' if met else 'not met'}.** Geometric mean {gr:.2f}× "
            f"({ms(g['lakeflight'])} ms against {ms(g['duckdb'])} ms); worst query Q{worst.nr:02d} at "
            f"{worst.ratio('lakeflight'):.2f}×; "
            + (f"{len(over)} quer{'y' if len(over) == 1 else 'ies'} above {GOAL_QUERY}×: "
               + ", ".join(f"Q{r.nr:02d} {r.ratio('lakeflight'):.2f}×" for r in over) if over
               else f"no query above {GOAL_QUERY}×") + ".",
        ]
        go = g["lakeflight-go"] / g["duckdb"]
        worst_go = max(self.results, key=lambda r: r.ratio("lakeflight-go"))
        lines.append(f"\nThrough arrow-go's client: geometric mean {go:.2f}×, worst query Q{worst_go.nr:02d} at "
                     f"{worst_go.ratio('lakeflight-go'):.2f}×.")
        wrong = self.wrong()
        lines.append("\n**Answers: " + ("all equal" if not wrong else f"{len(wrong)} differ (see Checks)") + ".**\n")
        return "\n".join(lines)

    def per_query(self) -> str:
        lines = [
            "### Per query (median ms; ratio to (a))\n",
            "| query | rows | " + " | ".join([LABELS["duckdb"]] + [f"{LABELS[s]} | ratio" for s in self.sides[1:]])
            + " | lakeflight ÷ (b) |",
            "|---|---:|---:|" + "---:|---:|" * len(self.sides[1:]) + "---:|",
        ]
        for r in self.results:
            cells = [ms(r.median("duckdb"))]
            for s in self.sides[1:]:
                ratio = f"{r.ratio(s):.2f}×"
                if s == "lakeflight" and r.ratio(s) > GOAL_QUERY:
                    ratio = f"**{ratio}**"
                cells += [ms(r.median(s)), ratio]
            cells.append(f"{r.median('lakeflight') / r.median('duckdb-lf-files'):.2f}×")
            lines.append(f"| Q{r.nr:02d} | {r.rows:,} | " + " | ".join(cells) + " |")
        for name, v in (("geometric mean", self.geomeans()),
                        ("sum", {s: sum(r.median(s) for r in self.results) for s in self.sides})):
            cells = [ms(v["duckdb"])] + [c for s in self.sides[1:] for c in (ms(v[s]), f"{v[s] / v['duckdb']:.2f}×")]
            cells.append(f"{v['lakeflight'] / v['duckdb-lf-files']:.2f}×")
            lines.append(f"| {name} | | " + " | ".join(cells) + " |")
        lines.append("\n*lakeflight ÷ (b)*: the same files, read by the same DuckDB release; what remains is the "
                     "server's (the view lakeflight binds, its settings, Flight SQL and the client).")
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        out = []
        for s in self.sides[1:]:
            ratios = sorted(((r.ratio(s), r.nr) for r in self.results), reverse=True)
            out.append(f"- {LABELS[s]}: worst " + ", ".join(f"Q{n:02d} {x:.2f}×" for x, n in ratios[:3])
                       + f"; best Q{ratios[-1][1]:02d} {ratios[-1][0]:.2f}×.")
        spread = max((max(v) - min(v)) / statistics.median(v) for r in self.results for v in r.seconds.values())
        out.append(f"\nThe widest spread of one query's timed runs on one side (max − min over median) was "
                   f"{100 * spread:.0f}%.")
        return "\n".join(out) + "\n"

    def checks(self) -> str:
        out = ["### Checks\n", CHECKS]
        wrong = self.wrong()
        ref = ("(a)'s answers equal the TPC-H reference answers" if self.checked_reference
               else f"there are no reference answers at SF {self.sf:g} (only at 0.01, 0.1 and 1)")
        if not wrong:
            out.append(f"Every side's answer equals (a)'s on all {len(self.results)} queries, and {ref}.\n")
        else:
            out.append("**Differences** (any query and side not listed: equal; *reference*: (a) against the "
                       "TPC-H reference answers):\n")
            for nr, side, d in wrong:
                out.append(f"- Q{nr:02d}, {side}: " + "; ".join(d))
            out.append("")
        return "\n".join(out)

    def data_section(self) -> str:
        ing = {i.table: i for i in self.ingested}
        lines = [
            "### Data\n",
            f"dbgen at SF {self.sf:g}: {sum(t.rows for t in self.layout):,} rows"
            + (f", generated and written in {self.data.seconds:.1f} s" if not self.data.reused else "")
            + f". Loaded into lakeflight in {sum(i.seconds for i in self.ingested):.1f} s "
            "(the `lakeflight ingest` processes, start to exit).\n",
            "| table | rows | generator's file MB | row groups | lakeflight files | MB | row groups | ingest s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for t in self.layout:
            lines.append(f"| {t.table} | {t.rows:,} | {t.gen_bytes / 1e6:.1f} | {t.gen_row_groups} | {t.lf_files} "
                         f"| {t.lf_bytes / 1e6:.1f} | {t.lf_row_groups} | {ing[t.table].seconds:.2f} |")
        return "\n".join(lines) + "\n"

    def svg(self) -> str:
        """Per query, lakeflight's bar over (a)'s, each scaled to the slowest query of either."""
        width, left, bar, gap, top = 640, 48, 10, 8, 58
        colors = {"lakeflight": "#3b7dd8", "duckdb": "#9aa5b1"}
        height = top + len(self.results) * (2 * bar + gap) + 8
        peak = max(r.median(s) for r in self.results for s in colors)
        span = width - left - 120
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               'font-family="sans-serif" font-size="12">',
               f'<text x="10" y="20" font-size="15" font-weight="bold">TPC-H SF {self.sf:g}: median ms per query '
               '(lower is better)</text>']
        for i, (s, c) in enumerate(colors.items()):
            x = 10 + i * 260
            out.append(f'<rect x="{x}" y="32" width="12" height="12" fill="{c}"/>')
            out.append(f'<text x="{x + 18}" y="43">{LABELS[s]}</text>')
        for i, r in enumerate(self.results):
            y = top + i * (2 * bar + gap)
            out.append(f'<text x="10" y="{y + bar + 4}">Q{r.nr:02d}</text>')
            for j, s in enumerate(("lakeflight", "duckdb")):
                w = r.median(s) / peak * span
                yy = y + j * bar
                out.append(f'<rect x="{left}" y="{yy}" width="{w:.1f}" height="{bar - 1}" fill="{colors[s]}"/>')
                label = f"{ms(r.median(s))} ms" + (f" ({r.ratio(s):.2f}×)" if s == "lakeflight" else "")
                out.append(f'<text x="{left + w + 4:.1f}" y="{yy + bar - 1}" font-size="10">{label}</text>')
        out.append("</svg>")
        return "\n".join(out) + "\n"
