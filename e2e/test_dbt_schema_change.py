"""dbt's on_schema_change on lakeflight: an incremental model whose columns change between
runs evolves its Iceberg table through ALTER TABLE, or fails when told to.

A tiny project is written per test module: one source table made over ADBC and one
incremental model whose column list comes from a dbt var, so each run can add or remove
columns without editing files. Every outcome is read back over ADBC: the table's columns,
its rows (old rows keep NULL in an added column), and its snapshot history.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import connect, start_server, stop

DBT = Path(sys.executable).parent / "dbt"

MODEL = """\
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='id',
    on_schema_change=var('mode'),
) }}
select id, {{ var('columns') }}
from bronze.events
{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}
"""


class Project:
    def __init__(self, root: Path, port: int):
        self.root = root
        (root / "models").mkdir(parents=True)
        (root / "dbt_project.yml").write_text(
            textwrap.dedent(
                """\
                name: schema_change
                version: "1.0"
                profile: schema_change
                models:
                  schema_change:
                    +schema: silver
                """
            )
        )
        (root / "macros").mkdir()
        # The schema is the one configured, not <target schema>_<schema>.
        (root / "macros" / "schema.sql").write_text(
            "{% macro generate_schema_name(custom, node) %}{{ custom or target.schema }}{% endmacro %}\n"
        )
        (root / "models" / "evolving.sql").write_text(MODEL)
        (root / "profiles.yml").write_text(
            textwrap.dedent(
                f"""\
                schema_change:
                  target: dev
                  outputs:
                    dev:
                      type: lakeflight
                      host: 127.0.0.1
                      port: {port}
                      schema: silver
                      threads: 1
                """
            )
        )

    def run(self, mode: str, columns: str, ok: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "LAKEFLIGHT_"))}
        env.update(DO_NOT_TRACK="1", DBT_USE_COLORS="false")
        proc = subprocess.run(
            [str(DBT), "run", "--profiles-dir", str(self.root), "--vars", f"{{mode: '{mode}', columns: '{columns}'}}"],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if ok:
            assert proc.returncode == 0, f"dbt run exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        return proc


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    if not DBT.exists():
        pytest.fail(f"no dbt at {DBT}: run e2e/run.sh, which installs dbt and the adapter into the venv")
    srv = start_server(tmp_path_factory.mktemp("schema-change-data"))
    try:
        yield srv
    finally:
        stop(srv)


def add_events(server, first: int, last: int) -> None:
    with connect(server) as conn, conn.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS bronze")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bronze.events (id BIGINT, kind VARCHAR, amount DECIMAL(10,2), note VARCHAR)"
        )
        cur.execute(
            "INSERT INTO bronze.events SELECT i, 'k' || (i % 3), i * 1.5, 'n' || i "
            f"FROM range({first}, {last + 1}) r(i)"
        )


def columns(cur, table: str) -> list[tuple[str, str]]:
    cur.execute(f"DESCRIBE {table}")
    return [(r[0], r[1]) for r in cur.fetchall()]


def table_rows(cur, sql: str) -> list[tuple]:
    cur.execute(sql)
    return sorted(cur.fetchall(), key=lambda r: r[0])


def test_append_new_columns_then_sync_all_columns(lake, tmp_path):
    server = lake
    add_events(server, 1, 3)
    project = Project(tmp_path / "project", int(server.flight_addr.rsplit(":", 1)[1]))
    project.run("append_new_columns", "kind")

    # A new column in the model: added to the table, NULL in the rows built before.
    add_events(server, 4, 5)
    project.run("append_new_columns", "kind, amount")
    with connect(server) as conn, conn.cursor() as cur:
        assert columns(cur, "silver.evolving") == [("id", "BIGINT"), ("kind", "VARCHAR"), ("amount", "DECIMAL(10,2)")]
        got = table_rows(cur, "SELECT id, kind, amount::VARCHAR FROM silver.evolving")
        assert got == [
            (1, "k1", None),
            (2, "k2", None),
            (3, "k0", None),
            (4, "k1", "6.00"),
            (5, "k2", "7.50"),
        ]

    # append_new_columns never drops: a column the model no longer selects stays, NULL for new rows.
    add_events(server, 6, 6)
    project.run("append_new_columns", "amount")
    with connect(server) as conn, conn.cursor() as cur:
        assert [c for c, _ in columns(cur, "silver.evolving")] == ["id", "kind", "amount"]
        assert table_rows(cur, "SELECT id, kind, amount::VARCHAR FROM silver.evolving WHERE id = 6") == [
            (6, None, "9.00")
        ]

    # sync_all_columns: the table's columns become the model's (kind dropped, note added).
    add_events(server, 7, 7)
    project.run("sync_all_columns", "amount, note")
    with connect(server) as conn, conn.cursor() as cur:
        assert columns(cur, "silver.evolving") == [("id", "BIGINT"), ("amount", "DECIMAL(10,2)"), ("note", "VARCHAR")]
        got = table_rows(cur, "SELECT id, amount::VARCHAR, note FROM silver.evolving")
        assert got[-2:] == [(6, "9.00", None), (7, "10.50", "n7")]
        assert len(got) == 7
        # The rows before the changes are still there to read, with the columns they had.
        cur.execute(
            "SELECT count(*) FROM iceberg_snapshots('silver.evolving') "
            "WHERE summary['lakeflight.sql.statement'] = 'MERGE'"
        )
        assert cur.fetchone()[0] == 3  # one snapshot per incremental build (ALTERs change only the schema)


def test_fail_refuses_a_changed_model_and_keeps_the_table(lake, tmp_path):
    server = lake
    with connect(server) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS silver.evolving")
    add_events(server, 100, 101)
    project = Project(tmp_path / "project", int(server.flight_addr.rsplit(":", 1)[1]))
    project.run("fail", "kind")
    with connect(server) as conn, conn.cursor() as cur:
        before = table_rows(cur, "SELECT * FROM silver.evolving")
        cur.execute("SELECT count(*) FROM iceberg_snapshots('silver.evolving')")
        snapshots_before = cur.fetchone()[0]

    add_events(server, 102, 102)
    proc = project.run("fail", "kind, note", ok=False)
    assert proc.returncode != 0
    assert "on_schema_change" in proc.stdout and "evolving" in proc.stdout, proc.stdout
    with connect(server) as conn, conn.cursor() as cur:
        assert [c for c, _ in columns(cur, "silver.evolving")] == ["id", "kind"]
        assert table_rows(cur, "SELECT * FROM silver.evolving") == before
        cur.execute("SELECT count(*) FROM iceberg_snapshots('silver.evolving')")
        assert cur.fetchone()[0] == snapshots_before
