"""The dbt benchmark's report: the markdown printed at the end and written to docs/benchmarks-dbt.md.

Wall times and ratios are medians over the runs; everything split or ranked comes from one run
per build, the one whose lakeflight wall time is the median, so its parts add up.
"""

from __future__ import annotations

import importlib.metadata
import shlex
import statistics
from dataclasses import dataclass

import server
from dbtrun import QUERIES
from split import INGEST, Part, Split

METHOD = """## Method

Each run starts a lakeflight server of its own (free loopback ports, a temporary data directory,
JSON log at debug level), loads step 0 of the demo shop through the normal ingest path and copies
the three bronze tables over ADBC into a fresh DuckDB file: Arrow in, so both sides hold the same
rows with the same types. Then `dbt build` of the repository's project (`dbt/`: the seed, the
staging tables, the intermediate view, the incremental marts (merge, delete+insert, append), the
table mart, both snapshots, the unit test and the data tests) runs once with the lakeflight
adapter against the server and once with dbt-duckdb against the file: the same project and
profile name, only the target differs (`type: duckdb`, and `TimeZone: UTC` as in lakeflight's
sessions, since the project casts timestamptz to date). Then demo step 1 (one more day) is
loaded, bronze is copied again, and both sides run the incremental build. Each side keeps its
target directory between its two builds, so the second parses partially, as a developer's
would. dbt runs with one thread on both sides, so statements follow each other and the parts
below add up to the wall time. The sides take turns going first from run to run.

After every build both sides' silver and gold are summarised by the same SQL (row counts, sums
and extremes of fct_orders, daily_revenue, dim_customers, order_status_events, stg_order_items
and both snapshots, and daily_revenue row by row) and compared as text; a difference fails the
bench.

Times:
- *wall*: the dbt process from start to exit;
- *dbt start-up*: wall less the run phase (run_results.json `elapsed_time`): interpreter,
  adapter, parsing;
- *statements*: the adapter's execute calls as dbt timed them (the debug log's SQLQueryStatus).
  lakeflight runs a query only when its result is read, after execute has returned (execute is
  CreatePreparedStatement and GetFlightInfo, DoGet executes and streams), so its queries' DoGet
  time is added, from the server's `lakeflight_flightsql_query_duration_seconds` over the build;
  so is the seed's bulk ingest, as the server timed it (it is no statement);
- *dbt in the run*: the run phase less the statements: Jinja, materialisation logic, the
  relation cache, result handling; for lakeflight also the adapter's catalog calls (Flight SQL
  GetTables, GetInfo on connecting), which are not statements;
- lakeflight's statements are split by the server's log records that fall within each one (dbt
  and the server share the clock): *data-file write* and *commit* are the `write` and `commit`
  fields of "sql write committed" (INSERT, UPDATE, DELETE, MERGE, CREATE [OR REPLACE] TABLE … AS);
  the seed's ingest is *not split*; *SQL* is the rest (preparation and round trips included).
  dbt-duckdb has no server: its statements are SQL whole.
"""

NOT_REPORTED = """### What lakeflight does not report

- `lakeflight_flightsql_query_duration_seconds` times DoGet only, with no statement or query tag:
  queries can be totalled per build, not per model. Updates and preparations have their own
  histograms (`…_update_duration_seconds`, `…_prepare_duration_seconds`), also without a tag.
"""

BUILDING = ("model", "snapshot", "seed")  # resource types that build a relation
TOP = 5


def machine(load_before: tuple, load_after: tuple, lakeflight: str) -> dict[str, str]:
    def version(pkg: str) -> str:
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    return {
        **server.machine(load_before, load_after), "lakeflight": lakeflight,
        "dbt-core": version("dbt-core"), "dbt-duckdb": version("dbt-duckdb"), "duckdb": version("duckdb"),
    }


def shown_args(argv: list[str]) -> list[str]:
    """The arguments that change the figures: not where the binary is or where the report goes."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--bin", "--out"):
            skip = True
        elif not a.startswith(("--bin=", "--out=", "--keep")):
            out.append(a)
    return out


def s(x: float) -> str:
    return f"{x:.2f}"


def share(part: float, whole: float) -> str:
    return f"{part:.2f} ({100 * part / whole:.0f}%)" if whole > 0 else s(part)


@dataclass
class Report:
    runs: list  # main.Run
    builds: tuple[str, ...]
    scale: int
    argv: list[str]
    date: str
    machine: dict[str, str]

    def results(self, label: str) -> list:
        return [b for r in self.runs for b in r.builds if b.label == label]

    def median_run(self, label: str):
        """The build of the run whose lakeflight wall time is the median (the lower one of two)."""
        res = sorted(self.results(label), key=lambda b: b.lakeflight.build.wall)
        return res[(len(res) - 1) // 2]

    def markdown(self) -> str:
        parts = [self.header(), self.method(), "## Results\n", self.headline(), self.splits(), self.kinds(),
                 self.dml_phases(), self.slowest(), self.checks(), self.not_reported()]
        return "\n".join(parts)

    def header(self) -> str:
        m = self.machine
        args = shlex.join(shown_args(self.argv))
        b0, b1 = self.runs[0].bronze
        rows0, rows1 = sum(b0.values()), sum(b1.values())
        return (
            "# lakeflight dbt benchmark\n\n"
            "Written by `make bench` (`bash bench/dbtbench/run.sh`); re-run it when the SQL write path, "
            "the dbt adapter or the demo project changes.\n\n"
            f"Command: `bash bench/dbtbench/run.sh{' ' + args if args else ''}` (scale {self.scale}, "
            f"{len(self.runs)} run{'s' if len(self.runs) > 1 else ''}).\n\n"
            f"Machine: {m['host']}, {m['cores']} cores ({m['cpu']}), {m['os']}, Python {m['python']}; "
            f"lakeflight {m['lakeflight']} (DuckDB {self.runs[0].duckdb_lakeflight}), dbt-core {m['dbt-core']}, "
            f"dbt-duckdb {m['dbt-duckdb']} (DuckDB {m['duckdb']}); measured {self.date}. "
            f"Load average (1, 5, 15 min) before: {m['load_before']}, after: {m['load_after']}. "
            "The machine may be shared with other work while the bench runs.\n\n"
            f"Data: `lakeflight demo --scale {self.scale}`. Bronze after step 0: {rows0:,} rows "
            f"({', '.join(f'{t} {n:,}' for t, n in b0.items())}); after step 1: {rows1:,} "
            f"(+{rows1 - rows0:,}).\n"
        )

    def method(self) -> str:
        return METHOD

    def headline(self) -> str:
        lines = [
            "### Wall time, lakeflight against dbt-duckdb\n",
            "| build | lakeflight s | dbt-duckdb s | ratio | ratio, run phase only | lakeflight: dbt overhead | "
            "SQL | data-file write | commit | not split |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label in self.builds:
            res = self.results(label)
            m = self.median_run(label)
            sp = m.lakeflight.split
            lines.append(
                f"| {label} | {s(statistics.median(b.lakeflight.build.wall for b in res))} "
                f"| {s(statistics.median(b.reference.build.wall for b in res))} "
                f"| **{statistics.median(b.ratio for b in res):.2f}×** "
                f"| {statistics.median(b.run_phase_ratio for b in res):.2f}× "
                f"| {share(sp.startup + sp.in_run, sp.wall)} | {share(sp.statements.sql, sp.wall)} "
                f"| {share(sp.statements.write, sp.wall)} | {share(sp.statements.commit, sp.wall)} "
                f"| {share(sp.statements.unsplit, sp.wall)} |"
            )
        lines.append("")
        lines.append("Ratio: lakeflight's wall time ÷ dbt-duckdb's, the median over the runs (above 1: lakeflight is "
                     "slower); *run phase only* leaves out dbt's start-up and parsing, the same on both sides. The "
                     "split columns are lakeflight's, from its median run, in seconds and shares of its wall time; "
                     "*dbt overhead* is start-up plus dbt in the run.")
        if len(self.runs) > 1:
            for label in self.builds:
                res = self.results(label)
                lines.append(f"\n{label} build, every run: lakeflight "
                             f"{', '.join(s(b.lakeflight.build.wall) for b in res)} s; dbt-duckdb "
                             f"{', '.join(s(b.reference.build.wall) for b in res)} s.")
        return "\n".join(lines) + "\n"

    def splits(self) -> str:
        lines = [
            "### Where each side's time went (median run)\n",
            "| build | side | wall | dbt start-up | dbt in the run | statements | SQL | data-file write | commit "
            "| not split |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label in self.builds:
            m = self.median_run(label)
            for name, sp in (("lakeflight", m.lakeflight.split), ("dbt-duckdb", m.reference.split)):
                st = sp.statements
                tail = (f"{s(st.write)} | {s(st.commit)} | {s(st.unsplit)}" if name == "lakeflight" else "— | — | —")
                lines.append(f"| {label} | {name} | {s(sp.wall)} | {s(sp.startup)} | {s(sp.in_run)} "
                             f"| {s(st.seconds)} ({st.count}) | {s(st.sql)} | {tail} |")
        lines.append("\nSeconds; *statements* with their number in parentheses.")
        return "\n".join(lines) + "\n"

    def kinds(self) -> str:
        out = ["### Statements by kind (median run)\n"]
        order = ["CREATE TABLE … AS", "CREATE TEMP TABLE … AS", "CREATE VIEW", "MERGE",
                 "INSERT", "DELETE", "UPDATE", INGEST, QUERIES]
        for label in self.builds:
            m = self.median_run(label)
            lf, ref = m.lakeflight.split.kinds, m.reference.split.kinds
            names = sorted(set(lf) | set(ref), key=lambda k: (order.index(k) if k in order else len(order), k))
            out += [
                f"{label} build:\n",
                "| kind | lakeflight n | lakeflight s | SQL | data-file write | commit | not split | dbt-duckdb n "
                "| dbt-duckdb s |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for k in names:
                a, b = lf.get(k, Part()), ref.get(k, Part())
                lfcols = (f"{a.count} | {s(a.seconds)} | {s(a.sql)} | {s(a.write)} | {s(a.commit)} | {s(a.unsplit)}"
                          if a.count else "— | — | — | — | — | —")
                refcols = f"{b.count} | {s(b.seconds)}" if b.count else "— | —"
                out.append(f"| {k} | {lfcols} | {refcols} |")
            out.append("")
        out.append("The kinds differ by side because the adapters materialise differently: lakeflight's "
                   "`CREATE OR REPLACE TABLE … AS` replaces a table in one Iceberg snapshot and an incremental model "
                   "is one MERGE or INSERT; dbt-duckdb builds a `__dbt_tmp` table, renames and drops (ALTER, DROP, "
                   "counted with *other*), and stages incremental changes in a temp table first.")
        return "\n".join(out) + "\n"

    def dml_phases(self) -> str:
        lines = [
            "### lakeflight's DML phases (median run)\n",
            "From the server's \"sql write committed\" records, summed over the build's INSERT, UPDATE, DELETE and "
            "MERGE statements (seconds): *plan* locks the table and plans its snapshot, *stand-in* copies the rows "
            "the statement can touch into a TEMP table, *run* is DuckDB running the statement there, *collect* sorts "
            "the returned rows into new rows and deletes, *rewrite* is copy-on-write's reading back, *write* the "
            "data and delete files, *commit* the Iceberg commit.\n",
            "| build | statements | plan | stand-in | run | collect | rewrite | write | commit |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label in self.builds:
            sp: Split = self.median_run(label).lakeflight.split
            n = sum(p.count for k, p in sp.kinds.items() if k in ("INSERT", "UPDATE", "DELETE", "MERGE"))
            e = sp.engine
            lines.append(f"| {label} | {n} | " + " | ".join(
                s(e.get(k, 0.0)) for k in ("plan", "stand_in", "run", "collect", "rewrite", "write", "commit")) + " |")
        stray = sum(b.lakeflight.split.stray for r in self.runs for b in r.builds)
        if stray:
            lines.append(f"\n**{stray} \"sql write committed\" records fell in no statement's interval**: the split "
                         "above misses their time.")
        return "\n".join(lines) + "\n"

    def slowest(self) -> str:
        out = ["### Slowest models (median run)\n",
               "run_results.json `execution_time` of the nodes that build a relation (models, snapshots, the seed); "
               "the data tests' total below each table.\n"]
        for label in self.builds:
            m = self.median_run(label)
            sides = [m.lakeflight.build.nodes, m.reference.build.nodes]
            tops = [sorted((n for n in nodes if n.resource_type in BUILDING), key=lambda n: -n.seconds)[:TOP]
                    for nodes in sides]
            out += [f"{label} build:\n", "| # | lakeflight | s | dbt-duckdb | s |", "|---:|---|---:|---|---:|"]
            for i in range(TOP):
                cells = []
                for top in tops:
                    cells += [f"{top[i].resource_type} {top[i].name}", s(top[i].seconds)] if i < len(top) else ["", ""]
                out.append(f"| {i + 1} | " + " | ".join(cells) + " |")
            tests = [[n for n in nodes if n.resource_type in ("test", "unit_test")] for nodes in sides]
            out.append(f"\nTests: {len(tests[0])} in {s(sum(n.seconds for n in tests[0]))} s on lakeflight, "
                       f"{len(tests[1])} in {s(sum(n.seconds for n in tests[1]))} s on dbt-duckdb.\n")
        return "\n".join(out)

    def checks(self) -> str:
        checked = [b.checked for r in self.runs for b in r.builds]
        per = f"{min(checked)}" if min(checked) == max(checked) else f"{min(checked)}–{max(checked)}"
        return ("### Checks\n\n"
                f"Both sides' answers were equal after every build of every run: {per} values per build "
                f"({sum(checked)} in all) from the summaries and daily_revenue's rows.\n")

    def not_reported(self) -> str:
        return NOT_REPORTED
