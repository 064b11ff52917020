"""Slow and idle clients cannot stop the server: connections whose headers never finish,
connections that send nothing and kept-alive connections that stay idle wait without a
worker thread, and whoever does send a request is answered meanwhile."""

from __future__ import annotations

import contextlib
import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Server, serve
from tests.fixtures.helpers import http_get, http_json

pytestmark = pytest.mark.e2e

HALF_SENT = 200
KEPT_ALIVE = 50
PIPELINED = 20


@pytest.fixture(params=["folder+sqlite"])
def patient_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    # A header timeout longer than the test: the held connections stay open throughout,
    # so what keeps the server answering is that they hold no thread, not that they end.
    yield from serve(request, tmp_path, {"DEPOT_HEADER_TIMEOUT": "300"})


@pytest.fixture(params=["folder+sqlite"])
def strict_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(request, tmp_path, {"DEPOT_HEADER_TIMEOUT": "2"})


def _port(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", _port(server)), timeout=30)


def _read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends on ``sock`` until it closes it."""
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def _one_answer(sock: socket.socket) -> bytes:
    """One whole answer (head and ``Content-Length`` body) on a kept-alive ``sock``."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _still_open(sock: socket.socket) -> bool:
    """Whether the server has neither answered on ``sock`` nor closed it."""
    sock.setblocking(False)
    try:
        return not sock.recv(1)
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def _list_groups(server: Server, token: str) -> int:
    request = urllib.request.Request(
        f"{server.url}/api/v1/groups", headers={"Authorization": f"Bearer {token}"}
    )
    # Generous: a server held up by the idle connections would not answer at all.
    with urllib.request.urlopen(request, timeout=10) as response:
        json.loads(response.read())
        return int(response.status)


def test_two_hundred_half_sent_requests_and_idle_connections_do_not_stop_the_server(
    patient_server: Server,
) -> None:
    server = patient_server
    sign_in = {"username": "admin", "password": server.admin_password}
    token = str(http_json("POST", f"{server.url}/api/v1/auth/login", sign_in)["token"])
    with contextlib.ExitStack() as held:
        half_sent = []
        for n in range(HALF_SENT):
            sock = held.enter_context(_connect(server))
            sock.sendall(f"GET /api/v1/groups?n={n} HTTP/1.1\r\nHost: depot\r\nX-Wait: ".encode())
            half_sent.append(sock)
        # A whole request, then half of the next one in the same packet (pipelined).
        for _ in range(PIPELINED):
            sock = held.enter_context(_connect(server))
            sock.sendall(
                b"GET /api/v1/health/live HTTP/1.1\r\nHost: depot\r\n\r\n"
                b"GET /api/v1/groups HTTP/1.1\r\nHost: depot\r\nX-Wait: "
            )
            assert _one_answer(sock).startswith(b"HTTP/1.1 200"), "the first one is answered"
            half_sent.append(sock)
        silent = [held.enter_context(_connect(server)) for _ in range(KEPT_ALIVE)]
        kept_alive = []
        for _ in range(KEPT_ALIVE):
            sock = held.enter_context(_connect(server))
            sock.sendall(b"GET /api/v1/health/live HTTP/1.1\r\nHost: depot\r\n\r\n")
            assert _one_answer(sock).startswith(b"HTTP/1.1 200"), "kept-alive request answered"
            kept_alive.append(sock)

        # Whoever sends a whole request is answered while all of them are held.
        for _ in range(5):
            assert _list_groups(server, token) == 200
        assert server.health() == 200
        assert all(_still_open(sock) for sock in half_sent)
        assert all(_still_open(sock) for sock in silent)

        # A held request that finishes its headers is answered as any other.
        late = half_sent[0]
        late.sendall(f"1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode())
        assert _read_answer(late).startswith(b"HTTP/1.1 200")


def test_headers_that_never_finish_are_answered_408_and_the_connection_closed(
    strict_server: Server,
) -> None:
    server = strict_server
    with _connect(server) as half_sent, _connect(server) as silent:
        half_sent.sendall(b"GET /api/v1/groups HTTP/1.1\r\nHost: depot\r\n")
        answer = _read_answer(half_sent)  # returns once the server closes the connection
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer
        assert json.loads(body) == {
            "error": "request_timeout",
            "message": "the request headers did not arrive within 2 seconds",
        }
        # A connection that never sent a byte is closed without an answer.
        assert _read_answer(silent) == b""
    assert server.health() == 200
    status, _, scrape = http_get(f"{server.url}/metrics")
    assert status == 200
    counted = {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(scrape.decode())
        for sample in family.samples
        if sample.name == "depot_http_slow_clients_total"
    }
    assert counted == {"header_timeout": 1, "idle": 1}
