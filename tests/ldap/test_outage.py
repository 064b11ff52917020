"""The directory stops in the middle of a run: directory sign-ins get a clear 503, local
accounts (the break-glass admin) are not locked out, and everything works again when
it is back. Local sign-in can be switched off, except for break-glass accounts."""

from __future__ import annotations

import pytest

from repo_server.auth.principal import system
from repo_server.clock import FrozenClock
from tests.ldap.conftest import ROOT_PASSWORD, MakeWorld
from tests.ldap.directory import LiveDirectory, password
from tests.ldap.test_sign_in import BAD, login, whoami
from tests.support import PASSWORD, World, refused_sign_ins

DOWN = (
    "the directory (LDAP) cannot be reached, so directory accounts cannot sign in now; "
    "try again in a few minutes or tell your administrator"
)
RECHECK_DOWN = (
    "the directory (LDAP) cannot be reached to re-check your groups; try again in a few "
    "minutes or tell your administrator"
)


def test_the_directory_stopped_mid_run(
    world: World, directory: LiveDirectory, clock: FrozenClock
) -> None:
    alice = login(world, "alice").json["token"]
    world.user("local-lee")  # a local account of the embedded default

    directory.pause()
    answer = login(world, "bob")
    assert answer.status_code == 503
    assert answer.json == {"error": "unavailable", "message": DOWN}
    failed = world.audit(action="auth.login")[-1]
    assert failed["outcome"] == "failed" and failed["rule"] == "auth.directory"
    assert failed["reason"].startswith(f"no directory server answered: {directory.url}")

    # Local accounts, and the break-glass admin, are not locked out.
    assert login(world, "root", ROOT_PASSWORD).status_code == 201
    assert login(world, "local-lee", PASSWORD).status_code == 201
    # A directory token keeps working until its re-check is due...
    assert whoami(world, alice)["groups"] == {"payments": ["member"]}
    clock.advance(seconds=300)
    # ...then it cannot act on the last answer any longer.
    stale = world.call("GET", "/api/v1/auth/whoami", alice)
    assert stale.status_code == 503 and stale.json["message"] == RECHECK_DOWN

    directory.resume()
    assert whoami(world, alice)["groups"] == {"payments": ["member"]}
    assert login(world, "bob").status_code == 201


def test_fail_over_keeps_sign_in_working(make_world: MakeWorld, directory: LiveDirectory) -> None:
    world = make_world(ldap_url=f"ldap://127.0.0.1:9, {directory.url}")
    assert login(world, "alice").status_code == 201


def test_local_sign_in_switched_off_leaves_the_break_glass_accounts(
    make_world: MakeWorld, directory: LiveDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(local_sign_in=False)
    world.depot.accounts.create_user(system(), "local-lee", PASSWORD)
    with caplog.at_level("WARNING", logger="depot.auth"):
        refused = login(world, "local-lee", PASSWORD)
    assert refused.status_code == 401 and refused.data == BAD
    assert refused_sign_ins(caplog.records)[-1]["reason"] == (
        "local sign-in is switched off and this is not a break-glass account"
    )
    assert login(world, "root", ROOT_PASSWORD).status_code == 201
    assert login(world, "alice", password("alice")).status_code == 201
    directory.pause()
    assert login(world, "root", ROOT_PASSWORD).status_code == 201
    directory.resume()


def test_without_a_directory_its_accounts_cannot_act(
    world: World, make_world: MakeWorld, directory: LiveDirectory
) -> None:
    alice = login(world, "alice").json["token"]
    # The same database, served by a server whose directory sign-in was switched off.
    plain = make_world(ldap_url="")
    assert plain.depot.auth.directory is None
    refused = plain.call("GET", "/api/v1/auth/whoami", alice)
    assert refused.status_code == 401
    assert refused.json["message"] == (
        "this is a directory account, and directory sign-in is switched off on this server"
    )
    assert login(plain, "alice").status_code == 401
