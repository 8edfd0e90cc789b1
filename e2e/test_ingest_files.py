"""Files into bronze through the two file doors — `lakeflight ingest` (client-side parsing, Flight
DoPut) and `POST /ingest` on the sidecar (server-side parsing) — on real data nobody here wrote
(the vega-datasets npm package, fetched on first use) and on deliberately broken files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPO, Server, connect

VEGA_VERSION = "3.2.1"


@pytest.fixture(scope="session")
def vega() -> Path:
    """The data/ folder of vega-datasets, fetched with npm into .cache/ once."""
    cache = Path(os.environ.get("LAKEFLIGHT_TESTDATA", REPO / ".cache" / "testdata")) / f"vega-datasets-{VEGA_VERSION}"
    data = cache / "data"
    if (data / "airports.csv").exists():
        return data
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to fetch vega-datasets (install Node.js)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [npm, "pack", f"vega-datasets@{VEGA_VERSION}", "--pack-destination", tmp],
            check=True,
            capture_output=True,
            timeout=300,
        )
        (tgz,) = Path(tmp).glob("vega-datasets-*.tgz")
        staging = Path(tmp) / "x"
        with tarfile.open(tgz) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/data/") and m.isfile()]
            for m in members:
                m.name = m.name[len("package/") :]
            tar.extractall(staging, members=members, filter="data")
        cache.mkdir(parents=True, exist_ok=True)
        try:
            (staging / "data").rename(data)
        except OSError:
            if not (data / "airports.csv").exists():
                raise
    return data


def name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def cli(server: Server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(server.bin), "ingest", "--server", server.flight_addr, "--progress", "none", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"lakeflight ingest {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def post(server: Server, path: Path, query: str) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(
        f"http://{server.http_addr}/ingest?{query}",
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def rows(server: Server, sql: str) -> list[tuple]:
    with connect(server) as c, c.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_cli_and_http_give_identical_tables(server, vega):
    src = vega / "seattle-weather.csv"
    a, b = name("sw_cli"), name("sw_http")
    cli(server, "--table", f"bronze.{a}", str(src))
    status, res = post(server, src, f"table=bronze.{b}")
    assert status == 200, res
    lines = src.read_text().count("\n")
    assert res["rows"] == lines - 1
    left = rows(server, f"SELECT * FROM bronze.{a} ORDER BY ALL")
    right = rows(server, f"SELECT * FROM bronze.{b} ORDER BY ALL")
    assert len(left) == lines - 1
    assert left == right
    assert rows(server, f"SELECT typeof(date), typeof(precipitation) FROM bronze.{a} LIMIT 1") == [("DATE", "DOUBLE")]


@pytest.mark.parametrize(
    "file,expect",
    [
        ("airports.csv", None),
        ("zipcodes.csv", None),
        ("unemployment.tsv", None),
        ("cars.json", None),
        ("movies.json", None),
        ("flights-3m.parquet", "parquet"),
    ],
)
def test_vega_files(server, vega, file, expect):
    src = vega / file
    table = name(file.split(".")[0].replace("-", "_"))
    cli(server, "--table", f"bronze.{table}", str(src))
    if expect == "parquet":
        want = pq.ParquetFile(src).metadata.num_rows
    elif file.endswith(".json"):
        want = len(json.loads(src.read_text()))
    else:
        want = sum(1 for line in src.read_text().splitlines() if line.strip()) - 1
    assert rows(server, f"SELECT count(*) FROM bronze.{table}") == [(want,)]


BROKEN = 'id,amount,label\n1,10.5,a\n2,11.0,b\n3,12.25,c\n4,not-a-number,d\n5,13.0,e\n6,oops,f\n7,14.5,"g"\n'


def test_strict_mode_names_the_line_and_commits_nothing(server, tmp_path):
    src = tmp_path / "broken.csv"
    src.write_text(BROKEN)
    table = name("strict")
    proc = cli(server, "--table", f"bronze.{table}", "--column-type", "amount=float64", str(src), check=False)
    assert proc.returncode == 1
    assert "broken.csv:5" in proc.stderr and "amount" in proc.stderr and "not-a-number" in proc.stderr
    with pytest.raises(Exception, match="does not exist|not found|Catalog Error"):
        rows(server, f"SELECT count(*) FROM bronze.{table}")
    status, res = post(server, src, f"table=bronze.{table}&column_type=amount:float64")
    assert status == 400, res
    assert "broken.csv:5" in json.dumps(res)


def test_rejects_mode_keeps_every_bad_row(server, tmp_path):
    src = tmp_path / "broken.csv"
    src.write_text(BROKEN)
    for door in ("cli", "http"):
        table = name(f"rej_{door}")
        if door == "cli":
            cli(
                server, "--table", f"bronze.{table}", "--column-type", "amount=float64", "--on-bad", "rejects", str(src)
            )
        else:
            status, res = post(server, src, f"table=bronze.{table}&column_type=amount:float64&on_bad=rejects")
            assert status == 200 and res["rejected"] == 2, res
        assert rows(server, f"SELECT id FROM bronze.{table} ORDER BY id") == [(1,), (2,), (3,), (5,), (7,)]
        rejected = rows(server, f"SELECT line, column_name, value, raw FROM bronze.{table}__rejects ORDER BY line")
        assert rejected == [(5, "amount", "not-a-number", "4,not-a-number,d"), (7, "amount", "oops", "6,oops,f")]
