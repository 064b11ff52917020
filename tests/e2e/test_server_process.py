"""The server process as the harness and its clients find it: a server that logs a lot
keeps answering, and a client that stalls its body gets a 408 instead of a worker."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, serve
from tests.fixtures.helpers import http_get, http_json

pytestmark = pytest.mark.e2e

#: What a pipe between two processes holds on Linux.
PIPE_SIZE = 64 * 1024


@pytest.fixture(params=["folder+sqlite"])
def stall_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(request, tmp_path, {"DEPOT_BODY_TIMEOUT": "2"})


def test_a_server_that_logs_more_than_a_pipe_holds_keeps_answering(
    stall_server: Server,
) -> None:
    # Each request's line names its 4,000-character path: 40 of them log well over
    # what the pipe holds, so a harness that stopped reading would leave the server
    # blocked on its next write, and these requests waiting.
    long_path = "/nowhere/" + "x" * 4000
    for n in range(40):
        assert http_get(f"{stall_server.url}{long_path}?n={n}")[0] == 404
    assert stall_server.health() == 200
    text = stall_server.wait_for_output(lambda text: f"{long_path}?n=39" in text)
    assert f"{long_path}?n=39" in text
    assert len(text.encode()) > PIPE_SIZE


def _stall(server: Server, head: str, sent: bytes) -> tuple[float, bytes]:
    """Send ``head`` and the first bytes ``sent`` of a longer body, then nothing; the
    seconds until the answer and all that came back until the server closed."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        started = time.monotonic()
        sock.sendall(head.encode() + b"\r\n" + sent)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return time.monotonic() - started, answer


def _split(answer: bytes) -> tuple[str, dict[str, str], object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, json.loads(body) if body else None


def test_a_stalled_request_body_is_answered_408_and_changes_nothing(
    stall_server: Server,
) -> None:
    server = stall_server
    waited, answer = _stall(
        server,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: depot\r\n"
        "Content-Type: application/json\r\nContent-Length: 200\r\n",
        b'{"username": "admin", ',
    )
    status, _, body = _split(answer)
    assert status.split()[1] == "408", answer
    assert body == {
        "error": "request_timeout",
        "message": "the request body stalled: no data for 2 seconds",
    }
    # ``answer`` is all that came before the server closed the connection: where the
    # next request would start on it is unknown.
    assert 1.5 < waited < 15  # the setting's 2 seconds, not a worker held forever

    # An upload that stalls halfway stores nothing.
    api = f"{server.url}/api/v1"
    sign_in = {"username": "admin", "password": server.admin_password}
    token = str(http_json("POST", f"{api}/auth/login", sign_in)["token"])
    http_json("POST", f"{api}/groups", {"name": "team"}, token)
    member = {"username": "admin", "role": "member"}
    http_json("POST", f"{api}/groups/team/members", member, token)
    product = {"name": "app", "category": "system", "origin": "in_house"}
    registration = http_json("POST", f"{api}/groups/team/products", product, token)
    server.approve_registration(int(str(registration["registration_request"])))
    version = f"{api}/groups/team/products/app/versions/1.0.0"
    http_json("POST", f"{api}/groups/team/products/app/versions", {"version": "1.0.0"}, token)
    _, answer = _stall(
        server,
        f"PUT /api/v1/groups/team/products/app/versions/1.0.0/files/app.tar.gz HTTP/1.1\r\n"
        f"Host: depot\r\nAuthorization: Bearer {token}\r\nContent-Length: 100000\r\n"
        f"X-Checksum-Sha256: {'0' * 64}\r\n",
        b"x" * 1000,
    )
    status, _, body = _split(answer)
    assert status.split()[1] == "408", answer
    assert body is not None and body["error"] == "request_timeout"  # type: ignore[index]
    assert http_json("GET", version, None, token)["files"] == []
    assert server.health() == 200
