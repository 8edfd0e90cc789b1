"""Fixtures for the end-to-end tests: one real lakeflight server per test session.

The binary is never built here: it comes from $LAKEFLIGHT_BIN, or bin/lakeflight at
the repository root (``make build``). The server listens on free loopback ports and
keeps its data in a temporary directory; at the end it must stop cleanly on SIGTERM.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow as pa
import pytest

import pgserver
import s3server

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = float(os.environ.get("LAKEFLIGHT_READY_TIMEOUT", "60"))
STOP_TIMEOUT_S = 10.0


@dataclass
class ClientTLS:
    """What a test client needs to speak TLS to a server: the CA to trust, and for mutual TLS
    a client certificate and key (PEM files)."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        if self.cert:
            ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


@dataclass
class Server:
    bin: Path
    data_dir: Path
    flight_addr: str
    http_addr: str
    proc: subprocess.Popen
    log_path: Path
    tls: ClientTLS | None = None

    @property
    def uri(self) -> str:
        return f"{'grpc+tls' if self.tls else 'grpc'}://{self.flight_addr}"

    @property
    def http_base(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.http_addr}"

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def lakeflight_bin() -> Path:
    path = Path(os.environ.get("LAKEFLIGHT_BIN", REPO / "bin" / "lakeflight"))
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(server: Server) -> None:
    url = f"{server.http_base}/ready"
    context = server.tls.ssl_context() if server.tls else None
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(
                f"lakeflight exited with code {server.proc.returncode} before it was ready; log:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}"
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    pytest.fail(f"lakeflight not ready at {url} after {READY_TIMEOUT_S}s ({last}); log:\n{server.log_tail()}")


def ready_status(server: Server) -> int:
    """The HTTP status of the server's /ready now (200 ready, 503 not)."""
    context = server.tls.ssl_context() if server.tls else None
    try:
        with urllib.request.urlopen(f"{server.http_base}/ready", timeout=10, context=context) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def server_env() -> dict[str, str]:
    """The test's environment without LAKEFLIGHT_* settings: flags decide."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LAKEFLIGHT_")}


def start_server(
    data_dir: Path, *extra_args: str, log_path: Path | None = None, tls: ClientTLS | None = None
) -> Server:
    """Start lakeflight on free ports with data_dir and wait until it is ready.

    The log goes to log_path, by default <data_dir>.log beside the data dir; give
    each server its own when several share one data dir. A server given TLS flags
    in extra_args needs tls: how the test clients reach it.
    """
    binary = lakeflight_bin()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no lakeflight binary at {binary}: run `make build` or set LAKEFLIGHT_BIN")
    log_path = log_path or data_dir.parent / f"{data_dir.name}.log"
    flight_addr = f"127.0.0.1:{free_port()}"
    http_addr = f"127.0.0.1:{free_port()}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                str(binary),
                "serve",
                "--data-dir",
                str(data_dir),
                "--flight-addr",
                flight_addr,
                "--http-addr",
                http_addr,
                *extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_env(),
        )
    srv = Server(binary, data_dir, flight_addr, http_addr, proc, log_path, tls)
    try:
        wait_ready(srv)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise
    return srv


@pytest.fixture(scope="session")
def pg_cluster():
    """A private PostgreSQL server (Debian's), started once for the tests that put lakeflight's
    catalog in PostgreSQL; each takes a database of its own (pg_cluster.new_database())."""
    with pgserver.running("lakeflight-e2e-pg-") as cluster:
        yield cluster


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    """A private S3-compatible server (versitygw), started once for the tests whose warehouse is a
    bucket; each makes a bucket of its own (s3_server.bucket(name))."""
    srv = s3server.create(tmp_path_factory.mktemp("s3"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def s3_config(s3, bucket: str, path: Path) -> Path:
    """A config file putting the warehouse in s3://bucket/wh on the server s3."""
    path.write_text(
        f"catalog:\n  warehouse: s3://{bucket}/wh\n"
        f"s3:\n  endpoint: '{s3.endpoint}'\n  insecure: true\n"
        f"  access_key_id: '{s3.access_key}'\n  secret_access_key: '{s3.secret_key}'\n"
    )
    return path


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = start_server(tmp_path_factory.mktemp("lakeflight-data"))
    try:
        yield srv
    finally:
        stop(srv)


def stop(srv: Server) -> None:
    if srv.proc.poll() is not None:
        pytest.fail(f"lakeflight died during the tests (code {srv.proc.returncode}); log:\n{srv.log_tail()}")
    srv.proc.send_signal(signal.SIGTERM)
    try:
        code = srv.proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        srv.proc.wait()
        pytest.fail(f"lakeflight did not stop within {STOP_TIMEOUT_S}s of SIGTERM; log:\n{srv.log_tail()}")
    assert code == 0, f"lakeflight exited with code {code} on SIGTERM; log:\n{srv.log_tail()}"


def connect(server: Server, *, cookies: bool = True, **kwargs):
    """A DB-API connection in autocommit mode, by default with the session cookie kept.

    A Flight SQL session (SET, USE, temp tables, lakeflight_as_of) is the
    arrow_flight_session_id cookie when the client keeps cookies (the ADBC driver does
    only when asked to), and otherwise the client's gRPC connection. cookies=False
    connects with the driver's default options, as the README's example does.
    """
    db_kwargs = {}
    if cookies:
        db_kwargs[adbc_driver_flightsql.DatabaseOptions.WITH_COOKIE_MIDDLEWARE.value] = "true"
    db_kwargs.update(kwargs.pop("db_kwargs", {}))
    return flight_sql.connect(server.uri, db_kwargs=db_kwargs, autocommit=True, **kwargs)


@pytest.fixture
def conn(server: Server):
    with connect(server) as c:
        yield c


@pytest.fixture
def cursor(conn):
    with conn.cursor() as cur:
        yield cur


def wait_until(cond, what: str, timeout: float = 60) -> None:
    """Poll cond until it holds, failing with what after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.2)


def ingest_ids(srv: Server, table: str, ids, mode: str = "create_append") -> None:
    """ADBC bulk ingest of one BIGINT column id into bronze.table."""
    with connect(srv) as conn, conn.cursor() as cur:
        cur.adbc_ingest(table, pa.table({"id": pa.array(ids, pa.int64())}), mode=mode, db_schema_name="bronze")


def ingest_at_once(servers: list[Server], table: str, batches: int) -> None:
    """Replicas sharing a catalog ingest into one table at once: bronze.table is created on the
    first server, then 1,000-row batches go to the servers in turn from 4 threads; every server
    must then count each acknowledged row exactly once."""
    ingest_ids(servers[0], table, [-1], mode="create")
    work = [(servers[i % len(servers)], range(i * 1000, i * 1000 + 1000)) for i in range(batches)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for f in [pool.submit(ingest_ids, srv, table, ids, "append") for srv, ids in work]:
            f.result()
    for srv in servers:
        with connect(srv) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT count(*), count(DISTINCT id) FROM bronze.{table}")
            want = batches * 1000 + 1
            assert cur.fetchone() == (want, want), "every acknowledged row exactly once"


def check_catalog_outage(srv: Server, table: str, down, up, says: str) -> None:
    """The catalog goes down (down()) under a running server and comes back (up()): meanwhile
    /ready says 503 and an ingest fails Unavailable with an error containing says, committing
    nothing; afterwards the same process ingests again, and only the acknowledged rows are there."""
    ingest_ids(srv, table, [1, 2, 3])
    down()
    wait_until(lambda: ready_status(srv) == 503, "/ready did not turn 503 with the catalog down")
    with pytest.raises(adbc_driver_manager.Error) as err:
        ingest_ids(srv, table, [4, 5])
    assert "(Unavailable;" in str(err.value) and says in str(err.value), err.value
    assert srv.proc.poll() is None, "lakeflight died with its catalog server"

    up()
    wait_until(lambda: ready_status(srv) == 200, "/ready did not recover after the catalog came back")
    ingest_ids(srv, table, [6, 7])
    with connect(srv) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT list(id ORDER BY id) FROM bronze.{table}")
        assert cur.fetchone()[0] == [1, 2, 3, 6, 7]
