"""New passwords: not common or breached, not derived from the user name (NIST SP
800-63B), refused with a 400 naming the rule, against a running server (issue 13 §1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from repo_server.auth.passwords import check_password_strength, common_passwords
from repo_server.auth.principal import system
from repo_server.clock import FrozenClock
from tests.fixtures.servers import serve
from tests.support import PASSWORD, make_settings, running_world


@pytest.fixture
def api(tmp_path: Path, database_url: str, clock: FrozenClock) -> Iterator[Any]:
    """``api(method, path, body, as_user)`` on a running server with admin ``root``."""
    with running_world(make_settings(tmp_path, database_url), clock) as world:
        world.depot.accounts.create_user(system(), "root", PASSWORD, roles=["admin"])
        world.depot.accounts.create_user(system(), "alice", PASSWORD)
        tokens = {name: world.sign_in(name) for name in ("root", "alice")}
        with serve(world.app) as url:

            def call(method: str, path: str, body: Any, as_user: str) -> Any:
                return urllib3.request(
                    method,
                    url + "/api/v1" + path,
                    body=json.dumps(body),
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {tokens[as_user]}",
                    },
                )

            yield call


@pytest.mark.parametrize(
    ("username", "password", "rule"),
    [
        ("bob", "password1234", "password.common"),
        ("bob", "Password1234!", "password.common"),
        ("bob", "qwertyuiop123", "password.common"),
        ("bob", "iloveyou2026!!", "password.common"),
        ("j.smith", "J.Smith-2026-xyz", "password.user_name"),
        ("bob", "bob-the-builder-2026", "password.user_name"),
        ("alexander", "rednaxela-backwards", "password.user_name"),
    ],
)
def test_a_new_account_with_a_weak_password_is_refused_naming_the_rule(
    api: Any, username: str, password: str, rule: str
) -> None:
    answer = api("POST", "/users", {"username": username, "password": password}, "root")
    assert answer.status == 400
    assert answer.json()["field"] == "password"
    assert answer.json()["rule"] == rule
    # Nothing was made.
    assert api("GET", f"/users/{username}", None, "root").status == 404


def test_a_short_password_is_refused_by_the_request_shape(api: Any) -> None:
    answer = api("POST", "/users", {"username": "bob", "password": "shortpass"}, "root")
    assert answer.status == 400 and answer.json()["field"] == "password"
    assert "at least 12 characters" in answer.json()["message"]


def test_a_passphrase_of_ones_own_is_accepted(api: Any) -> None:
    answer = api(
        "POST", "/users", {"username": "bob", "password": "tea kettle on a red bike"}, "root"
    )
    assert answer.status == 201


def test_changing_ones_own_password_to_a_common_one_is_refused(api: Any) -> None:
    answer = api(
        "PUT",
        "/auth/password",
        {"current_password": PASSWORD, "new_password": "trustno1trustno1"},
        "alice",
    )
    assert answer.status == 400
    assert answer.json() == {
        "error": "invalid_request",
        "message": "password is a common or breached password (or one with digits or "
        "symbols added); choose a longer passphrase of your own",
        "field": "new_password",
        "rule": "password.common",
    }
    reset = api("PATCH", "/users/alice", {"password": "alice2026alice"}, "root")
    assert reset.status == 400 and reset.json()["rule"] == "password.user_name"


def test_the_shipped_list_says_where_it_came_from() -> None:
    header = (
        (Path(__file__).parents[2] / "repo_server" / "auth" / "common_passwords.txt")
        .read_text()
        .splitlines()[:3]
    )
    assert "zxcvbn" in header[1] and "scripts/build_common_passwords.py" in header[2]
    assert len(common_passwords()) > 20_000
    assert {"123456", "password", "qwerty"} <= common_passwords()
    assert check_password_strength(PASSWORD, "alice") is None
