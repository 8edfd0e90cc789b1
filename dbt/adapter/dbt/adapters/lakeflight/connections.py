"""Credentials and connections: one ADBC Flight SQL connection per dbt thread.

Each connection keeps lakeflight's session cookie, so the temp tables an
incremental model stages and any SET it runs belong to that thread's session and
to no other. Statements run in autocommit: lakeflight commits every Iceberg write
as its own snapshot and refuses Iceberg writes inside BEGIN … COMMIT, so dbt's
transaction calls are bookkeeping only and send no SQL.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
from dbt.adapters.contracts.connection import AdapterResponse, Connection, ConnectionState, Credentials
from dbt.adapters.events.logging import AdapterLogger
from dbt.adapters.exceptions import FailedToConnectError
from dbt.adapters.sql import SQLConnectionManager
from dbt_common.exceptions import DbtDatabaseError, DbtRuntimeError

logger = AdapterLogger("lakeflight")

# adbc-driver-flightsql 1.13.0's GetInfo fills a map shared by every connection of the
# process without a lock, and every query reads that map: two dbt threads connecting at
# once crashed dbt with the Go runtime's "fatal error: concurrent map writes", and one
# thread connecting while another ran a query with "concurrent map read and map write".
# So GetInfo runs once per server and process (under the lock, before the connection
# that runs it is used), and later connections prove the server answers with a query.
_GET_INFO_LOCK = threading.Lock()
_VENDORS: dict[str, str | None] = {}  # uri -> vendor_name from the process's one GetInfo

# The driver wraps a server message as "<CODE>: [FlightSQL] <message> (<Code>; <Call>). Vendor code: N";
# the gRPC code and lakeflight's message are what a dbt user needs.
_DRIVER_DECORATION = re.compile(
    r"^(?P<code>[A-Z_]+): \[FlightSQL\] (?P<msg>.*?)(?: \(\w+; [\w.]+\))?(?:\. Vendor code: -?\d+)?$", re.S
)


def server_message(err: BaseException) -> str:
    """lakeflight's own message from an ADBC error, with the gRPC code kept in front."""
    text = str(err).strip()
    m = _DRIVER_DECORATION.match(text)
    if not m:
        return text
    return f"{m.group('code')}: {m.group('msg').strip()}"


@dataclass
class LakeflightCredentials(Credentials):
    """A `type: lakeflight` profile target.

    `database` is the lakehouse catalog (the server's --catalog-name), `schema` the
    Iceberg namespace models go to by default. On a server with users configured, give
    `user` and `password`, or a bearer `token` (POST /v1/auth/token; the profile lakeflight
    writes for POST /transform takes one from LAKEFLIGHT_TOKEN).
    """

    database: str = field(default="lakehouse", kw_only=True)
    schema: str = field(default="", kw_only=True)
    host: str = field(default="127.0.0.1", kw_only=True)
    port: int = field(default=31337, kw_only=True)
    user: str = field(default="", kw_only=True)
    password: str = field(default="", kw_only=True, repr=False)
    token: str = field(default="", kw_only=True, repr=False)
    # TLS: `tls: true` speaks grpc+tls; `tls_root_certs` is a PEM file of the CA (or the
    # certificate) to trust instead of the system's roots, `tls_server_name` the name to
    # verify when the host is not on the certificate, `tls_client_cert` and `tls_client_key`
    # PEM files of a client certificate for servers that ask for one (mutual TLS).
    tls: bool = field(default=False, kw_only=True)
    tls_root_certs: str = field(default="", kw_only=True)
    tls_server_name: str = field(default="", kw_only=True)
    tls_client_cert: str = field(default="", kw_only=True)
    tls_client_key: str = field(default="", kw_only=True, repr=False)

    _ALIASES = {"catalog": "database", "namespace": "schema"}

    @property
    def type(self) -> str:
        return "lakeflight"

    @property
    def unique_field(self) -> str:
        return self.host

    @property
    def uri(self) -> str:
        return f"{'grpc+tls' if self.tls else 'grpc'}://{self.host}:{self.port}"

    def _connection_keys(self) -> tuple[str, ...]:
        return ("host", "port", "database", "schema")

    @classmethod
    def validate(cls, data: Any) -> None:
        # dbt passes the target without `type` (and `threads`); anything else we do not know
        # would be silently ignored, so a misspelt or not-yet-supported key is refused here.
        if isinstance(data, dict):
            known = {f.name for f in fields(cls)} | set(cls._ALIASES) | {"threads"}
            unknown = sorted(k for k in data if k not in known)
            if unknown:
                raise DbtRuntimeError(
                    "unknown key(s) for a lakeflight target: "
                    + ", ".join(unknown)
                    + " (known: host, port, database, schema, user, password, token, tls, tls_root_certs,"
                    + " tls_server_name, tls_client_cert, tls_client_key)"
                )
            if not data.get("schema"):
                raise DbtRuntimeError("a lakeflight target needs `schema` (the Iceberg namespace models go to)")
            if data.get("token") and (data.get("user") or data.get("password")):
                raise DbtRuntimeError("a lakeflight target takes a `token` or a `user` and `password`, not both")
            if bool(data.get("user")) != bool(data.get("password")):
                raise DbtRuntimeError("a lakeflight target with `user` needs `password` too, and the other way round")
            tls_files = ("tls_root_certs", "tls_server_name", "tls_client_cert", "tls_client_key")
            tls_keys = [k for k in tls_files if data.get(k)]
            if tls_keys and data.get("tls") is not True:
                raise DbtRuntimeError(f"a lakeflight target with {', '.join(tls_keys)} needs `tls: true`")
            if bool(data.get("tls_client_cert")) != bool(data.get("tls_client_key")):
                raise DbtRuntimeError(
                    "a lakeflight target with `tls_client_cert` needs `tls_client_key` too, and the other way round"
                )
        super().validate(data)


def _tls_options(creds: LakeflightCredentials) -> dict[str, str]:
    """The driver's TLS options: it takes PEM text, the profile names files."""
    db = adbc_driver_flightsql.DatabaseOptions
    options: dict[str, str] = {}
    for key, option in (
        ("tls_root_certs", db.TLS_ROOT_CERTS),
        ("tls_client_cert", db.MTLS_CERT_CHAIN),
        ("tls_client_key", db.MTLS_PRIVATE_KEY),
    ):
        path = getattr(creds, key)
        if path:
            try:
                options[option.value] = Path(path).expanduser().read_text()
            except OSError as e:
                raise OSError(f"{key} {path}: {e.strerror or e}") from e
    if creds.tls_server_name:
        options[db.TLS_OVERRIDE_HOSTNAME.value] = creds.tls_server_name
    return options


class LakeflightConnectionManager(SQLConnectionManager):
    TYPE = "lakeflight"

    @classmethod
    def open(cls, connection: Connection) -> Connection:
        if connection.state == ConnectionState.OPEN:
            return connection
        creds: LakeflightCredentials = connection.credentials
        options = {adbc_driver_flightsql.DatabaseOptions.WITH_COOKIE_MIDDLEWARE.value: "true"}
        if creds.token:
            options[adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value] = f"Bearer {creds.token}"
        elif creds.user:
            options[adbc_driver_manager.DatabaseOptions.USERNAME.value] = creds.user
            options[adbc_driver_manager.DatabaseOptions.PASSWORD.value] = creds.password
        try:
            options.update(_tls_options(creds))
            handle = flight_sql.connect(creds.uri, db_kwargs=options, autocommit=True)
            try:
                # ADBC connects lazily; one round trip proves the server answers.
                with _GET_INFO_LOCK:
                    known = creds.uri in _VENDORS
                    if not known:
                        _VENDORS[creds.uri] = handle.adbc_get_info().get("vendor_name")
                    vendor = _VENDORS[creds.uri]
                if known:
                    with handle.cursor() as cur:
                        cur.execute("SELECT 1")
                        cur.fetchall()
            except BaseException:
                handle.close()
                raise
        except (adbc_driver_manager.Error, OSError) as e:
            connection.handle = None
            connection.state = ConnectionState.FAIL
            raise FailedToConnectError(f"cannot reach lakeflight at {creds.uri}: {server_message(e)}") from e
        if vendor != "lakeflight":
            handle.close()
            connection.handle = None
            connection.state = ConnectionState.FAIL
            raise FailedToConnectError(f"{creds.uri} is a Flight SQL server but not lakeflight (vendor {vendor!r})")
        connection.handle = handle
        connection.state = ConnectionState.OPEN
        return connection

    @classmethod
    def close(cls, connection: Connection) -> Connection:
        if connection.state in {ConnectionState.CLOSED, ConnectionState.INIT}:
            return connection
        # The handle is released outright: a session holds nothing that must outlive the
        # thread (temp tables go with it), and no transaction is ever open.
        try:
            if connection.handle is not None:
                connection.handle.close()
        except adbc_driver_manager.Error as e:
            logger.debug(f"closing {connection.name}: {server_message(e)}")
        connection.state = ConnectionState.CLOSED
        return connection

    def cancel(self, connection: Connection) -> None:
        handle = connection.handle
        if handle is not None and connection.state == ConnectionState.OPEN:
            try:
                handle.adbc_cancel()
            except adbc_driver_manager.Error as e:
                logger.debug(f"cancelling {connection.name}: {server_message(e)}")

    # Autocommit: dbt's BEGIN/COMMIT send no SQL (see the module comment). Every statement
    # has committed by the time dbt calls commit(), whether or not a statement marked a
    # transaction open (a seed's bulk ingest does not), so commit() never complains.
    def add_begin_query(self, *args, **kwargs):
        return None

    def add_commit_query(self, *args, **kwargs):
        return None

    def commit(self):
        connection = self.get_thread_connection()
        connection.transaction_open = False
        return connection

    @classmethod
    def get_response(cls, cursor) -> AdapterResponse:
        rows = getattr(cursor, "rowcount", -1)
        return AdapterResponse(_message="OK", rows_affected=rows if rows is not None and rows >= 0 else None)

    @contextmanager
    def exception_handler(self, sql: str):
        try:
            yield
        except (DbtRuntimeError, FailedToConnectError):
            raise
        except adbc_driver_manager.Error as e:
            logger.debug(f"lakeflight error running: {sql}")
            raise DbtDatabaseError(server_message(e)) from e
        except Exception as e:
            logger.debug(f"error running: {sql}")
            raise DbtRuntimeError(str(e)) from e

    @classmethod
    def data_type_code_to_name(cls, type_code: Any) -> str:
        return str(type_code)

    def ingest(self, table: str, schema: str, database: str, data, mode: str) -> int:
        """Bulk ingest (Flight SQL CommandStatementIngest): one Iceberg snapshot."""
        connection = self.get_thread_connection()
        with self.exception_handler(f"-- adbc_ingest {database}.{schema}.{table} mode={mode}"):
            with connection.handle.cursor() as cur:
                return cur.adbc_ingest(table, data, mode=mode, catalog_name=database, db_schema_name=schema)

    def list_tables(self, database: str, schema: str) -> dict[str, str]:
        """name → table type (TABLE, VIEW, …) of one namespace, from Flight SQL GetTables."""
        connection = self.get_thread_connection()
        with self.exception_handler(f"-- GetTables {database}.{schema}"):
            objs = connection.handle.adbc_get_objects(
                depth="tables", catalog_filter=database, db_schema_filter=schema
            ).read_all()
        out: dict[str, str] = {}
        for cat in objs.to_pylist():
            if cat["catalog_name"] != database:
                continue
            for sch in cat["catalog_db_schemas"] or []:
                if sch["db_schema_name"] != schema:
                    continue
                for t in sch["db_schema_tables"] or []:
                    out[t["table_name"]] = t["table_type"]
        return out
