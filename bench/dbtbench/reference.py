"""The reference side: lakeflight's bronze copied into a local DuckDB file, and the answers compared.

The bronze tables are read from lakeflight over ADBC and written into the file by DuckDB from the
Arrow stream, so both sides hold the same rows with the same types (nested lists and structs,
timestamptz, decimals). After the next demo step the bronze tables are copied again whole: what
the incremental models see is the same rows either way.

A benchmark of wrong answers is worthless, so after every build both sides' silver and gold are
summarised by the same SQL (counts, sums, extremes, and daily_revenue row by row) and compared as
text.
"""

from __future__ import annotations

from pathlib import Path

import adbc_driver_flightsql.dbapi as flight_sql
import duckdb

from errors import BenchError

BRONZE = ("customers", "products", "orders")

# table → what is compared; every value is cast to text so the comparison is exact.
SUMMARIES = {
    "gold.fct_orders": ["count(*)", "sum(net_amount)", "sum(gross_amount)", "sum(item_count)",
                        "count(*) FILTER (WHERE counts_as_revenue)", "count(DISTINCT customer_id)",
                        "min(order_date)", "max(updated_at)"],
    "gold.daily_revenue": ["count(*)", "sum(revenue)", "sum(orders)", "sum(lost_orders)", "max(last_change)"],
    "gold.dim_customers": ["count(*)", "sum(lifetime_value)", "sum(orders)", "count(first_order_on)",
                           "max(last_order_on)"],
    "gold.order_status_events": ["count(*)", "count(DISTINCT order_id)", "max(reported_at)"],
    "silver.customers_history": ["count(*)", "count(dbt_valid_to)", "count(DISTINCT customer_id)"],
    "silver.products_history": ["count(*)", "count(dbt_valid_to)"],
    "silver.stg_order_items": ["count(*)", "sum(quantity)", "sum(unit_price)"],
}
ROWS = {
    "gold.daily_revenue": "SELECT CAST(order_date AS VARCHAR), CAST(orders AS VARCHAR), CAST(revenue AS VARCHAR), "
    "CAST(lost_orders AS VARCHAR) FROM gold.daily_revenue ORDER BY order_date",
}


def summary_sql(table: str, exprs: list[str]) -> str:
    return "SELECT " + ", ".join(f"CAST({e} AS VARCHAR)" for e in exprs) + f" FROM {table}"


def answers(fetch) -> dict[str, list]:
    """The summaries and rows of the compared tables, through fetch(sql) → list of tuples."""
    out = {t: [list(r) for r in fetch(summary_sql(t, exprs))] for t, exprs in SUMMARIES.items()}
    out |= {f"{t} (rows)": [list(r) for r in fetch(sql)] for t, sql in ROWS.items()}
    return out


def lakeflight_answers(uri: str) -> dict[str, list]:
    with flight_sql.connect(uri, autocommit=True) as conn:
        def fetch(sql):
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        return answers(fetch)


def duckdb_answers(path: Path) -> dict[str, list]:
    with duckdb.connect(str(path), read_only=True) as db:
        db.execute("SET TimeZone = 'UTC'").fetchall()
        return answers(lambda sql: db.execute(sql).fetchall())


def compare(lakeflight: dict[str, list], reference: dict[str, list], label: str) -> int:
    """Raise BenchError naming every table whose answers differ; return how many values matched."""
    diffs = [f"  {t}: lakeflight {lakeflight[t][:5]} / dbt-duckdb {reference.get(t, [])[:5]}"
             for t in lakeflight if lakeflight[t] != reference.get(t)]
    if diffs:
        raise BenchError(f"the {label} build's answers differ between lakeflight and dbt-duckdb:\n" + "\n".join(diffs))
    return sum(len(row) for rows in lakeflight.values() for row in rows)


def copy_bronze(uri: str, path: Path) -> dict[str, int]:
    """Replace the bronze tables in the DuckDB file at path with lakeflight's; return their row counts."""
    counts = {}
    with flight_sql.connect(uri, autocommit=True) as conn, duckdb.connect(str(path)) as db:
        db.execute("CREATE SCHEMA IF NOT EXISTS bronze").fetchall()
        for table in BRONZE:
            with conn.cursor() as cur:
                cur.execute(f"SELECT * FROM bronze.{table}")
                stream = cur.fetch_record_batch()
                db.register("bronze_stream", stream)
                db.execute(f"CREATE OR REPLACE TABLE bronze.{table} AS SELECT * FROM bronze_stream").fetchall()
                db.unregister("bronze_stream")
                cur.execute(f"SELECT count(*) FROM bronze.{table}")
                counts[table] = cur.fetchone()[0]
            copied = db.execute(f"SELECT count(*) FROM bronze.{table}").fetchall()[0][0]
            if copied != counts[table]:
                raise BenchError(f"bronze.{table}: {copied} rows copied into DuckDB, lakeflight has {counts[table]}")
        db.execute("CHECKPOINT").fetchall()
    return counts
