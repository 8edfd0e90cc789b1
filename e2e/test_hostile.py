"""Hostile and broken input (issue 10): nothing poisons a table, nothing is silently cut short,
nothing runs forever or eats the machine.

Each case goes through the real doors — `POST /ingest` on the sidecar, `lakeflight ingest` (client-side
parsing, Flight DoPut), ADBC `adbc_ingest` and Flight SQL queries — and checks the precise status and
message, that nothing was committed where it should not be (the table is absent for lakeflight, for
the snapshot routes and for pyiceberg), and that every table that was committed reads the same
through lakeflight (`SELECT *`) and through pyiceberg, every row.

Servers: the session's shared `server` where shared state is fine; `limits` (one per module) with
small `--max-ingest-bytes`, `--max-ingest-decompressed-bytes` and `--max-sql-bytes`; and short-lived
servers of their own for the RSS measurements and for SIGTERM.

Cases that show a bug are marked xfail(strict=True) with the bug in the reason: they assert the
correct behaviour and turn into failures once it is fixed (remove the mark then).
"""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import io
import json
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import adbc_driver_manager.dbapi as dbapi
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from conftest import Server, connect, start_server, stop
from test_cancel import SLOW_SQL, cpu_seconds

# ---------------------------------------------------------------------------------------------------
# Helpers: names, the doors, the two readers


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def split(table: str) -> tuple[str, str]:
    ns, name = table.split(".", 1)
    return ns, name


def sql_name(table: str) -> str:
    ns, name = split(table)
    return f'{ns}."{name.replace(chr(34), chr(34) * 2)}"'


def load_json(raw: bytes) -> dict:
    try:
        out = json.loads(raw or b"{}")
    except ValueError:
        return {"raw": raw.decode(errors="replace")}
    return out if isinstance(out, dict) else {"json": out}


def http_request(
    server: Server,
    method: str,
    path: str,
    body: bytes | Iterable[bytes] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 120,
) -> tuple[int, dict]:
    """One HTTP request on its own connection. A server that answers before reading the whole body
    (413) may close while the body is still being sent: the answer is read all the same."""
    conn = http.client.HTTPConnection(server.http_addr, timeout=timeout)
    try:
        try:
            conn.request(method, path, body=body, headers=headers or {})
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = conn.getresponse()
        return resp.status, load_json(resp.read())
    finally:
        conn.close()


def multipart(files: list[tuple[str, bytes]], content_type: str = "application/octet-stream") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for filename, data in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def post_file(server: Server, query: str, filename: str, data: bytes, headers: dict | None = None) -> tuple[int, dict]:
    """POST /ingest with one multipart part named file."""
    body, ctype = multipart([(filename, data)])
    return http_request(server, "POST", f"/ingest?{query}", body, {"Content-Type": ctype, **(headers or {})})


def post_raw(server: Server, query: str, body, content_type: str, headers: dict | None = None) -> tuple[int, dict]:
    """POST /ingest with the file as the body (an iterable body goes chunked, without Content-Length)."""
    return http_request(server, "POST", f"/ingest?{query}", body, {"Content-Type": content_type, **(headers or {})})


def cli(server: Server, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(server.bin), "ingest", "--server", server.flight_addr, "--progress", "none", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_json(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, f"lakeflight ingest exited {proc.returncode}: {proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fetch(server: Server, sql: str) -> pa.Table:
    with connect(server) as c, c.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


_catalogs: dict[Path, SqlCatalog] = {}


def open_catalog(server: Server) -> SqlCatalog:
    """pyiceberg's SqlCatalog on the server's catalog.db (as test_pyiceberg.py opens it)."""
    if server.data_dir not in _catalogs:
        _catalogs[server.data_dir] = SqlCatalog(
            "lakehouse",
            uri=f"sqlite:///{server.data_dir / 'catalog.db'}",
            warehouse=f"file://{server.warehouse}",
        )
    return _catalogs[server.data_dir]


def plain(v):
    """A value both readers give alike: aware datetimes as naive UTC, containers recursively."""
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def table_rows(t: pa.Table) -> list[dict]:
    return sorted((plain(r) for r in t.to_pylist()), key=repr)


def assert_readable(server: Server, table: str, want: list[dict] | None = None) -> list[dict]:
    """SELECT * through lakeflight and a full scan through pyiceberg give the same rows (and want)."""
    ours = fetch(server, f"SELECT * FROM {sql_name(table)}")
    theirs = open_catalog(server).load_table(split(table)).scan().to_arrow()
    assert ours.column_names == theirs.column_names, table
    got = table_rows(ours)
    assert got == table_rows(theirs), f"{table}: lakeflight and pyiceberg read different rows"
    if want is not None:
        assert got == sorted(want, key=repr), table
    return got


def assert_absent(server: Server, table: str) -> None:
    """No such table for Flight SQL, for the snapshot routes and for pyiceberg."""
    with pytest.raises(dbapi.Error, match="does not exist"):
        fetch(server, f"SELECT * FROM {sql_name(table)}")
    ns, name = split(table)
    status, body = http_request(
        server, "GET", f"/v1/tables/{urllib.parse.quote(ns, safe='')}/{urllib.parse.quote(name, safe='')}/snapshots"
    )
    assert status == 404, body
    assert not open_catalog(server).table_exists((ns, name)), f"pyiceberg sees {table}"


def snapshot_count(server: Server, table: str) -> int:
    return len(open_catalog(server).load_table(split(table)).snapshots())


def rss_mib(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


@pytest.fixture(scope="module")
def limits(tmp_path_factory: pytest.TempPathFactory):
    """A server with small limits: 1 MiB uploads, 8 MiB decompressed, 64 KiB of SQL text."""
    srv = start_server(
        tmp_path_factory.mktemp("hostile-limits"),
        "--max-ingest-bytes",
        "1MiB",
        "--max-ingest-decompressed-bytes",
        "8MiB",
        "--max-sql-bytes",
        "64KiB",
    )
    try:
        yield srv
    finally:
        stop(srv)


# ---------------------------------------------------------------------------------------------------
# 1. Truncated .csv.gz and .csv.zst: 400 / exit 1 naming the compressed byte, nothing committed

CSV_HEADER = b"id,name,value\n"
CSV_ROWS = 20_000
CSV_DATA = CSV_HEADER + b"".join(
    b"%d,name %d,%d.%02d\n" % (i, i * 7919 % 10007, i // 3, i % 97) for i in range(CSV_ROWS)
)


def _zstd(data: bytes) -> bytes | None:
    """A zstd frame with a content checksum: the zstandard module if the venv has it, else the zstd CLI
    if on PATH, else None (zstd cases are then not generated)."""
    try:
        import zstandard
    except ImportError:
        exe = shutil.which("zstd")
        if exe is None:
            return None
        return subprocess.run([exe, "-q", "-c", "--check"], input=data, capture_output=True, check=True).stdout
    return zstandard.ZstdCompressor(write_checksum=True).compress(data)


COMPRESSED = {"gz": gzip.compress(CSV_DATA, mtime=0)}
if (_z := _zstd(CSV_DATA)) is not None:
    COMPRESSED["zst"] = _z


def gzip_cut_in_csv_header(comp: bytes) -> int:
    """The first cut of the gzip stream whose decompressed output ends inside the CSV header line."""
    for cut in range(11, 4096):
        out = zlib.decompressobj(31).decompress(comp[:cut])
        if 0 < len(out) < len(CSV_HEADER):
            return cut
    raise AssertionError("no cut inside the CSV header")


def cut_points(codec: str) -> dict[str, int]:
    comp = COMPRESSED[codec]
    return {
        "stream-header": 5,  # inside gzip's 10-byte header / zstd's frame header
        # gzip: the output stops inside the CSV header line; zstd decodes whole blocks, so: inside
        # the first block, the one holding the CSV header.
        "csv-header": gzip_cut_in_csv_header(comp) if codec == "gz" else 24,
        "mid-stream": len(comp) // 2,
        "before-trailer": len(comp) - (8 if codec == "gz" else 4),  # gzip CRC-32+ISIZE, zstd checksum
        "last-byte": len(comp) - 1,
    }




def truncation_cases() -> list:
    cases = []
    for codec in COMPRESSED:
        for where in cut_points(codec):
            for door in ("http", "cli"):
                cases.append(pytest.param(codec, where, door, id=f"{codec}-{where}-{door}"))
    return cases


@pytest.mark.parametrize("codec,where,door", truncation_cases())
def test_truncated_compressed_csv_is_refused(server, tmp_path, codec, where, door):
    cut = cut_points(codec)[where]
    filename = f"cut_{where}.csv.{codec}"
    data = COMPRESSED[codec][:cut]
    table = f"bronze.{unique('trunc')}"
    if door == "http":
        status, body = post_file(server, f"table={table}", filename, data)
        assert status == 400, body
        message = body.get("detail", "")
    else:
        path = tmp_path / filename
        path.write_bytes(data)
        proc = cli(server, "--table", table, str(path))
        assert proc.returncode == 1, proc.stderr
        message = proc.stderr
        assert "nothing was committed" in message
    assert filename in message, message
    assert f"compressed byte {cut}" in message, message
    assert "truncated" in message, message
    assert_absent(server, table)


@pytest.mark.parametrize("codec", list(COMPRESSED))
def test_whole_compressed_csv_commits_every_row(server, tmp_path, codec):
    """The same streams uncut: every row arrives, through both doors, and both readers agree."""
    want = [
        {"id": i, "name": f"name {i * 7919 % 10007}", "value": float(f"{i // 3}.{i % 97:02d}")} for i in range(CSV_ROWS)
    ]
    path = tmp_path / f"whole.csv.{codec}"
    path.write_bytes(COMPRESSED[codec])
    a, b = f"bronze.{unique('whole_http')}", f"bronze.{unique('whole_cli')}"
    status, body = post_file(server, f"table={a}", path.name, path.read_bytes())
    assert status == 200 and body["rows"] == CSV_ROWS, body
    assert cli_json(cli(server, "--table", b, "--json", str(path)))["rows"] == CSV_ROWS
    assert assert_readable(server, a, want) == assert_readable(server, b, want)


# ---------------------------------------------------------------------------------------------------
# 2. Invalid UTF-8: strict refuses naming line and column, skip/rejects/replace commit readable tables

BAD_CSV = b"a,b\n3,\xff\xfe\n4,ok\n"
BAD_NDJSON = b'{"a":3,"b":"\xff\xfe"}\n{"a":4,"b":"ok"}\n'


def bad_parquet() -> bytes:
    """pyarrow writes a string column holding \\xff\\xfe (binary viewed as string, never validated)."""
    b = pa.array([b"\xff\xfe", b"ok"], pa.binary()).view(pa.string())
    buf = io.BytesIO()
    pq.write_table(pa.table({"a": pa.array([3, 4], pa.int64()), "b": b}), buf)
    return buf.getvalue()


# format -> (file extension, bytes, line of the bad row, the raw line as the rejects table should hold it)
BAD_FILES = {
    "csv": ("csv", BAD_CSV, 2, "3,\\xff\\xfe"),
    "ndjson": ("ndjson", BAD_NDJSON, 1, '{"a":3,"b":"\\xff\\xfe"}'),
    "parquet": ("parquet", bad_parquet(), 1, None),  # a Parquet row has no raw text
}
GOOD_ROW = {"a": 4, "b": "ok"}
REPLACED_ROW = {"a": 3, "b": "\ufffd\ufffd"}



def utf8_cases() -> list:
    cases = []
    for fmt in BAD_FILES:
        for door in ("http", "cli"):
            for policy in ("strict", "skip", "rejects", "replace"):
                cases.append(pytest.param(fmt, door, policy, id=f"{fmt}-{door}-{policy}"))
    return cases


@pytest.mark.parametrize("fmt,door,policy", utf8_cases())
def test_invalid_utf8(server, tmp_path, fmt, door, policy):
    ext, data, line, raw = BAD_FILES[fmt]
    filename = f"bad_{policy}.{ext}"
    table = f"bronze.{unique(f'utf8_{fmt}_{door}')}"
    if door == "http":
        query = f"table={table}"
        if policy in ("skip", "rejects"):
            query += f"&on_bad={policy}"
        elif policy == "replace":
            query += "&invalid_utf8=replace"
        status, res = post_file(server, query, filename, data)
        ok = status == 200
        message = res.get("detail", "")
    else:
        path = tmp_path / filename
        path.write_bytes(data)
        args = ["--table", table, "--json"]
        if policy in ("skip", "rejects"):
            args += ["--on-bad", policy]
        elif policy == "replace":
            args += ["--invalid-utf8", "replace"]
        proc = cli(server, *args, str(path))
        ok, status = proc.returncode == 0, proc.returncode
        res = json.loads(proc.stdout.strip().splitlines()[-1]) if ok else {}
        message = proc.stderr

    where = f'{filename}:{line}: column "b": invalid UTF-8'
    if policy == "strict":
        assert status == (400 if door == "http" else 1), res or message
        assert where in message, message
        if door == "http":
            assert [(e["line"], e["column"], e["reason"]) for e in res["errors"]] == [(line, "b", "invalid UTF-8")]
        else:
            assert "nothing was committed" in message
        assert_absent(server, table)
        return

    assert ok, message
    if policy == "skip":
        assert (res["rows"], res["skipped"], res["rejected"]) == (1, 1, 0), res
        assert_readable(server, table, [GOOD_ROW])
        assert_absent(server, f"{table}__rejects")
    elif policy == "rejects":
        assert (res["rows"], res["rejected"], res["rejects_table"]) == (1, 1, f"{table}__rejects"), res
        assert_readable(server, table, [GOOD_ROW])
        (rej,) = assert_readable(server, f"{table}__rejects")
        # The CLI records the path it was given, HTTP the upload's file name.
        assert (Path(rej["source"]).name, rej["line"], rej["column_name"], rej["reason"]) == (
            filename,
            line,
            "b",
            "invalid UTF-8",
        ), rej
        assert rej["value"] == "\\xff\\xfe", rej
        if raw is not None:
            assert rej["raw"] == raw, rej
    else:  # replace: each invalid byte becomes U+FFFD
        assert (res["rows"], res["skipped"], res["rejected"]) == (2, 0, 0), res
        assert_readable(server, table, [REPLACED_ROW, GOOD_ROW])
        hexed = fetch(server, f"SELECT hex(b) AS h FROM {table} WHERE a = 3").column("h").to_pylist()
        assert hexed == ["EFBFBDEFBFBD"]


def utf8_arrow_table() -> pa.Table:
    return pa.table(
        {"a": pa.array([3, 4], pa.int64()), "b": pa.array([b"\xff\xfe", b"ok"], pa.binary()).view(pa.string())}
    )


def test_adbc_ingest_refuses_invalid_utf8(server):
    name = unique("utf8_adbc")
    with connect(server) as c, c.cursor() as cur:
        with pytest.raises(dbapi.ProgrammingError) as err:
            cur.adbc_ingest(name, utf8_arrow_table(), mode="create", db_schema_name="bronze")
    msg = str(err.value)
    assert "INVALID_ARGUMENT" in msg, msg
    assert f'ingesting into bronze.{name}: malformed input: batch 1, row 1, column "b": invalid UTF-8' in msg, msg
    assert_absent(server, f"bronze.{name}")


def test_adbc_ingest_replaces_invalid_utf8_when_asked(server):
    """The lakeflight-invalid-utf8 option, sent as the x- call header ADBC can set, stores U+FFFD."""
    name = unique("utf8_adbc_repl")
    header = {"adbc.flight.sql.rpc.call_header.x-lakeflight-invalid-utf8": "replace"}
    with connect(server, db_kwargs=header) as c, c.cursor() as cur:
        assert cur.adbc_ingest(name, utf8_arrow_table(), mode="create", db_schema_name="bronze") == 2
    assert_readable(server, f"bronze.{name}", [REPLACED_ROW, GOOD_ROW])


# ---------------------------------------------------------------------------------------------------
# 3. Deep nesting: refused quickly with the limit named; within the limit readable everywhere

MAX_LIST_DEPTH = 16  # README: "lists nest at most 16 deep and types at most 32"
MAX_TYPE_DEPTH = 32
# JSON deeper than the row object plus MAX_TYPE_DEPTH is refused while it is parsed.
TOO_DEEP = (
    f"nested more than {MAX_TYPE_DEPTH + 1} levels deep (a column keeps at most {MAX_TYPE_DEPTH} levels of types, "
    f"{MAX_LIST_DEPTH} of lists)"
)


def nested_list_line(depth: int) -> bytes:
    return b'{"x":1,"a":' + b"[" * depth + b"1" + b"]" * depth + b"}\n"


def nested_list_value(depth: int):
    v = 1
    for _ in range(depth):
        v = [v]
    return v


def nested_object_line(depth: int) -> bytes:
    v = b"1"
    for _ in range(depth):
        v = b'{"a":' + v + b"}"
    return b'{"x":1,"s":' + v + b"}\n"




@pytest.mark.parametrize(
    "depth,door",
    [
        (17, "http"),
        (30, "http"),
        (200, "http"),
        (1000, "http"),
        (5000, "http"),
        (30, "cli"),
        pytest.param(1000, "cli"),
    ],
)
def test_deep_lists_refused_quickly(server, tmp_path, depth, door):
    table = f"bronze.{unique(f'deep{depth}')}"
    line = nested_list_line(depth)
    started = time.monotonic()
    if door == "http":
        status, body = post_raw(server, f"table={table}", line, "application/x-ndjson")
        elapsed = time.monotonic() - started
        assert status == 400, body
        message = body["detail"]
    else:
        path = tmp_path / "deep.ndjson"
        path.write_bytes(line)
        proc = cli(server, "--table", table, str(path))
        elapsed = time.monotonic() - started
        assert proc.returncode == 1, proc.stderr
        message = proc.stderr
    if depth <= MAX_TYPE_DEPTH:
        assert f'column "a" nests lists {depth} deep; at most {MAX_LIST_DEPTH} are kept' in message, message
    else:
        assert TOO_DEEP in message, message
    assert elapsed < 2.0, f"depth {depth} took {elapsed:.2f}s to refuse"
    assert_absent(server, table)


def test_deep_lists_refused_in_linear_time(server):
    table = f"bronze.{unique('deep9999')}"
    started = time.monotonic()
    status, body = post_raw(server, f"table={table}", nested_list_line(9999), "application/x-ndjson")
    elapsed = time.monotonic() - started
    assert status == 400, body
    assert elapsed < 0.5, f"refusing a 20 KB line took {elapsed:.2f}s"


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_very_deep_lists_name_the_limit(server, depth):
    table = f"bronze.{unique('deepest')}"
    status, body = post_raw(server, f"table={table}", nested_list_line(depth), "application/x-ndjson")
    assert status == 400, body
    assert TOO_DEEP in body["detail"], body


def test_lists_at_the_limit_are_readable(server):
    table = f"bronze.{unique('deep16')}"
    status, body = post_raw(server, f"table={table}", nested_list_line(MAX_LIST_DEPTH), "application/x-ndjson")
    assert status == 200 and body["rows"] == 1, body
    started = time.monotonic()
    assert_readable(server, table, [{"x": 1, "a": nested_list_value(MAX_LIST_DEPTH)}])
    assert time.monotonic() - started < 2.0


def test_adbc_ingest_refuses_deep_list_type(server):
    typ = pa.int64()
    for _ in range(MAX_LIST_DEPTH + 1):
        typ = pa.list_(typ)
    data = pa.table({"x": [1], "a": pa.array([nested_list_value(MAX_LIST_DEPTH + 1)], typ)})
    name = unique("deep_adbc")
    with connect(server) as c, c.cursor() as cur:
        with pytest.raises(dbapi.ProgrammingError) as err:
            cur.adbc_ingest(name, data, mode="create", db_schema_name="bronze")
    assert f'column "a" nests lists {MAX_LIST_DEPTH + 1} deep; at most {MAX_LIST_DEPTH} are kept' in str(err.value)
    assert_absent(server, f"bronze.{name}")


@pytest.mark.parametrize("depth", [MAX_TYPE_DEPTH + 1, 200, 1000])
def test_deep_objects_refused(server, depth):
    table = f"bronze.{unique('odeep')}"
    status, body = post_raw(server, f"table={table}", nested_object_line(depth), "application/x-ndjson")
    assert status == 400, body
    assert TOO_DEEP in body["detail"], body
    assert_absent(server, table)


def test_adbc_ingest_refuses_deep_struct_type(server):
    typ = pa.int64()
    value = 1
    for _ in range(MAX_TYPE_DEPTH + 1):
        typ, value = pa.struct([("a", typ)]), {"a": value}
    data = pa.table({"x": [1], "s": pa.array([value], typ)})
    name = unique("odeep_adbc")
    with connect(server) as c, c.cursor() as cur:
        with pytest.raises(dbapi.ProgrammingError) as err:
            cur.adbc_ingest(name, data, mode="create", db_schema_name="bronze")
    want = f'column "s" nests {MAX_TYPE_DEPTH + 1} types deep; at most {MAX_TYPE_DEPTH} are kept'
    assert want in str(err.value)
    assert_absent(server, f"bronze.{name}")


def nested_object_value(depth: int):
    v = 1
    for _ in range(depth):
        v = {"a": v}
    return v


@pytest.mark.parametrize("depth", [16, MAX_TYPE_DEPTH])
def test_deep_objects_within_the_limit_are_readable(server, depth):
    table = f"bronze.{unique('odeep')}"
    status, body = post_raw(server, f"table={table}", nested_object_line(depth), "application/x-ndjson")
    assert status == 200 and body["rows"] == 1, body
    want = {"x": 1, "s": nested_object_value(depth)}
    # The Go client first (no C-data import on the way), then ADBC Python and pyiceberg.
    proc = subprocess.run(
        [str(server.bin), "query", "--server", server.flight_addr, "--format", "json", f"SELECT * FROM {table}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[:500]
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [want]
    assert_readable(server, table, [want])


# ---------------------------------------------------------------------------------------------------
# 4. Limits: bombs, upload size, SQL size, names, keys, repeated parameters, strict JSON bodies


def gzip_bomb(mib: int) -> bytes:
    """A CSV header then mib MiB of zero bytes, gzip level 9 (about 1 KB per MiB)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return c.compress(b"a,b\n") + b"".join(c.compress(zeros) for _ in range(mib)) + c.flush()


BOMB = gzip_bomb(200)  # 200 MiB of zeros in ~200 KB


def test_gzip_bomb_hits_the_ratio_limit(server, tmp_path):
    """Default limits (ratio 1000, checked after the first 16 MiB): 413 naming --max-ingest-ratio."""
    table = f"bronze.{unique('bomb')}"
    for send in ("multipart", "raw"):
        if send == "multipart":
            status, body = post_file(server, f"table={table}", "bomb.csv.gz", BOMB)
        else:
            status, body = post_raw(server, f"table={table}", BOMB, "text/csv", {"Content-Encoding": "gzip"})
        assert status == 413, body
        assert "more than 1000 times as many" in body["detail"], body
        assert "nothing was committed" in body["detail"], body
        assert "max_ingest_ratio (--max-ingest-ratio)" in body["detail"], body
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(BOMB)
    proc = cli(server, "--table", table, str(path))
    assert proc.returncode == 1, proc.stderr
    assert "bomb.csv.gz: input too large" in proc.stderr and "more than 1000 times as many" in proc.stderr
    assert "--max-decompression-ratio 0 lifts this check" in proc.stderr
    assert_absent(server, table)


def test_gzip_bomb_hits_the_decompressed_limit(limits):
    table = f"bronze.{unique('bomb')}"
    for send in ("multipart", "raw"):
        if send == "multipart":
            status, body = post_file(limits, f"table={table}", "bomb.csv.gz", BOMB)
        else:
            status, body = post_raw(limits, f"table={table}", BOMB, "text/csv")
        assert status == 413, body
        detail = body["detail"]
        assert "decompresses to more than the limit of 8388608 bytes" in detail, body
        assert "max_ingest_decompressed_bytes (--max-ingest-decompressed-bytes)" in detail, body
        assert "nothing was committed" in detail
    assert_absent(limits, table)


def commas(mib: int) -> Callable[[], Iterable[bytes]]:
    """A CSV header and one line of mib MiB of commas, as chunks."""

    def chunks():
        yield b"a,b\n"
        block = b"," * (1 << 20)
        for _ in range(mib):
            yield block
        yield b"\n"

    return chunks


UPLOAD_TOO_LARGE = "the upload is larger than the limit of 1048576 bytes (max_ingest_bytes); nothing was committed"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_upload_over_max_ingest_bytes(limits, framing):
    table = f"bronze.{unique('big')}"
    body = b"".join(commas(50)()) if framing == "content-length" else commas(50)()
    status, res = post_raw(limits, f"table={table}", body, "text/csv")
    assert status == 413, res
    assert res["detail"] == UPLOAD_TOO_LARGE
    assert_absent(limits, table)
    # The neighbour under the limit goes in.
    small = b"a,b\n" + b"1,2\n" * 1000
    status, res = post_raw(limits, f"table={table}", small, "text/csv")
    assert status == 200 and res["rows"] == 1000, res
    assert_readable(limits, table, [{"a": 1, "b": 2}] * 1000)


def test_sql_over_max_sql_bytes(limits):
    sql = "SELECT 1 WHERE " + " AND ".join(["1 = 1"] * 20_000)
    with connect(limits) as c, c.cursor() as cur:
        with pytest.raises(dbapi.Error) as err:
            cur.execute(sql)
        msg = str(err.value)
        assert "(ResourceExhausted;" in msg, msg
        assert f"the SQL text is {len(sql.encode())} bytes, over the server's limit of 65536 bytes" in msg, msg
        assert "--max-sql-bytes" in msg, msg
        # Just under the limit is fine, on the same connection.
        cur.execute("SELECT length('" + "x" * 60_000 + "') AS n")
        assert cur.fetchall() == [(60_000,)]


@pytest.mark.parametrize(
    "raw_name,detail",
    [
        ("n" * 256, "invalid argument: table name of 256 bytes is longer than 200"),
        ("n" * 201, "invalid argument: table name of 201 bytes is longer than 200"),
        ("%FF%FE", 'invalid argument: table name "\\xff\\xfe" is not valid UTF-8'),
        ("a%00b", "invalid argument: table name \"a\\x00b\" contains '.', '/', '\\' or NUL"),
        ("a%0Ab", 'invalid argument: table name "a\\nb" contains a control character'),
    ],
    ids=["256-bytes", "201-bytes", "FF-FE", "NUL", "newline"],
)
def test_bad_table_names_over_http(server, raw_name, detail):
    status, body = post_raw(server, f"table=bronze.{raw_name}", b"a,b\n1,2\n", "text/csv")
    assert status == 400, body
    assert body["detail"] == detail


def test_bad_table_names_over_adbc_and_cli(server, tmp_path):
    data = pa.table({"a": [1]})
    with connect(server) as c, c.cursor() as cur:
        with pytest.raises(dbapi.ProgrammingError, match="table name of 256 bytes is longer than 200"):
            cur.adbc_ingest("n" * 256, data, mode="create", db_schema_name="bronze")
    path = tmp_path / "ok.csv"
    path.write_bytes(b"a,b\n1,2\n")
    proc = cli(server, "--table", "bronze." + "n" * 256, str(path))
    assert proc.returncode == 1, proc.stderr
    assert "table name of 256 bytes is longer than 200" in proc.stderr


def test_table_name_of_200_bytes_is_readable(server):
    table = "bronze." + unique("n").ljust(200, "n")
    status, body = post_raw(server, f"table={table}", b"a,b\n1,2\n", "text/csv")
    assert status == 200, body
    assert_readable(server, table, [{"a": 1, "b": 2}])


def test_percent_in_table_name(server):
    table = f"bronze.{unique('pct')}%zz"
    status, body = post_raw(server, "table=" + urllib.parse.quote(table), b"a,b\n1,2\n", "text/csv")
    assert status in (200, 400), body
    if status == 400:
        assert "%" in body["detail"], body
        assert_absent(server, table)
    else:
        assert_readable(server, table, [{"a": 1, "b": 2}])


@pytest.mark.parametrize("suffix", ["été", "a b"])
def test_escaped_table_names_are_readable_by_pyiceberg(server, suffix):
    table = f"bronze.{unique('name')}{suffix}"
    status, body = post_raw(server, "table=" + urllib.parse.quote(table), b"a,b\n1,2\n", "text/csv")
    assert status == 200, body
    assert_readable(server, table, [{"a": 1, "b": 2}])


def test_idempotency_key_size(server):
    table = f"bronze.{unique('idem')}"
    data = b"a,b\n1,2\n"
    for key in ("k" * (1 << 20), "k" * 257):
        status, body = post_raw(server, f"table={table}", data, "text/csv", {"Idempotency-Key": key})
        assert status == 400, body
        assert body["detail"] == (
            f"invalid ingest options: the idempotency key is {len(key)} bytes, longer than 256 (every later "
            "metadata file of the table keeps it): use a hash of what identifies the load"
        )
    status, body = post_raw(server, f"table={table}&key={'q' * 300}", data, "text/csv")
    assert status == 400 and "the idempotency key is 300 bytes, longer than 256" in body["detail"], body
    assert_absent(server, table)
    # 256 bytes is fine, and a second upload with it is a replay, not a second commit.
    key = "k" * 256
    for replayed in (False, True):
        status, body = post_raw(server, f"table={table}", data, "text/csv", {"Idempotency-Key": key})
        assert status == 200 and body["replayed"] is replayed, body
    assert snapshot_count(server, table) == 1
    assert_readable(server, table, [{"a": 1, "b": 2}])


@pytest.mark.parametrize("param", ["table", "on_bad", "mode", "format"])
def test_query_parameter_given_twice(server, param):
    a, b = f"bronze.{unique('twice_a')}", f"bronze.{unique('twice_b')}"
    values = {"table": (a, b), "on_bad": ("skip", "strict"), "mode": ("create", "append"), "format": ("csv", "json")}
    first, second = values[param]
    query = f"table={a}&{param}={first}&{param}={second}" if param != "table" else f"table={a}&table={b}"
    status, body = post_raw(server, query, b"a,b\n1,2\n", "text/csv")
    assert status == 400, body
    assert body["detail"] == f'bad request: query parameter "{param}" is given 2 times; it takes one value'
    assert_absent(server, a)
    assert_absent(server, b)


def test_repeatable_parameters_stay_repeatable(server):
    table = f"bronze.{unique('nulls')}"
    status, body = post_raw(server, f"table={table}&null=NA&null=-", b"a,b\n1,NA\n2,-\n3,x\n", "text/csv")
    assert status == 200, body
    assert_readable(server, table, [{"a": 1, "b": None}, {"a": 2, "b": None}, {"a": 3, "b": "x"}])


def test_snapshot_routes_decode_strictly(server):
    table = f"bronze.{unique('snaps')}"
    for rows in (b"a\n1\n", b"a\n2\n"):
        status, body = post_raw(server, f"table={table}", rows, "text/csv")
        assert status == 200, body
    base = f"/v1/tables/bronze/{split(table)[1]}"
    status, listing = http_request(server, "GET", f"{base}/snapshots")
    assert status == 200
    first, second = (s["snapshot_id"] for s in listing["snapshots"])
    assert listing["current_snapshot_id"] == second

    refused = [
        ("rollback", {"Snapshot_ID": first}, 'unknown field "Snapshot_ID" (known: snapshot_id); field names are'),
        ("rollback", {"SNAPSHOT_ID": first}, 'unknown field "SNAPSHOT_ID" (known: snapshot_id)'),
        ("tags", {"name": "v1", "Snapshot_ID": first}, 'unknown field "Snapshot_ID" (known: name, snapshot_id)'),
        ("branches", {"Name": "b1"}, 'unknown field "Name" (known: name, snapshot_id)'),
    ]
    for route, payload, detail in refused:
        status, body = http_request(server, "POST", f"{base}/{route}", json.dumps(payload).encode())
        assert status == 400, (route, payload, body)
        assert detail in body["detail"], body
    # Duplicate keys: encoding/json alone would keep the last one (first) and roll back.
    dup = f'{{"snapshot_id": {second}, "snapshot_id": {first}}}'.encode()
    status, body = http_request(server, "POST", f"{base}/rollback", dup)
    assert status == 400 and body["detail"] == 'bad request: field "snapshot_id" is given twice', body

    status, listing = http_request(server, "GET", f"{base}/snapshots")
    assert listing["current_snapshot_id"] == second, "a refused request moved the table"
    status, refs = http_request(server, "GET", f"{base}/refs")
    assert [r["name"] for r in refs["refs"]] == ["main"], refs
    assert_readable(server, table, [{"a": 1}, {"a": 2}])

    # The exact spelling works: the refusals above were about the spelling.
    status, body = http_request(server, "POST", f"{base}/rollback", json.dumps({"snapshot_id": first}).encode())
    assert status == 200 and body["snapshot_id"] == first, body
    assert_readable(server, table, [{"a": 1}])


# ---------------------------------------------------------------------------------------------------
# 5. Cancel and disconnect: a killed client stops the server's work; a cut upload commits nothing

CLIENT = """
import sys
import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
conn = flight_sql.connect(sys.argv[1], autocommit=True)
cur = conn.cursor()
print("connected", flush=True)
cur.execute(sys.argv[2])
print(cur.fetchall(), flush=True)
"""


def test_killed_client_stops_the_query(server):
    proc = subprocess.Popen(
        [sys.executable, "-c", CLIENT, server.uri, SLOW_SQL], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "connected", proc.stderr.read()
        time.sleep(1.5)  # let the query start burning CPU
        assert proc.poll() is None, f"client ended early: {proc.stdout.read()} {proc.stderr.read()}"
        before = cpu_seconds(server.proc.pid)
        time.sleep(0.5)
        busy = cpu_seconds(server.proc.pid) - before
        assert busy > 0.2, f"the query is not running on the server ({busy:.2f} CPU-s in 0.5s)"
    finally:
        proc.kill()  # SIGKILL: no cancel, no goodbye, the connection just drops
        proc.wait()
    time.sleep(1.0)  # measure from at most 2 s after the kill
    start = cpu_seconds(server.proc.pid)
    time.sleep(2.0)
    after = cpu_seconds(server.proc.pid) - start
    print(f"server CPU: {busy:.2f} CPU-s per 0.5s while the query ran, {after:.2f} CPU-s in 2s from 1s after the kill")
    assert after < 0.5, (
        f"server still busy after its client was killed: {after:.2f} CPU-s in 2s (busy: {busy:.2f}/0.5s)"
    )
    assert fetch(server, "SELECT 42 AS x").to_pylist() == [{"x": 42}]


def disconnect_mid_body(server: Server, table: str, mode: str, reset: bool) -> None:
    """Send a third of a declared body, wait, then drop the connection (FIN, or RST when reset)."""
    rows = b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(100_000))
    if mode == "multipart":
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        ctype = f"multipart/form-data; boundary={boundary}"
    else:
        head, ctype = b"", "text/csv"
    declared = len(head) + 3 * len(rows)
    host, port = server.http_addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            f"POST /ingest?table={table} HTTP/1.1\r\nHost: {server.http_addr}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {declared}\r\n\r\n".encode()
            + head
            + rows
        )
        time.sleep(1.0)  # the server is parsing and writing by now
        if reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("mode", ["multipart", "raw"])
@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_upload_cut_by_client_commits_nothing(server, mode, reset):
    table = f"bronze.{unique('disc')}"
    disconnect_mid_body(server, table, mode, reset)
    time.sleep(0.5)
    assert_absent(server, table)
    # The name is free: a full upload creates it (mode=create would be 409 if an empty table was left).
    status, body = post_raw(server, f"table={table}&mode=create", b"id,name\n1,x\n", "text/csv")
    assert status == 200 and body["created"] is True, body
    assert_readable(server, table, [{"id": 1, "name": "x"}])


def leftovers(server: Server, name: str) -> list[str]:
    """Files and directories of a table called name (or name-<8 hex>) in the warehouse."""
    found = server.warehouse.glob(f"bronze.db/{name}*")
    return sorted(p.relative_to(server.warehouse).as_posix() for d in found for p in [d, *d.rglob("*")])


@pytest.mark.parametrize("how", ["strict-bad-row", "truncated-gzip", "adbc-refused", "client-disconnect", "dropped"])
def test_failed_create_leaves_no_files(server, how):
    """A create that fails, and a dropped table, leave nothing in the warehouse (issue: 'failed creates
    and drops leave no directories or metadata behind')."""
    name = unique("leftover")
    table = f"bronze.{name}"
    if how == "strict-bad-row":
        status, body = post_file(server, f"table={table}", "bad.csv", BAD_CSV)
        assert status == 400, body
    elif how == "truncated-gzip":
        status, body = post_file(server, f"table={table}", "cut.csv.gz", COMPRESSED["gz"][: len(COMPRESSED["gz"]) // 2])
        assert status == 400, body
    elif how == "adbc-refused":
        with connect(server) as c, c.cursor() as cur:
            with pytest.raises(dbapi.ProgrammingError, match="invalid UTF-8"):
                cur.adbc_ingest(name, utf8_arrow_table(), mode="create", db_schema_name="bronze")
    elif how == "client-disconnect":
        disconnect_mid_body(server, table, "multipart", reset=False)
    else:
        status, body = post_raw(server, f"table={table}", b"a\n1\n", "text/csv")
        assert status == 200, body
        assert leftovers(server, name), "the table has no files to remove"
        with connect(server) as c, c.cursor() as cur:
            cur.execute(f"DROP TABLE {table}")
    deadline = time.monotonic() + 5  # a disconnect is noticed, and its work taken back, asynchronously
    while leftovers(server, name) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers(server, name) == []
    assert_absent(server, table)


def data_files(server: Server, name: str) -> list[str]:
    return sorted(p.name for d in server.warehouse.glob(f"bronze.db/{name}*") for p in d.rglob("*.parquet"))


@pytest.mark.parametrize("door", ["http", "adbc"])
def test_failed_append_leaves_no_data_files(server, door):
    """An append that fails late (the bad row last) leaves the table's directory holding only its
    committed files, and the table reads as before."""
    name = unique("append_fail")
    table = f"bronze.{name}"
    status, body = post_raw(server, f"table={table}", b"a,b\n1,x\n", "text/csv")
    assert status == 200, body
    before = data_files(server, name)
    assert len(before) == 1, before
    if door == "http":
        # 300,000 good rows, then one that is not an integer: strict mode fails at the end.
        rows = b"".join(b"%d,row%d\n" % (i, i) for i in range(300_000))
        status, body = post_raw(server, f"table={table}&mode=append", b"a,b\n" + rows + b"oops,y\n", "text/csv")
        assert status == 400, body
        assert "oops" in json.dumps(body), body
    else:
        good = pa.table({"a": pa.array(range(300_000), pa.int64()), "b": pa.array(["r"] * 300_000)})
        invalid = pa.array([b"\xff"], pa.binary()).cast(pa.string(), safe=False)
        bad = pa.table({"a": pa.array([1], pa.int64()), "b": invalid})
        data = pa.concat_tables([good, bad]).combine_chunks()
        with connect(server) as c, c.cursor() as cur:
            with pytest.raises(dbapi.ProgrammingError, match="invalid UTF-8"):
                cur.adbc_ingest(name, data.to_batches(max_chunksize=50_000), mode="append", db_schema_name="bronze")
    assert data_files(server, name) == before
    assert_readable(server, table, [{"a": 1, "b": "x"}])


# ---------------------------------------------------------------------------------------------------
# 6. RSS stays bounded through a hostile sequence

# Measured on 2 cores / 24 GB (lakeflight 892f165+): a fresh server ~125 MiB; after the sequence below
# VmRSS ~440-670 MiB and peak VmHWM ~730-765 MiB (DuckDB materialises each 100 MB string before lakeflight
# refuses the row). Bounds with headroom: peak under 1280 MiB, current under 1024 MiB. Before issue 10
# a 2 GB string took RSS to 4.1 GB.
RSS_PEAK_BOUND_MIB = 1280
RSS_NOW_BOUND_MIB = 1024


def test_rss_bounded_under_hostile_input(tmp_path):
    srv = start_server(tmp_path / "data", "--max-ingest-bytes", "1MiB")
    try:
        before = rss_mib(srv.proc.pid)
        for framing in ("content-length", "chunked"):
            body = b"".join(commas(50)()) if framing == "content-length" else commas(50)()
            status, res = post_raw(srv, "table=bronze.commas", body, "text/csv")
            assert status == 413 and res["detail"] == UPLOAD_TOO_LARGE, res
        status, res = post_file(srv, "table=bronze.bomb", "bomb.csv.gz", BOMB)
        assert status == 413, res
        with connect(srv) as c, c.cursor() as cur:
            for _ in range(3):
                with pytest.raises(dbapi.Error) as err:
                    cur.execute("SELECT repeat('x', 100000000) AS s")
                    cur.fetchall()
                msg = str(err.value)
                assert "(ResourceExhausted;" in msg, msg
                # The server refused the row; it did not send a 100 MB message for the client to refuse.
                assert "received message larger than max" not in msg, msg
            cur.execute("SELECT 1 AS one")
            assert cur.fetchall() == [(1,)]
        after = rss_mib(srv.proc.pid)
        print(f"RSS before {before}, after {after}")
        assert after["VmHWM"] < RSS_PEAK_BOUND_MIB, f"peak RSS {after['VmHWM']:.0f} MiB (before: {before})"
        assert after["VmRSS"] < RSS_NOW_BOUND_MIB, f"RSS {after['VmRSS']:.0f} MiB (before: {before})"
        for table in ("bronze.commas", "bronze.bomb"):
            assert_absent(srv, table)
    finally:
        stop(srv)


# A 16 MiB line of commas at the default limits: before the scanner stopped keeping the fields of a
# record wider than any table (10,001), 1.7-2 s and peak RSS +650-830 MiB (~52 bytes per comma; 50 MiB:
# 10 s and +2.6 GiB). Bound: +256 MiB, 16 times the line.
COMMA_LINE_MIB = 16
COMMA_LINE_BOUND_MIB = 256


def test_rss_bounded_for_a_long_line_at_default_limits(tmp_path):
    srv = start_server(tmp_path / "data")
    try:
        before = rss_mib(srv.proc.pid)
        status, res = post_raw(srv, "table=bronze.commas", commas(COMMA_LINE_MIB)(), "text/csv")
        after = rss_mib(srv.proc.pid)
        assert status == 400, res
        assert "upload:2: more than 10001 fields (a table has at most 10000 columns)" in res["detail"], res
        assert_absent(srv, "bronze.commas")
        grown = after["VmHWM"] - before["VmHWM"]
        print(f"RSS before {before}, after {after}")
        assert grown < COMMA_LINE_BOUND_MIB, f"peak RSS grew by {grown:.0f} MiB for a {COMMA_LINE_MIB} MiB line"
    finally:
        stop(srv)


# ---------------------------------------------------------------------------------------------------
# 7. SIGTERM with a query running exits in time

SHUTDOWN_TIMEOUT_S = 2


# Closing a cursor whose server is gone fails once in close() and again in its __del__ (an ADBC
# driver-manager quirk, "Underflow in closing this AdbcStatement"): not lakeflight's doing.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_sigterm_with_a_running_query(tmp_path):
    srv = start_server(tmp_path / "data", "--shutdown-timeout", f"{SHUTDOWN_TIMEOUT_S}s")
    outcome: dict[str, object] = {}

    def run() -> None:
        conn = connect(srv)
        cur = conn.cursor()
        try:
            cur.execute(SLOW_SQL)
            outcome["rows"] = cur.fetchall()
        except BaseException as e:  # noqa: BLE001 - report whatever ends the call
            outcome["error"] = (type(e), str(e))  # not e: its traceback would keep the cursor alive
        finally:
            for close in (cur.close, conn.close):
                try:
                    close()
                except Exception:  # noqa: BLE001 - the server is gone
                    pass

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    bound = 2 * SHUTDOWN_TIMEOUT_S + 10 + 3  # README: 2 x --shutdown-timeout + 10 s, plus 3 s of slack
    try:
        time.sleep(1.5)
        assert worker.is_alive(), f"slow query ended early: {outcome}"
        before = cpu_seconds(srv.proc.pid)
        time.sleep(0.5)
        assert cpu_seconds(srv.proc.pid) - before > 0.2, "the query is not running on the server"
        sent = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        code = srv.proc.wait(timeout=bound)
        took = time.monotonic() - sent
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()
    print(f"SIGTERM to exit: {took:.2f}s, code {code}")
    log = srv.log_path.read_text(errors="replace")
    assert code == 0, f"exit code {code} after {took:.2f}s; log:\n{srv.log_tail()}"
    assert took < bound
    assert "shutting down" in log, log
    assert "graceful stop timed out; cancelling remaining streams" in log, log
    assert "msg=stopped" in log, log
    worker.join(timeout=10)
    assert not worker.is_alive(), "the client never heard that its query ended"
    assert "error" in outcome, f"the interrupted query returned {outcome.get('rows')}"
    assert issubclass(outcome["error"][0], dbapi.Error), outcome


def test_file_helpers_are_sane():
    """The test data is what the cases say it is (so the cases can fail for the right reason)."""
    assert gzip.decompress(COMPRESSED["gz"]) == CSV_DATA
    assert len(BOMB) < 400_000 and zlib.decompressobj(31).decompress(BOMB, 1 << 20)[:4] == b"a,b\n"
    cuts = cut_points("gz")
    assert 0 < len(zlib.decompressobj(31).decompress(COMPRESSED["gz"][: cuts["csv-header"]])) < len(CSV_HEADER)
    if "zst" in COMPRESSED:
        import zstandard

        assert zstandard.ZstdDecompressor().decompress(COMPRESSED["zst"]) == CSV_DATA
