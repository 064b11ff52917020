"""Sign-in lockout on a real `depot-server run` (gunicorn, two workers) whose counters are
in Redis, seen through the real `depot login` (issue 13 §1)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, serve

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["folder+sqlite"])
def redis_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(
        request, tmp_path, {"DEPOT_SIGN_IN_LIMITS_STORAGE": "redis://127.0.0.1:6379/3"}
    )


def login(server: Server, password: str) -> tuple[int, str]:
    result = server.depot(
        "login", "--server", server.url, "--user", "admin", "--password-stdin",
        input=password + "\n", check=False,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def test_the_workers_share_the_lockout_and_depot_login_says_how_long(
    redis_server: Server,
) -> None:
    server = redis_server
    # Two workers answer these; the counters in Redis are the same for both.
    for _ in range(5):
        code, output = login(server, "not the admin password")
        assert code == 3 and "invalid user name or password" in output
    code, output = login(server, server.admin_password)
    assert code == 3
    assert "too many failed sign-ins for this account or from this address" in output
    # 15 minutes from the first failure: 14 when the failures took a while on a busy machine.
    assert re.search(r"locked for 1[45] minutes", output), output
    request = urllib.request.Request(
        server.url + "/api/v1/auth/login",
        data=json.dumps({"username": "admin", "password": server.admin_password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 429
    assert 800 < int(refused.value.headers["Retry-After"]) <= 900
