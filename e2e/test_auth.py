"""Authentication and roles, end to end: a server with users in its config file, the Python ADBC
driver logging in with a user and password (its Flight handshake) or a bearer token, the HTTP
sidecar, and a dbt transform that connects back with the token the server gives each run.
The server's log must hold no password and no token."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow as pa
import pytest

from conftest import REPO, lakeflight_bin, start_server, stop

DBT = Path(sys.executable).parent / "dbt"
PROJECT = REPO / "dbt"
PASSWORDS = {
    "rita": "rita-Secret-1",
    "will": "will-Secret-2",
    "ada": "ada-Secret-3",
    "gail": "gail-Secret-4",
    "bob": "bob-Secret-5",
}
ROLES = {"rita": "reader", "will": "writer", "ada": "admin", "gail": "reader", "bob": "writer"}
GRANTS = {"gail": ["gold"], "bob": ["bronze"]}  # namespace grants: a reader of gold, a writer of bronze


def hash_password(password: str) -> str:
    proc = subprocess.run(
        [str(lakeflight_bin()), "hash-password"], input=password + "\n", capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    work = tmp_path_factory.mktemp("auth")
    users = "\n".join(
        f"    - name: {u}\n      password_hash: '{hash_password(p)}'\n      role: {ROLES[u]}"
        + (f"\n      namespaces: [{', '.join(GRANTS[u])}]" if u in GRANTS else "")
        for u, p in PASSWORDS.items()
    )
    config = work / "lakeflight.yaml"
    config.write_text(f"auth:\n  token_secret: '{uuid.uuid4().hex}{uuid.uuid4().hex}'\n  users:\n{users}\n")
    srv = start_server(
        work / "data", "--config", str(config), "--dbt-project-dir", str(PROJECT), "--dbt-command", str(DBT)
    )
    try:
        yield srv
    finally:
        stop(srv)
    log = srv.log_path.read_text(errors="replace")
    for secret in PASSWORDS.values():
        assert secret not in log, "a password is in the server log"
    for token in ISSUED:
        assert token not in log, "a token is in the server log"


ISSUED: list[str] = []


def login(server, user: str, password: str | None = None):
    """A connection that logs in with the user's password (the driver's handshake)."""
    kwargs = {
        adbc_driver_manager.DatabaseOptions.USERNAME.value: user,
        adbc_driver_manager.DatabaseOptions.PASSWORD.value: password or PASSWORDS[user],
    }
    return flight_sql.connect(server.uri, db_kwargs=kwargs, autocommit=True)


def http(server, method: str, path: str, auth: str | None = None, body: dict | None = None):
    req = urllib.request.Request(
        f"http://{server.http_addr}{path}", data=None if body is None else json.dumps(body).encode(), method=method
    )
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}"), resp.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}"), e.headers


def basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{PASSWORDS[user]}".encode()).decode()


def test_adbc_login_and_roles(secured):
    table = f"silver.auth_{uuid.uuid4().hex[:8]}"
    with login(secured, "will") as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} AS SELECT range AS id FROM range(3)")
        cur.adbc_ingest(table.split(".")[1], pa.table({"id": pa.array([10, 11], pa.int64())}), mode="append",
                        db_schema_name="silver")  # fmt: skip
    with login(secured, "rita") as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        assert cur.fetchone() == (5,)
        for sql in (f"INSERT INTO {table} VALUES (99)", f"DROP TABLE {table}"):
            with pytest.raises(adbc_driver_manager.Error) as err:
                cur.execute(sql)
            assert "reader" in str(err.value) and "writer or admin" in str(err.value)
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.adbc_ingest(table.split(".")[1], pa.table({"id": pa.array([12], pa.int64())}), mode="append",
                            db_schema_name="silver")  # fmt: skip
        assert "reader" in str(err.value)
    # Nothing the reader tried landed.
    with login(secured, "will") as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        assert cur.fetchone() == (5,)


def test_refused_without_good_credentials(secured):
    with flight_sql.connect(secured.uri, autocommit=True) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.execute("SELECT 1")
        assert "authentication required" in str(err.value)
    with pytest.raises(adbc_driver_manager.Error) as err:
        with login(secured, "rita", "not-her-password") as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    assert "wrong password" in str(err.value)
    assert "not-her-password" not in str(err.value)
    status, body, headers = http(secured, "GET", "/metrics")
    assert status == 401 and "Basic" in headers.get("WWW-Authenticate", ""), body
    assert http(secured, "GET", "/ready")[0] == 200


def test_bearer_token_from_the_sidecar(secured):
    status, tok, _ = http(secured, "POST", "/v1/auth/token", basic("rita"))
    assert status == 200 and tok["role"] == "reader" and tok["user"] == "rita", tok
    ISSUED.append(tok["token"])
    header = {adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value: "Bearer " + tok["token"]}
    with flight_sql.connect(secured.uri, db_kwargs=header, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SELECT 42")
        assert cur.fetchone() == (42,)
    tampered = {adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value: "Bearer " + tok["token"][:-2] + "xx"}
    with flight_sql.connect(secured.uri, db_kwargs=tampered, autocommit=True) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.execute("SELECT 42")
        assert "not one this server issued" in str(err.value)
    status, body, _ = http(secured, "POST", "/v1/tables/silver/x/compact", "Bearer " + tok["token"], {})
    assert status == 403 and "admin" in body["detail"], body


def test_transform_connects_back_with_its_own_token(secured):
    """The demo loads bronze as a writer (the CLI logs in from LAKEFLIGHT_USER/PASSWORD); the admin
    starts a transform, whose dbt reaches the Flight SQL server with the token the run got."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEFLIGHT_")}
    env |= {"LAKEFLIGHT_USER": "will", "LAKEFLIGHT_PASSWORD": PASSWORDS["will"]}
    cmd = [str(secured.bin), "demo", "--server", secured.flight_addr]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    status, run, _ = http(secured, "POST", "/transform", basic("will"), {"select": ["stg_orders"]})
    assert status == 403, run
    status, run, _ = http(secured, "POST", "/transform", basic("ada"), {"select": ["stg_customers", "stg_orders"]})
    assert status == 202, run
    deadline = time.monotonic() + 600
    while run["status"] not in ("success", "failed", "canceled"):
        assert time.monotonic() < deadline, run
        time.sleep(0.5)
        status, run, _ = http(secured, "GET", f"/transform/{run['id']}", basic("rita"))
        assert status == 200, run
    assert run["status"] == "success", (run.get("error"), run.get("log_tail", [])[-20:])
    with login(secured, "rita") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM silver.stg_orders")
        assert cur.fetchone()[0] > 0


def test_namespace_grants(secured):
    """gail reads gold only: a join that reaches into silver is refused, and the driver's catalog
    listing shows gold alone; bob writes into bronze only."""
    suffix = uuid.uuid4().hex[:8]
    with login(secured, "will") as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE gold.g_{suffix} AS SELECT range AS id FROM range(5)")
        cur.execute(f"CREATE TABLE silver.s_{suffix} AS SELECT range AS id FROM range(3)")
    with login(secured, "gail") as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM gold.g_{suffix}")
        assert cur.fetchone() == (5,)
        for sql in (
            f"SELECT count(*) FROM gold.g_{suffix} g JOIN silver.s_{suffix} s USING (id)",
            f"SELECT count(*) FROM silver.s_{suffix}",
            f"SELECT * FROM gold.g_{suffix} WHERE id IN (SELECT id FROM silver.s_{suffix})",
        ):
            with pytest.raises(adbc_driver_manager.Error) as err:
                cur.execute(sql)
            assert "may use only namespace(s) gold" in str(err.value) and "silver" in str(err.value), sql
        objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
        schemas = {
            s["db_schema_name"] for c in objects if c["catalog_name"] == "lakehouse" for s in c["catalog_db_schemas"]
        }
        assert schemas == {"gold"}, schemas
    status, body, _ = http(secured, "GET", f"/v1/tables/silver/s_{suffix}/snapshots", basic("gail"))
    assert status == 403 and "namespace(s) gold" in body["detail"], body
    assert http(secured, "GET", f"/v1/tables/gold/g_{suffix}/snapshots", basic("gail"))[0] == 200
    data = pa.table({"id": pa.array([1, 2], pa.int64())})
    with login(secured, "bob") as conn, conn.cursor() as cur:
        cur.adbc_ingest(f"b_{suffix}", data, mode="create", db_schema_name="bronze")
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.adbc_ingest(f"s_{suffix}", data, mode="append", db_schema_name="silver")
        assert "may use only namespace(s) bronze" in str(err.value)
    with login(secured, "will") as conn, conn.cursor() as cur:
        cur.execute(f"SELECT (SELECT count(*) FROM bronze.b_{suffix}), (SELECT count(*) FROM silver.s_{suffix})")
        assert cur.fetchone() == (2, 3)


def test_api_tokens_made_at_run_time(secured):
    """An admin makes an API token over REST (shown once, kept hashed), a program uses it within its
    grants, the list shows it without secrets, and once revoked it is refused."""
    name = f"etl_{uuid.uuid4().hex[:6]}"
    request = {"name": name, "role": "writer", "namespaces": ["bronze"]}
    assert http(secured, "POST", "/v1/auth/api-tokens", basic("will"), request)[0] == 403  # writers make none
    assert http(secured, "POST", "/v1/auth/api-tokens", basic("gail"), request)[0] == 403
    status, made, headers = http(secured, "POST", "/v1/auth/api-tokens", basic("ada"), request)
    assert status == 201 and made["token"].startswith("lft_") and made["source"] == "api", made
    assert made["created_by"] == "ada" and made["namespaces"] == ["bronze"] and headers["Cache-Control"] == "no-store"
    ISSUED.append(made["token"])
    assert http(secured, "POST", "/v1/auth/api-tokens", basic("ada"), request)[0] == 409

    header = {adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value: "Bearer " + made["token"]}
    data = pa.table({"id": pa.array([1, 2], pa.int64())})
    with flight_sql.connect(secured.uri, db_kwargs=header, autocommit=True) as conn, conn.cursor() as cur:
        cur.adbc_ingest(name, data, mode="create", db_schema_name="bronze")
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.execute("SELECT count(*) FROM silver.stg_orders")
        assert "may use only namespace(s) bronze" in str(err.value)

    status, listed, _ = http(secured, "GET", "/v1/auth/api-tokens", basic("ada"))
    mine = [t for t in listed["tokens"] if t["name"] == name]
    assert status == 200 and len(mine) == 1 and mine[0]["role"] == "writer", listed
    assert made["token"] not in json.dumps(listed) and "sha256" not in json.dumps(listed)

    assert http(secured, "DELETE", f"/v1/auth/api-tokens/{name}", basic("ada"))[0] == 204
    assert http(secured, "DELETE", f"/v1/auth/api-tokens/{name}", basic("ada"))[0] == 404
    with flight_sql.connect(secured.uri, db_kwargs=header, autocommit=True) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.execute("SELECT 1")
        assert "unknown or revoked API token" in str(err.value)
