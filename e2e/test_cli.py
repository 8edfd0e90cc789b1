"""`lakeflight query` run as a user would from a shell, against the real server."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import pty
import subprocess
from decimal import Decimal

from conftest import free_port, server_env

SAMPLE_SQL = (
    "SELECT * FROM (VALUES "
    "(1, 'x,y', NULL::INTEGER, DATE '2024-01-02', 12.50::DECIMAL(6, 2), TIMESTAMP '2024-01-02 03:04:05'), "
    "(2, 'say \"hi\"', 3, NULL, -0.01, NULL)"
    ") t(a, b, c, d, e, ts) ORDER BY a"
)


def lakeflight(server, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(server.bin), "query", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env if env is not None else server_env(),
        stdin=subprocess.DEVNULL,
    )


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}; stderr: {proc.stderr}"
    return proc.stdout


def test_csv(server):
    out = ok(lakeflight(server, "--server", server.flight_addr, "--format", "csv", SAMPLE_SQL))
    assert out == ('a,b,c,d,e,ts\n1,"x,y",,2024-01-02,12.50,2024-01-02T03:04:05\n2,"say ""hi""",3,,-0.01,\n')
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[1]["b"] == 'say "hi"'


def test_csv_is_default_when_piped(server):
    out = ok(lakeflight(server, "--server", server.flight_addr, "SELECT 1 AS a, 'b' AS b"))
    assert out == "a,b\n1,b\n"


def test_json(server):
    out = ok(lakeflight(server, "--server", server.flight_addr, "--format", "json", SAMPLE_SQL))
    lines = out.splitlines()
    assert len(lines) == 2
    rows = [json.loads(line, parse_float=Decimal) for line in lines]
    assert rows[0] == {
        "a": 1,
        "b": "x,y",
        "c": None,
        "d": "2024-01-02",
        "e": Decimal("12.50"),
        "ts": "2024-01-02T03:04:05",
    }
    assert rows[1] == {"a": 2, "b": 'say "hi"', "c": 3, "d": None, "e": Decimal("-0.01"), "ts": None}


def test_json_nested(server):
    out = ok(
        lakeflight(
            server,
            "--server",
            server.flight_addr,
            "--format",
            "json",
            "SELECT [1, 2] AS l, {'k': 'v', 'n': NULL} AS s, TIMESTAMPTZ '2024-01-02 03:04:05+00' AS tz",
        )
    )
    row = json.loads(out)
    assert row["l"] == [1, 2]
    assert row["s"] == {"k": "v", "n": None}
    # Rendered in the column's zone, with its offset: the instant must match.
    assert dt.datetime.fromisoformat(row["tz"]) == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_table(server):
    out = ok(lakeflight(server, "--server", server.flight_addr, "--format", "table", SAMPLE_SQL))
    lines = out.splitlines()
    assert lines[0].split("|")[0].strip() == "a"
    assert set(lines[1]) <= {"-", "+"}
    assert "NULL" in lines[2]
    assert lines[-1] == "(2 rows)"


def test_many_batches(server):
    out = ok(lakeflight(server, "--server", server.flight_addr, "--format", "csv", "SELECT i FROM range(200000) t(i)"))
    lines = out.splitlines()
    assert len(lines) == 200001
    assert lines[1] == "0" and lines[-1] == "199999"


def test_server_from_environment(server):
    env = server_env() | {"LAKEFLIGHT_SERVER": server.flight_addr}
    assert ok(lakeflight(server, "SELECT 7 AS n", env=env)) == "n\n7\n"


def test_syntax_error_one_line_exit_1(server):
    proc = lakeflight(server, "--server", server.flight_addr, "SELCT 1")
    assert proc.returncode == 1, proc
    assert proc.stdout == ""
    err = proc.stderr.strip()
    assert "\n" not in err, f"stderr is not one line: {proc.stderr!r}"
    assert err.startswith("lakeflight: query failed:"), err
    assert "syntax error" in err, err


def test_unreachable_server(server):
    addr = f"127.0.0.1:{free_port()}"
    proc = lakeflight(server, "--server", addr, "--connect-timeout", "3s", "SELECT 1")
    assert proc.returncode == 1, proc
    err = proc.stderr.strip()
    assert "\n" not in err, f"stderr is not one line: {proc.stderr!r}"
    assert err == f"lakeflight: cannot reach lakeflight at {addr}: connection refused", err


def test_bad_format_is_usage_error(server):
    proc = lakeflight(server, "--server", server.flight_addr, "--format", "xml", "SELECT 1")
    assert proc.returncode != 0
    assert "format" in proc.stderr


def test_table_is_default_on_a_terminal(server):
    """On a terminal (a pty here) the CLI prints an aligned table without being asked."""
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            [str(server.bin), "query", "--server", server.flight_addr, "SELECT 1 AS a, 'x' AS b"],
            stdout=secondary,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=server_env(),
            timeout=60,
        )
        os.close(secondary)
        secondary = -1
        out = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO once the pty's other side is closed and drained
                break
            if not chunk:
                break
            out += chunk
    finally:
        if secondary >= 0:
            os.close(secondary)
        os.close(primary)
    assert proc.returncode == 0, proc.stderr
    lines = out.decode().replace("\r\n", "\n").splitlines()
    assert lines == [" a | b", "---+---", " 1 | x", "(1 row)"], lines
