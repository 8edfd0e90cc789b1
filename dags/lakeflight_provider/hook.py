"""The hook: one Airflow Connection names a lakeflight server, and LakeflightHook talks to it over
both of its doors, the HTTP sidecar (ingest, transforms, maintenance) and Flight SQL (queries, the
table list) through ADBC.

The connection (conn id ``lakeflight_default`` unless a task says otherwise):

- host, port: the HTTP sidecar; schema: ``http`` (default) or ``https``;
- password: a bearer token (``lakeflight token create airflow admin``); with a login as well, the
  pair is sent as Basic credentials instead;
- extra ``flight_uri``: the Flight SQL address, e.g. ``grpc://lakeflight:31337`` or
  ``grpc+tls://…`` (needed only by the tasks that query);
- extra ``timeout`` (seconds, default 60) and ``ca_cert`` (a PEM file trusted for https and
  grpc+tls).

Transforms and maintenance need the admin role on a server with users; ingest needs writer.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

import httpx
from airflow.sdk import BaseHook

# Statuses that mean the file itself is at fault: malformed (400), too big (413), a format
# lakeflight does not read (415), or rows the table cannot take (422). Any other error is not the
# file's (the server, the network, the token), and the file stays where it is.
REJECTED_STATUSES = frozenset({400, 413, 415, 422})

# Answers a retry cannot change: a request the server will refuse again (400, 422), a token missing
# or lacking the role (401, 403), or a name that does not exist (404: no such namespace for an
# ingest, no such table). Tasks fail at once on them.
FINAL_STATUSES = frozenset({400, 401, 403, 404, 422})


class LakeflightError(Exception):
    """A call to the server failed; status is the HTTP status (0 when none came back)."""

    def __init__(self, method: str, path: str, status: int, detail: str, body: Any = None):
        super().__init__(f"{method} {path}: HTTP {status}: {detail}" if status else f"{method} {path}: {detail}")
        self.status = status
        self.detail = detail
        self.body = body


class FileRejected(LakeflightError):
    """POST /ingest refused a file for what is in it; body is the server's problem document."""


@dataclass(frozen=True)
class Endpoint:
    """Where a lakeflight server is and how to authenticate, read from an Airflow Connection. It is
    plain data so that the sync hook and the async triggers build their clients from the same
    reading of the connection."""

    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    flight_uri: str | None = None
    flight_auth: dict[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    ca_cert: str | None = None

    @classmethod
    def from_connection(cls, conn) -> Endpoint:
        extra = conn.extra_dejson or {}
        if not conn.host:
            raise ValueError(f"connection {conn.conn_id!r} names no host: set the HTTP sidecar's host and port")
        scheme = conn.schema or "http"
        if scheme not in ("http", "https"):
            raise ValueError(f"connection {conn.conn_id!r}: schema {scheme!r} is no HTTP scheme (http or https)")
        host = conn.host
        base = host.rstrip("/") if "://" in host else f"{scheme}://{host}"
        if conn.port:
            base = f"{base}:{conn.port}"
        headers: dict[str, str] = {}
        flight_auth: dict[str, str] = {}
        if conn.login and conn.password:
            basic = base64.b64encode(f"{conn.login}:{conn.password}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
            flight_auth = {"username": conn.login, "password": conn.password}
        elif conn.password:
            headers["Authorization"] = f"Bearer {conn.password}"
            flight_auth = {"adbc.flight.sql.authorization_header": f"Bearer {conn.password}"}
        return cls(
            base_url=base,
            headers=headers,
            flight_uri=extra.get("flight_uri"),
            flight_auth=flight_auth,
            timeout=float(extra.get("timeout", 60)),
            ca_cert=extra.get("ca_cert"),
        )

    def verify(self) -> Any:
        return self.ca_cert or True

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.headers, timeout=self.timeout, verify=self.verify())

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=self.timeout, verify=self.verify()
        )


def check(resp: httpx.Response, *ok: int) -> Any:
    """The JSON body of resp, or a LakeflightError with the server's problem detail."""
    if resp.status_code in ok:
        return resp.json()
    try:
        body = resp.json()
        detail = body.get("detail") or body.get("title") or resp.text
    except ValueError:
        body, detail = None, resp.text.strip() or resp.reason_phrase
    req = resp.request
    raise LakeflightError(req.method, req.url.raw_path.decode(), resp.status_code, detail, body)


def task_error(what: str, e: LakeflightError) -> Exception:
    """The exception a task raises for a failed call: AirflowFailException (no retries) when the
    answer would be the same next time, AirflowException (retried with backoff) otherwise."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    final = e.status in FINAL_STATUSES
    return (AirflowFailException if final else AirflowException)(f"{what}: {e}")


def table_path(table: str) -> str:
    """The /v1/tables/{ns}/{table} path of a qualified name ("gold.fct_orders")."""
    ns, sep, name = table.partition(".")
    if not sep or not ns or not name:
        raise ValueError(f"table {table!r}: want namespace.name")
    return f"/v1/tables/{quote(ns, safe='')}/{quote(name, safe='')}"


class LakeflightHook(BaseHook):
    """Calls one lakeflight server: POST /ingest, /transform, the maintenance endpoints and Flight
    SQL queries. Construct it in execute(), not at DAG parse time."""

    conn_name_attr = "lakeflight_conn_id"
    default_conn_name = "lakeflight_default"
    conn_type = "lakeflight"
    hook_name = "lakeflight"

    def __init__(self, lakeflight_conn_id: str = default_conn_name):
        super().__init__()
        self.lakeflight_conn_id = lakeflight_conn_id

    @cached_property
    def endpoint(self) -> Endpoint:
        return Endpoint.from_connection(self.get_connection(self.lakeflight_conn_id))

    def get_conn(self) -> httpx.Client:
        return self.endpoint.client()

    # HTTP sidecar

    def ingest(self, path: str, table: str, key: str, options: dict[str, str] | None = None) -> dict:
        """POST /ingest of one file into table with an idempotency key; the server's result (its
        `replayed` is true when the key had been committed before). A file the server refuses for
        its content raises FileRejected; any other failure LakeflightError."""
        params = {**(options or {}), "table": table, "filename": os.path.basename(path)}
        size = os.path.getsize(path)
        headers = {"Idempotency-Key": key, "Content-Type": "application/octet-stream", "Content-Length": str(size)}
        with self.get_conn() as client, open(path, "rb") as f:
            resp = client.post("/ingest", params=params, headers=headers, content=_chunks(f))
        try:
            return check(resp, 200)
        except LakeflightError as e:
            if e.status in REJECTED_STATUSES:
                raise FileRejected("POST", "/ingest", e.status, e.detail, e.body) from None
            raise

    def start_transform(self, body: dict) -> dict:
        """POST /transform: the queued run."""
        with self.get_conn() as client:
            return check(client.post("/transform", json=body), 202)

    def get_transform(self, run_id: str) -> dict:
        with self.get_conn() as client:
            return check(client.get(f"/transform/{quote(run_id, safe='')}"), 200)

    def cancel_transform(self, run_id: str) -> dict:
        with self.get_conn() as client:
            return check(client.delete(f"/transform/{quote(run_id, safe='')}"), 202)

    def start_maintenance(self, table: str, action: str, body: dict | None = None) -> dict:
        """POST /v1/tables/{ns}/{table}/{action}?async=true: the running job."""
        with self.get_conn() as client:
            resp = client.post(f"{table_path(table)}/{action}", params={"async": "true"}, json=body or {})
            return check(resp, 202)

    def get_job(self, job_id: str) -> dict:
        with self.get_conn() as client:
            return check(client.get(f"/v1/maintenance/{quote(job_id, safe='')}"), 200)

    # Flight SQL

    def flight_connect(self):
        """A DB-API connection (ADBC Flight SQL, autocommit) to the server."""
        import adbc_driver_flightsql.dbapi as flight_sql

        ep = self.endpoint
        if not ep.flight_uri:
            raise ValueError(
                f"connection {self.lakeflight_conn_id!r} has no extra 'flight_uri' (e.g. grpc://host:31337): "
                "Flight SQL calls need it"
            )
        db_kwargs = dict(ep.flight_auth)
        if ep.ca_cert:
            with open(ep.ca_cert) as f:
                db_kwargs["adbc.flight.sql.client_option.tls_root_certs"] = f.read()
        return flight_sql.connect(ep.flight_uri, db_kwargs=db_kwargs, autocommit=True)

    def query(self, sql: str) -> list[dict]:
        """The rows of one query, as dicts."""
        with self.flight_connect() as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table().to_pylist()

    def list_tables(self) -> list[str]:
        """Every Iceberg table the server has ("namespace.name"), views left out, sorted."""
        with self.flight_connect() as conn:
            objects = conn.adbc_get_objects(depth="tables", table_types_filter=["TABLE"]).read_all().to_pylist()
        out = set()
        for catalog in objects:
            for schema in catalog["catalog_db_schemas"] or []:
                for t in schema["db_schema_tables"] or []:
                    out.add(f"{schema['db_schema_name']}.{t['table_name']}")
        return sorted(out)


def _chunks(f, size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := f.read(size):
        yield chunk
