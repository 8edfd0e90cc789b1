"""TLS and mutual TLS, end to end: certificates made by openssl, the Python ADBC driver over
grpc+tls, the HTTP sidecar over https, the client commands with LAKEFLIGHT_TLS_* settings, and
a dbt transform that reaches the server through mutual TLS with the client certificate the
server issued it."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pytest

from conftest import REPO, ClientTLS, start_server, stop

DBT = Path(os.environ.get("VIRTUAL_ENV", REPO / "e2e" / ".venv")) / "bin" / "dbt"
OPTS = adbc_driver_flightsql.DatabaseOptions


@dataclass
class PKI:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"openssl {' '.join(args)}: {proc.stderr}"


def make_pki(work: Path, name: str) -> PKI:
    """A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate."""
    d = work / name
    d.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", f"/CN={name} CA", cwd=d)
    for leaf, ext in (
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ):
        (d / f"{leaf}.ext").write_text(ext)
        openssl("req", *ec, "-keyout", f"{leaf}.key", "-out", f"{leaf}.csr", "-subj", f"/CN={name} {leaf}", cwd=d)
        openssl("x509", "-req", "-in", f"{leaf}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{leaf}.crt", "-days", "2", "-extfile", f"{leaf}.ext", cwd=d)  # fmt: skip
    return PKI(d / "ca.crt", d / "server.crt", d / "server.key", d / "client.crt", d / "client.key")


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"), "lakeflight-test")


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki-other"), "someone-else")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, pki):
    work = tmp_path_factory.mktemp("tls")
    srv = start_server(
        work / "data", "--tls-cert-file", str(pki.server_cert), "--tls-key-file", str(pki.server_key),
        tls=ClientTLS(pki.ca),
    )  # fmt: skip
    try:
        yield srv
    finally:
        stop(srv)


@pytest.fixture(scope="module")
def mtls_server(tmp_path_factory, pki):
    work = tmp_path_factory.mktemp("mtls")
    srv = start_server(
        work / "data",
        "--tls-cert-file", str(pki.server_cert), "--tls-key-file", str(pki.server_key),
        "--tls-client-ca-file", str(pki.ca),
        "--dbt-project-dir", str(REPO / "dbt"), "--dbt-command", str(DBT),
        tls=ClientTLS(pki.ca, pki.client_cert, pki.client_key),
    )  # fmt: skip
    try:
        yield srv
    finally:
        stop(srv)


def tls_options(ca: Path | None, cert: Path | None = None, key: Path | None = None) -> dict[str, str]:
    options = {}
    if ca:
        options[OPTS.TLS_ROOT_CERTS.value] = ca.read_text()
    if cert:
        options[OPTS.MTLS_CERT_CHAIN.value] = cert.read_text()
        options[OPTS.MTLS_PRIVATE_KEY.value] = key.read_text()
    return options


def query(uri: str, options: dict[str, str], sql: str):
    with flight_sql.connect(uri, db_kwargs=options, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_adbc_over_tls(tls_server, pki, other_pki):
    assert query(tls_server.uri, tls_options(pki.ca), "SELECT 42 AS answer") == [(42,)]
    # A server certificate the client does not trust, and a plaintext client: refused.
    with pytest.raises(adbc_driver_manager.Error) as err:
        query(tls_server.uri, tls_options(other_pki.ca), "SELECT 1")
    assert "certificate" in str(err.value)
    with pytest.raises(adbc_driver_manager.Error):
        query(f"grpc://{tls_server.flight_addr}", {}, "SELECT 1")


def test_writes_and_reads_over_tls(tls_server, pki):
    table = f"silver.tls_{uuid.uuid4().hex[:8]}"
    options = tls_options(pki.ca)
    query(tls_server.uri, options, f"CREATE TABLE {table} AS SELECT range AS id FROM range(1000)")
    assert query(tls_server.uri, options, f"SELECT count(*), sum(id) FROM {table}") == [(1000, 499500)]


def test_http_sidecar_over_tls(tls_server, pki):
    with urllib.request.urlopen(f"{tls_server.http_base}/health", context=ClientTLS(pki.ca).ssl_context()) as resp:
        assert resp.status == 200
    with pytest.raises(urllib.error.URLError) as err:
        urllib.request.urlopen(f"{tls_server.http_base}/health", timeout=10)  # the system's roots
    assert "CERTIFICATE_VERIFY_FAILED" in str(err.value)


def test_mutual_tls(mtls_server, pki, other_pki):
    with_cert = tls_options(pki.ca, pki.client_cert, pki.client_key)
    assert query(mtls_server.uri, with_cert, "SELECT 7") == [(7,)]
    for options in (tls_options(pki.ca), tls_options(pki.ca, other_pki.client_cert, other_pki.client_key)):
        with pytest.raises(adbc_driver_manager.Error):
            query(mtls_server.uri, options, "SELECT 7")
    # TLS 1.3 refuses the missing certificate after the handshake: on the first read.
    with pytest.raises(OSError, match="CERTIFICATE_REQUIRED|certificate required"):
        urllib.request.urlopen(f"{mtls_server.http_base}/health", context=ClientTLS(pki.ca).ssl_context(), timeout=10)


def post(server, path: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(f"{server.http_base}{path}", data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, context=server.tls.ssl_context(), timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def get(server, path: str) -> dict:
    with urllib.request.urlopen(f"{server.http_base}{path}", context=server.tls.ssl_context(), timeout=30) as resp:
        return json.loads(resp.read())


def test_cli_and_transform_over_mutual_tls(mtls_server, pki):
    """The demo loads bronze through the CLI (LAKEFLIGHT_TLS_* settings); the transform's dbt
    reaches the server with the client certificate the server issued it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEFLIGHT_")}
    env |= {
        "LAKEFLIGHT_TLS_CA_FILE": str(pki.ca),
        "LAKEFLIGHT_TLS_CLIENT_CERT_FILE": str(pki.client_cert),
        "LAKEFLIGHT_TLS_CLIENT_KEY_FILE": str(pki.client_key),
    }
    cmd = [str(mtls_server.bin), "demo", "--server", mtls_server.flight_addr]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    status, run = post(mtls_server, "/transform", {"select": ["stg_customers", "stg_orders"]})
    assert status == 202, run
    deadline = time.monotonic() + 600
    while run["status"] not in ("success", "failed", "canceled"):
        assert time.monotonic() < deadline, run
        time.sleep(0.5)
        run = get(mtls_server, f"/transform/{run['id']}")
    assert run["status"] == "success", (run.get("error"), run.get("log_tail", [])[-20:])
    with_cert = tls_options(pki.ca, pki.client_cert, pki.client_key)
    assert query(mtls_server.uri, with_cert, "SELECT count(*) > 0 FROM silver.stg_orders") == [(True,)]
