"""Two app nodes on one PostgreSQL database: a token revoked, or a person disabled, on one
node stops working at the very next request on the other, although each node keeps the
tokens it has just checked in memory (docs/configuration.md, ``DEPOT_TOKEN_CACHE_MS``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, start_server, stop_server
from tests.fixtures.helpers import http_get, http_json
from tests.fixtures.services import create_postgres_database, drop_postgres_database

WHOAMI = "/api/v1/auth/whoami"


@pytest.fixture
def nodes(tmp_path: Path, postgres_server: str) -> Iterator[tuple[Server, Server]]:
    """Node A and node B: one database, one data folder (blobs, secret key), two ports."""
    database = create_postgres_database(postgres_server)
    env = {"DEPOT_DATABASE_URL": database}
    first = start_server(tmp_path, env)
    try:
        second = start_server(tmp_path, env)
        second.admin_password = first.admin_password
        try:
            yield first, second
        finally:
            stop_server(second)
    finally:
        stop_server(first)
        drop_postgres_database(postgres_server, database)


def sign_in(node: Server, username: str, password: str) -> str:
    answer = http_json(
        "POST", f"{node.url}/api/v1/auth/login", {"username": username, "password": password}
    )
    return str(answer["token"])


def status(node: Server, token: str) -> tuple[int, bytes]:
    code, _, body = http_get(f"{node.url}{WHOAMI}", {"Authorization": f"Bearer {token}"})
    return code, body


def warm(node: Server, token: str) -> None:
    """Enough requests that every worker of the node has checked (and kept) the token."""
    for _ in range(12):
        assert status(node, token)[0] == 200


def test_a_token_revoked_on_one_node_is_refused_at_once_on_the_other(
    nodes: tuple[Server, Server],
) -> None:
    a, b = nodes
    token = sign_in(a, "admin", a.admin_password)
    warm(a, token)
    warm(b, token)

    http_json("POST", f"{a.url}/api/v1/auth/logout", {}, token)

    for node in (b, a):
        code, body = status(node, token)
        assert code == 401
        assert b"revoked" in body


def test_a_person_disabled_on_one_node_is_refused_at_once_on_the_other(
    nodes: tuple[Server, Server],
) -> None:
    a, b = nodes
    admin = sign_in(a, "admin", a.admin_password)
    a.admin("user", "create", "erin", "--password-stdin", input=a.admin_password + "\n")
    erin = sign_in(b, "erin", a.admin_password)
    warm(a, erin)
    warm(b, erin)

    http_json("PATCH", f"{a.url}/api/v1/users/erin", {"active": False}, admin)

    for node in (b, a):
        assert status(node, erin)[0] == 401
    assert status(b, admin)[0] == 200
