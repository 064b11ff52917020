"""Sign-in throttling and lockout, against a running server over HTTP (issue 13 §1).

Each server runs on the test clock (``FrozenClock``): the lockout passes when the clock is
moved, without sleeping. The counters live in ``memory://`` (the embedded default) or in
the Redis of these machines (``redis://127.0.0.1:6379/N``), where two app nodes on one
database share them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import urllib3

from repo_server.app import create_app
from repo_server.auth.principal import system
from repo_server.clock import FrozenClock
from tests.fixtures.servers import serve
from tests.support import PASSWORD, World, make_settings, running_world

REDIS = "redis://127.0.0.1:6379/3"
http = urllib3.PoolManager()


def post(url: str, path: str, body: dict[str, Any]) -> urllib3.BaseHTTPResponse:
    return http.request(
        "POST", url + path, body=json.dumps(body), headers={"Content-Type": "application/json"}
    )


def login(url: str, username: str, password: str) -> urllib3.BaseHTTPResponse:
    return post(url, "/api/v1/auth/login", {"username": username, "password": password})


def page_login(url: str, username: str, password: str) -> urllib3.BaseHTTPResponse:
    """Sign in on the sign-in page, as a browser would (its CSRF token first)."""
    pool = urllib3.PoolManager()
    form = pool.request("GET", url + "/login")
    (cookie,) = [
        c.split(";")[0] for c in form.headers.getlist("Set-Cookie") if c.startswith("session=")
    ]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.data.decode())
    assert token, form.data.decode()
    return pool.request(
        "POST",
        url + "/login",
        fields={"csrf_token": token.group(1), "username": username, "password": password},
        encode_multipart=False,
        headers={"Cookie": cookie},
        redirect=False,
    )


Live = Callable[..., tuple[World, str]]


@pytest.fixture
def live(tmp_path: Path, database_url: str, clock: FrozenClock) -> Iterator[Live]:
    """``live(**settings)``: an app node on this test's database, over real HTTP; the
    first one makes alice (a local account) and root (a break-glass admin)."""
    with ExitStack() as stack:
        count = 0

        def node(**overrides: Any) -> tuple[World, str]:
            nonlocal count
            count += 1
            settings = make_settings(
                tmp_path / "server",  # one data folder: the nodes share their secret key
                database_url,
                break_glass_accounts="root",
                **overrides,
            )
            if count > 1:  # another app node on the same database
                world = World(create_app(settings, clock=clock), clock)
                stack.callback(world.depot.close)
                return world, stack.enter_context(serve(world.app))
            world = stack.enter_context(running_world(settings, clock))
            if count == 1:
                world.depot.accounts.create_user(system(), "alice", PASSWORD)
                world.depot.accounts.create_user(system(), "root", PASSWORD, roles=["admin"])
            return world, stack.enter_context(serve(world.app))

        yield node


@pytest.mark.parametrize("storage", ["memory://", REDIS])
def test_an_account_is_locked_out_after_five_failures_then_let_in_again(
    live: Live, clock: FrozenClock, storage: str
) -> None:
    _world, url = live(sign_in_limits_storage=storage)
    for _ in range(5):
        assert login(url, "alice", "wrong password").status == 401
    locked = login(url, "alice", PASSWORD)
    assert locked.status == 429
    assert locked.json()["error"] == "too_many_attempts"
    assert "too many failed sign-ins" in locked.json()["message"]
    # Five failures in the current bucket: they leave the 15-minute window in 15 minutes.
    wait = int(locked.headers["Retry-After"])
    assert 800 < wait <= 900
    assert locked.json()["retry_after"] == wait
    clock.advance(seconds=wait - 1)
    assert login(url, "alice", PASSWORD).status == 429
    clock.advance(seconds=1)
    assert login(url, "alice", PASSWORD).status == 201


def test_thirty_failures_add_one_audit_record_and_log_lines(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    world, url = live()
    before = len(world.audit())
    with caplog.at_level("WARNING", logger="depot.auth"):
        answers = [login(url, "nobody", "guess").status for _ in range(30)]
    assert answers == [401] * 5 + [429] * 25
    added = world.audit()[before:]
    # One record for the one lockout, none for the failed attempts (the Merkle log grew by 1).
    assert [(e["action"], e["target"], e["outcome"]) for e in added] == [
        ("auth.lockout", "user:nobody", "refused")
    ]
    refused = [r for r in caplog.records if "sign-in refused" in r.getMessage()]
    assert len(refused) == 5


def test_the_sign_in_page_is_throttled_too(live: Live, clock: FrozenClock) -> None:
    _world, url = live()
    for _ in range(5):
        assert page_login(url, "alice", "wrong password").status == 401
    locked = page_login(url, "alice", PASSWORD)
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "too many failed sign-ins" in locked.data.decode()
    clock.advance(minutes=16)
    signed_in = page_login(url, "alice", PASSWORD)
    assert signed_in.status == 302
    assert signed_in.headers["Location"].endswith("/inbox")


def test_an_address_is_locked_out_after_spraying_many_accounts(live: Live) -> None:
    world, url = live(sign_in_address_limit="10/15 minutes")
    answers = [login(url, f"person{n}", "Winter2026!").status for n in range(12)]
    assert answers == [401] * 10 + [429] * 2
    # alice never failed, but her sign-in from the sprayer's address waits too.
    assert login(url, "alice", PASSWORD).status == 429
    lockouts = [e["target"] for e in world.audit(action="auth.lockout")]
    assert lockouts == ["address:127.0.0.1"]


def test_two_app_nodes_share_the_counters_in_redis(live: Live) -> None:
    _, first = live(sign_in_limits_storage=REDIS)
    _, second = live(sign_in_limits_storage=REDIS)
    for url in (first, second, first, second, first):
        assert login(url, "alice", "wrong password").status == 401
    assert login(second, "alice", PASSWORD).status == 429


def test_a_break_glass_account_is_locked_only_for_the_failing_address(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    world, url = live()
    with caplog.at_level("CRITICAL", logger="depot.auth"):
        for _ in range(5):
            assert login(url, "root", "wrong password").status == 401
    assert login(url, "root", PASSWORD).status == 429
    assert any("break-glass account locked out" in r.getMessage() for r in caplog.records)
    (lockout,) = world.audit(action="auth.lockout")
    assert lockout["target"] == "user:root"
    # From the admin's own console (another address) root still signs in.
    world.depot.auth.login("root", PASSWORD, "10.1.2.3")


def test_bad_limit_settings_are_refused_with_the_setting_named(tmp_path: Path) -> None:
    from repo_server.settings import SettingsError

    for name, value in (
        ("sign_in_account_limit", "lots"),
        ("sign_in_address_limit", "0/minute"),
        ("sign_in_limits_storage", "mongodb://x"),
        ("session_idle_timeout", 10),
    ):
        with pytest.raises(SettingsError, match=name):
            make_settings(tmp_path, "sqlite://", **{name: value})


def test_when_the_counter_store_is_down_only_break_glass_signs_in(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: every Redis call fails.
    _, url = live(sign_in_limits_storage="redis://127.0.0.1:1/0")
    down = login(url, "alice", PASSWORD)
    assert down.status == 503
    assert "store of sign-in counters cannot be reached" in down.json()["message"]
    assert page_login(url, "alice", PASSWORD).status == 503
    with caplog.at_level("CRITICAL", logger="depot.auth"):
        assert login(url, "root", PASSWORD).status == 201
    assert any("without throttling" in r.getMessage() for r in caplog.records)
