"""The directory takes access away: a person removed from a directory group, or
disabled there, loses the project group within the re-check interval, and their tokens
stop working for it."""

from __future__ import annotations

from repo_server.clock import FrozenClock
from tests.ldap.conftest import ROOT_PASSWORD
from tests.ldap.directory import LiveDirectory
from tests.ldap.test_sign_in import login, whoami
from tests.support import World

INTERVAL = 300  # ldap_recheck_interval of the test servers


def test_removal_from_a_directory_group_takes_effect_for_tokens(
    world: World, directory: LiveDirectory, clock: FrozenClock
) -> None:
    # (Group tokens are the group's own CI identities: they do not follow their maker.)
    alice = login(world, "alice").json["token"]

    directory.remove_member("payments-dev", "alice")
    # Until the interval is over, the last answer of the directory stands...
    clock.advance(seconds=INTERVAL - 1)
    assert world.call("GET", "/api/v1/groups/payments", alice).status_code == 200
    # ...and at the first request after it, the directory is asked again.
    clock.advance(seconds=1)
    gone = world.call("GET", "/api/v1/groups/payments", alice)
    assert gone.status_code == 404
    assert gone.json == {"error": "not_found", "message": "group 'payments' not found"}
    assert whoami(world, alice)["groups"] == {}
    removed = world.audit(action="group.member.remove")[-1]
    assert removed["actor"] == "directory" and removed["target"] == "payments:user:alice"
    assert removed["details"] == {"role": "member", "source": "ldap", "via": "re-check"}


def test_a_group_added_in_the_directory_arrives_at_the_next_check(
    world: World, directory: LiveDirectory, clock: FrozenClock
) -> None:
    ivan = login(world, "ivan").json["token"]
    directory.add_member("payments-leads", "ivan")
    assert whoami(world, ivan)["groups"] == {}
    clock.advance(seconds=INTERVAL)
    assert whoami(world, ivan)["groups"] == {"payments": ["member", "software_manager"]}


def test_a_person_disabled_in_the_directory_loses_everything(
    world: World, directory: LiveDirectory, clock: FrozenClock
) -> None:
    bob = login(world, "bob").json["token"]
    directory.disable("bob")
    clock.advance(seconds=INTERVAL)
    refused = world.call("GET", "/api/v1/auth/whoami", bob)
    assert refused.status_code == 401
    assert refused.json["message"] == (
        "this account is disabled in the directory or no longer exists there"
    )
    # Later requests are refused without asking the directory again.
    directory.pause()
    assert world.call("GET", "/api/v1/auth/whoami", bob).status_code == 401
    directory.resume()
    gone = world.audit(action="user.directory_gone")[-1]
    assert gone["target"] == "user:bob" and gone["details"]["via"] == "re-check"
    removals = world.audit(action="group.member.remove")
    assert sorted(e["details"]["role"] for e in removals) == ["member", "software_manager"]
    # Signing in again is refused like any bad sign-in.
    assert login(world, "bob").status_code == 401


def test_roles_given_by_hand_stay(
    world: World, directory: LiveDirectory, clock: FrozenClock
) -> None:
    alice = login(world, "alice").json["token"]
    root = login(world, "root", ROOT_PASSWORD).json["token"]
    for group in ("payments", "ops"):
        added = world.call(
            "POST",
            f"/api/v1/groups/{group}/members",
            root,
            json={"username": "alice", "role": "acceptance_officer"},
        )
        assert added.status_code == 201, added.json
    directory.remove_member("payments-dev", "alice")
    clock.advance(seconds=INTERVAL)
    assert whoami(world, alice)["groups"] == {
        "ops": ["acceptance_officer"],
        "payments": ["acceptance_officer"],
    }
