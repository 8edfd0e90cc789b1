"""Flight SQL at the wire, with pyarrow.flight: FlightInfo carries the real schema, tickets are
opaque handles (no SQL inside, forged ones refused) and a ticket can be read again."""

from __future__ import annotations

import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight
import pytest

SQL_TYPE = "type.googleapis.com/arrow.flight.protocol.sql."


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _bytes_field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def sql_command(message: str, payload: bytes) -> bytes:
    """A Flight SQL command: google.protobuf.Any{type_url, value}."""
    return _bytes_field(1, (SQL_TYPE + message).encode()) + _bytes_field(2, payload)


def statement_query(sql: str) -> bytes:
    return sql_command("CommandStatementQuery", _bytes_field(1, sql.encode()))


class _Cookies(flight.ClientMiddlewareFactory):
    """Keeps the server's session cookie, as the ADBC and JDBC drivers do."""

    def __init__(self) -> None:
        self.jar: dict[str, str] = {}

    def start_call(self, info):
        return _CookieCall(self)


class _CookieCall(flight.ClientMiddleware):
    def __init__(self, factory: _Cookies) -> None:
        self.factory = factory

    def sending_headers(self):
        if not self.factory.jar:
            return {}
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.factory.jar.items())}

    def received_headers(self, headers):
        for value in headers.get("set-cookie", []):
            name, _, rest = value.partition("=")
            self.factory.jar[name.strip()] = rest.split(";", 1)[0].strip()


@pytest.fixture
def client(server):
    c = flight.connect(server.uri, middleware=[_Cookies()])
    try:
        yield c
    finally:
        c.close()


def flight_info(client, sql: str) -> flight.FlightInfo:
    return client.get_flight_info(flight.FlightDescriptor.for_command(statement_query(sql)))


def test_flight_info_carries_the_result_schema(client):
    info = flight_info(client, "SELECT 1::INTEGER AS a, 'x' AS b, 2.5::DOUBLE AS c")
    assert info.schema is not None
    assert info.schema.names == ["a", "b", "c"]
    assert info.schema.field("a").type == pa.int32()
    assert info.schema.field("c").type == pa.float64()
    assert len(info.endpoints) >= 1


def test_ticket_is_opaque(client):
    marker = "e2e_marker_7f3a"
    info = flight_info(client, f"SELECT '{marker}' AS {marker}")
    for ep in info.endpoints:
        assert marker.encode() not in ep.ticket.ticket, "the ticket carries the SQL text (forgeable)"
    table = client.do_get(info.endpoints[0].ticket).read_all()
    assert table.to_pylist() == [{marker: marker}]


def test_ticket_survives_a_broken_stream(client):
    """A client whose DoGet broke off retries with the same ticket and gets every row.
    (lakeflight releases a ticket once a DoGet has streamed it to the end.)"""
    n = 1_000_000
    info = flight_info(client, f"SELECT i, i * i AS sq FROM range({n}) t(i)")
    ticket = info.endpoints[0].ticket
    reader = client.do_get(ticket)
    first = reader.read_chunk()
    assert 0 < first.data.num_rows < n, "want a result bigger than one batch"
    reader.cancel()
    # The server notices the cancelled stream asynchronously; until then it answers
    # FAILED_PRECONDITION ("already being read"). Retry with a short backoff, as clients do.
    deadline = time.monotonic() + 3
    while True:
        try:
            retried = client.do_get(ticket).read_all()
            break
        except pa.ArrowInvalid as e:
            if "already being read" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert retried.num_rows == n
    assert retried.column("i").to_pylist()[:3] == [0, 1, 2]
    assert pc.sum(retried.column("sq")).as_py() == sum(i * i for i in range(n))


@pytest.mark.parametrize(
    "ticket",
    [
        pytest.param(sql_command("TicketStatementQuery", _bytes_field(1, b"SELECT 42 AS forged")), id="sql-as-handle"),
        pytest.param(b"\x00\x01garbage", id="garbage"),
        pytest.param(b"", id="empty"),
    ],
)
def test_forged_ticket_is_refused(client, ticket):
    # pyarrow raises ArrowKeyError for NOT_FOUND and ArrowInvalid for INVALID_ARGUMENT.
    with pytest.raises((flight.FlightError, pa.ArrowException)) as err:
        client.do_get(flight.Ticket(ticket)).read_all()
    assert not isinstance(err.value, flight.FlightInternalError), f"forged ticket gave an internal error: {err.value}"
