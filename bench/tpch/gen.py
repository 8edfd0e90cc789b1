"""TPC-H data and queries from DuckDB's tpch extension (the `duckdb-extension-tpch` wheel, loaded
from its file: nothing is downloaded).

`dbgen` writes the eight tables at a scale factor into an in-memory DuckDB, which copies each to
one Parquet file (DuckDB's defaults: Snappy, row groups of 122,880 rows): the generator's files,
which the yardstick side reads and `lakeflight ingest` loads. The 22 query texts are
`tpch_queries()`, kept in queries/qNN.sql so that the end-to-end test (whose DuckDB has no tpch
wheel) runs the same texts; the bench stops if the two differ. `tpch_answers()` holds the TPC-H
reference answers at scale factors 0.01, 0.1 and 1.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")
QUERIES_DIR = Path(__file__).resolve().parent / "queries"
STAMP = "dbgen.sf"  # in the data directory: the scale factor its files were made at


def extension_path(name: str) -> Path:
    """The extension file in the `duckdb-extension-<name>` wheel for this DuckDB release."""
    module = importlib.import_module(f"duckdb_extension_{name}")
    path = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the duckdb-extension-{name} wheel does not match duckdb {duckdb.__version__}")
    return path


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    con.execute("SET enable_progress_bar = false")
    con.execute(f"LOAD '{extension_path('tpch')}'")
    return con


@dataclass
class Data:
    dir: Path
    files: dict[str, Path]
    rows: dict[str, int]
    seconds: float  # dbgen and the Parquet copies; 0 when the files were already there
    reused: bool


def generate(out: Path, sf: float) -> Data:
    """The tables at scale factor sf as out/<table>.parquet, reused when out holds them at sf."""
    out.mkdir(parents=True, exist_ok=True)
    files = {t: out / f"{t}.parquet" for t in TABLES}
    stamp = out / STAMP
    reused = stamp.exists() and stamp.read_text().strip() == repr(sf) and all(f.exists() for f in files.values())
    start = time.perf_counter()
    if not reused:
        stamp.unlink(missing_ok=True)
        con = connect()
        try:
            con.execute(f"CALL dbgen(sf = {sf!r})")
            for t, f in files.items():
                con.execute(f"COPY {t} TO '{f}' (FORMAT parquet)")
        finally:
            con.close()
        stamp.write_text(repr(sf) + "\n")
    seconds = 0.0 if reused else time.perf_counter() - start
    con = duckdb.connect()
    try:
        rows = {t: con.execute(f"SELECT count(*) FROM read_parquet('{f}')").fetchone()[0] for t, f in files.items()}
    finally:
        con.close()
    return Data(out, files, rows, seconds, reused)


def query_file(nr: int) -> Path:
    return QUERIES_DIR / f"q{nr:02d}.sql"


def queries() -> dict[int, str]:
    """The 22 query texts from tpch_queries(), checked against queries/qNN.sql."""
    con = connect()
    try:
        texts = dict(con.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY query_nr").fetchall())
    finally:
        con.close()
    stale = [nr for nr, q in texts.items() if not query_file(nr).exists() or query_file(nr).read_text() != q]
    if stale:
        raise ValueError(f"queries/ differs from tpch_queries() for {stale}: run main.py --write-queries")
    return texts


def write_queries() -> list[Path]:
    con = connect()
    try:
        texts = con.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY query_nr").fetchall()
    finally:
        con.close()
    QUERIES_DIR.mkdir(exist_ok=True)
    for nr, q in texts:
        query_file(nr).write_text(q)
    return [query_file(nr) for nr, _ in texts]


def reference_answers(sf: float) -> dict[int, str]:
    """tpch_answers() at sf (empty when the extension has none at that scale factor)."""
    con = connect()
    try:
        rows = con.execute("SELECT query_nr, answer FROM tpch_answers() WHERE scale_factor = ?", [sf]).fetchall()
    finally:
        con.close()
    return dict(rows)
