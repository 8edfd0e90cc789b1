"""Checking answers: a side's result against the yardstick's, and the yardstick against the
TPC-H reference answers that DuckDB's tpch extension carries (scale factors 0.01, 0.1 and 1).

The rules, the same for every query:
- the same column names and types (nullability and the Arrow encoding of strings aside) and
  the same number of rows;
- rows in the same order where the query orders (all 22 TPC-H queries end in ORDER BY or return
  one row), so the rows are compared position by position;
- integers, decimals, strings and dates exactly (decimal sums are exact in DuckDB whatever the
  order of addition);
- floating-point values (averages, ratios) within a relative 1e-9: parallel aggregation adds in
  an order that depends on the files' row groups and the threads, which moves the last bits.
  Against the text of the reference answers the tolerance is 1e-6 relative, or 0.005 absolute
  for values the reference rounds to two places, as the TPC-H specification's own checks allow.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math

import pyarrow as pa

FLOAT_REL = 1e-9
REF_REL = 1e-6
MAX_SHOWN = 3  # differences listed per query


def _close(a: float, b: float, rel: float, abs_tol: float = 0.0) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


def _kind(t: pa.DataType) -> str:
    """A type with its Arrow encoding aside: string, large_string and string_view are one."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    return str(t)


def same_value(a, b) -> bool:
    """Two values of one cell: floats (or a float against a decimal) with the tolerance."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, int | float | decimal.Decimal) or not isinstance(b, int | float | decimal.Decimal):
            return False
        return _close(float(a), float(b), FLOAT_REL)
    return a == b


def compare(got: pa.Table, want: pa.Table) -> list[str]:
    """The differences between a side's answer and the yardstick's (empty: equal)."""
    if got.column_names != want.column_names:
        return [f"columns {got.column_names} != {want.column_names}"]
    types = [f"{f.name} {f.type} != {w.type}" for f, w in zip(got.schema, want.schema, strict=True)
             if _kind(f.type) != _kind(w.type)]
    if types:
        return ["column types: " + ", ".join(types)]
    if got.num_rows != want.num_rows:
        return [f"{got.num_rows} rows != {want.num_rows}"]
    out = []
    grows, wrows = got.to_pylist(), want.to_pylist()
    for i, (g, w) in enumerate(zip(grows, wrows, strict=True)):
        bad = [c for c in want.column_names if not same_value(g[c], w[c])]
        if bad:
            out.append(f"row {i + 1}: " + ", ".join(f"{c} {g[c]!r} != {w[c]!r}" for c in bad))
            if len(out) == MAX_SHOWN:
                break
    if out:
        unordered = sorted(map(repr, grows)) == sorted(map(repr, wrows))
        out.append("same rows in another order" if unordered else "")
    return [d for d in out if d]


def _same_as_text(value, text: str) -> bool:
    if value is None:
        return text in ("", "NULL")
    if isinstance(value, bool):
        return str(value).lower() == text.lower()
    if isinstance(value, int):
        return text.lstrip("-").isdigit() and value == int(text)
    if isinstance(value, decimal.Decimal | float):
        try:
            ref = float(text)
        except ValueError:
            return False
        places = len(text.split(".", 1)[1]) if "." in text else 0
        return _close(float(value), ref, REF_REL, 0.005 if places <= 2 else 0.0)
    if isinstance(value, dt.date):
        return value.isoformat() == text
    return str(value) == text


def compare_reference(got: pa.Table, answer: str) -> list[str]:
    """The differences between an answer and the extension's reference text (a header line of
    column names, then one line a row, fields separated by '|'; columns matched by position)."""
    lines = answer.split("\n")
    if lines[-1] == "":
        lines.pop()  # the text's last newline; an empty line before it is a row of one NULL
    header, rows = lines[0].split("|"), [line.split("|") for line in lines[1:]]
    if got.num_columns != len(header):  # by position: the reference names sum(l_quantity) "sum"
        return [f"columns {got.column_names} != reference {header}"]
    if got.num_rows != len(rows):
        return [f"{got.num_rows} rows != reference {len(rows)}"]
    out = []
    for i, (g, ref) in enumerate(zip(got.to_pylist(), rows, strict=True)):
        bad = [(c, t) for c, t in zip(got.column_names, ref, strict=True) if not _same_as_text(g[c], t)]
        if bad:
            out.append(f"row {i + 1}: " + ", ".join(f"{c} {g[c]!r} != reference {t!r}" for c, t in bad))
            if len(out) == MAX_SHOWN:
                break
    return out
