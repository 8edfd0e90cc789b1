"""Data checks over Flight SQL: a table's row count and its columns' null rates against
thresholds, and QualityChecksOperator, which runs a list of them and fails naming each failure.

A check list is JSON (the quality DAG's default, or the Airflow Variable
``lakeflight_quality_checks``)::

    [{"table": "gold.fct_orders", "min_rows": 1, "max_null_rate": {"customer_id": 0.0}}]

Each entry is one query (one scan of the table) and gives one result per threshold, named
``row_count(gold.fct_orders) >= 1`` and ``null_rate(gold.fct_orders.customer_id) <= 0.0``. An empty
table's null rates count as 0: its row count is what fails.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from .hook import LakeflightHook

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class TableChecks:
    table: str
    min_rows: int | None
    max_null_rate: dict[str, float]


@dataclass(frozen=True)
class Result:
    name: str
    passed: bool
    observed: float | int | None
    threshold: float | int
    error: str | None = None

    def describe(self) -> str:
        if self.error:
            return f"{self.name}: could not be checked: {self.error}"
        return f"{self.name}: observed {self.observed}"

    def as_dict(self) -> dict:
        return asdict(self)


def parse(specs: list[dict]) -> list[TableChecks]:
    """Validates a check list; names must be plain identifiers (they are quoted into SQL)."""
    if not isinstance(specs, list) or not specs:
        raise ValueError("quality checks: want a non-empty JSON list of {table, min_rows, max_null_rate}")
    out = []
    for i, s in enumerate(specs):
        unknown = set(s) - {"table", "min_rows", "max_null_rate"}
        if unknown:
            raise ValueError(f"quality check {i}: unknown keys {sorted(unknown)}")
        parts = str(s.get("table", "")).split(".")
        if len(parts) != 2 or not all(NAME.match(p) for p in parts):
            raise ValueError(f"quality check {i}: table {s.get('table')!r}: want namespace.name")
        nulls = {str(k): float(v) for k, v in (s.get("max_null_rate") or {}).items()}
        for col in nulls:
            if not NAME.match(col):
                raise ValueError(f"quality check {i}: column {col!r} of {s['table']}: want a plain name")
        min_rows = s.get("min_rows")
        if min_rows is None and not nulls:
            raise ValueError(f"quality check {i} ({s['table']}) checks nothing: give min_rows or max_null_rate")
        out.append(TableChecks(s["table"], None if min_rows is None else int(min_rows), nulls))
    return out


def query_for(c: TableChecks) -> str:
    ns, name = c.table.split(".")
    cols = "".join(f', count(*) - count("{col}") AS "null_{col}"' for col in c.max_null_rate)
    return f'SELECT count(*) AS "rows"{cols} FROM "{ns}"."{name}"'


def evaluate(c: TableChecks, row: dict) -> list[Result]:
    """The results of one table's checks from its query's row."""
    rows = int(row["rows"])
    out = []
    if c.min_rows is not None:
        out.append(Result(f"row_count({c.table}) >= {c.min_rows}", rows >= c.min_rows, rows, c.min_rows))
    for col, limit in c.max_null_rate.items():
        rate = int(row[f"null_{col}"]) / rows if rows else 0.0
        out.append(Result(f"null_rate({c.table}.{col}) <= {limit}", rate <= limit, round(rate, 6), limit))
    return out


def run(hook, table_checks: list[TableChecks]) -> list[Result]:
    """Runs every table's query. A query the server refuses (no such table, no such column) fails
    that table's checks with its error, and the others still run; an unreachable server raises, for
    the task's retries."""
    from adbc_driver_manager import ProgrammingError

    results: list[Result] = []
    for c in table_checks:
        try:
            [row] = hook.query(query_for(c))
        except ProgrammingError as e:
            names = ([f"row_count({c.table}) >= {c.min_rows}"] if c.min_rows is not None else []) + [
                f"null_rate({c.table}.{col}) <= {limit}" for col, limit in c.max_null_rate.items()
            ]
            results.extend(Result(n, False, None, 0, error=str(e).splitlines()[0]) for n in names)
            continue
        results.extend(evaluate(c, row))
    return results


class QualityChecksOperator(BaseOperator):
    """Row-count and null-rate checks on tables over Flight SQL (checks.py). checks is the default
    list; the Airflow Variable named by checks_variable (JSON), when set, replaces it. Every check
    runs; the task fails naming each one that failed."""

    def __init__(
        self,
        *,
        checks: list[dict],
        checks_variable: str | None = "lakeflight_quality_checks",
        lakeflight_conn_id: str = LakeflightHook.default_conn_name,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.checks = checks
        self.checks_variable = checks_variable
        self.lakeflight_conn_id = lakeflight_conn_id

    def execute(self, context):
        specs = self.checks
        if self.checks_variable:
            from airflow.sdk import Variable

            raw = Variable.get(self.checks_variable, default=None)
            if raw:
                specs = json.loads(raw)
                self.log.info("checks from Variable %s", self.checks_variable)
        results = run(LakeflightHook(self.lakeflight_conn_id), parse(specs))
        for r in results:
            (self.log.info if r.passed else self.log.error)("%s %s", "PASS" if r.passed else "FAIL", r.describe())
        failed = [r for r in results if not r.passed]
        if failed:
            raise AirflowFailException(
                f"{len(failed)} of {len(results)} quality checks failed: " + "; ".join(r.describe() for r in failed)
            )
        return [r.as_dict() for r in results]
