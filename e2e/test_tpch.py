"""TPC-H at scale factor 0.01: the 22 queries over Flight SQL (Python ADBC) answer what DuckDB
answers in-process on the same files.

The data is tpchgen-cli's (a TPC-H generator from PyPI, pinned in requirements.txt; this
virtualenv's DuckDB has no tpch extension wheel), one Parquet file a table, loaded with
`lakeflight ingest` into namespace tpch of a server of this module's own, so its tables stay
apart from the other tests'. The query texts are DuckDB's own (bench/tpch/queries/, from
tpch_queries()), sent unchanged in a session that has said `USE tpch`. Answers are compared by
the TPC-H bench's rules (bench/tpch/answers.py): the same column names, types and rows, in order;
floating-point values within 1e-9 relative. Speed is the bench's business (make bench-tpch).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import REPO, Server, connect, start_server, stop

SF = 0.01
TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")
QUERIES = REPO / "bench" / "tpch" / "queries"
TPCHGEN = Path(sys.executable).parent / "tpchgen-cli"


def _answers():
    """bench/tpch/answers.py, the one definition of an equal answer."""
    spec = importlib.util.spec_from_file_location("tpch_answers", REPO / "bench" / "tpch" / "answers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


answers = _answers()


def query(nr: int) -> str:
    return (QUERIES / f"q{nr:02d}.sql").read_text()


@pytest.fixture(scope="module")
def tpch_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not TPCHGEN.exists():
        pytest.fail(f"no {TPCHGEN}: run `make setup` (e2e/requirements.txt pins tpchgen-cli)")
    out = tmp_path_factory.mktemp("tpch-sf0.01")
    subprocess.run([str(TPCHGEN), "parquet", "--scale-factor", str(SF), "--output-dir", str(out)],
                   check=True, capture_output=True, timeout=120)
    files = {t: out / f"{t}.parquet" for t in TABLES}
    missing = [t for t, f in files.items() if not f.exists()]
    assert not missing, f"tpchgen-cli wrote no file for {missing}"
    return files


@pytest.fixture(scope="module")
def tpch_server(tmp_path_factory: pytest.TempPathFactory, tpch_files: dict[str, Path]):
    srv = start_server(tmp_path_factory.mktemp("lakeflight-tpch"))
    try:
        with connect(srv) as conn, conn.cursor() as cur:
            cur.execute("CREATE SCHEMA tpch")
            cur.fetch_arrow_table()
        for t, f in tpch_files.items():
            proc = subprocess.run(
                [str(srv.bin), "ingest", "--server", srv.flight_addr, "--table", f"tpch.{t}", "--mode", "create",
                 "--progress", "none", str(f)],
                capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, f"lakeflight ingest of {f} failed:\n{proc.stdout}{proc.stderr}"
        yield srv
    finally:
        stop(srv)


@pytest.fixture(scope="module")
def tpch_cursor(tpch_server: Server):
    """A cursor in a session that has said USE tpch (the session is the cookie)."""
    with connect(tpch_server) as conn, conn.cursor() as cur:
        cur.execute("USE tpch")
        cur.fetch_arrow_table()
        yield cur


@pytest.fixture(scope="module")
def reference(tpch_files: dict[str, Path]):
    """DuckDB in-process, with views named after the tables over the generator's files."""
    con = duckdb.connect()
    for t, f in tpch_files.items():
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{f}')")
    yield con
    con.close()


def test_tables_loaded(tpch_cursor, reference):
    for t in TABLES:
        tpch_cursor.execute(f"SELECT count(*) AS n FROM {t}")
        got = tpch_cursor.fetch_arrow_table().column(0)[0].as_py()
        want = reference.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        assert got == want, f"tpch.{t}: {got} rows over Flight SQL, {want} in the generator's file"


@pytest.mark.parametrize("nr", range(1, 23), ids=lambda nr: f"q{nr:02d}")
def test_query(nr: int, tpch_cursor, reference):
    sql = query(nr)
    want = reference.sql(sql).to_arrow_table()
    tpch_cursor.execute(sql)
    got = tpch_cursor.fetch_arrow_table()
    diffs = answers.compare(got, want)
    assert not diffs, f"Q{nr:02d} over Flight SQL differs from DuckDB in-process:\n" + "\n".join(diffs)
    assert want.num_rows > 0, f"Q{nr:02d} answered no rows on either side: a check of nothing"
