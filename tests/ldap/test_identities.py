"""A directory account is bound to its entry's permanent id (``entryUUID`` here), not to
its name: a recycled uid or a re-hired person under an old name is a new person, who
brings back neither the departed account nor its tokens, sessions and grants (issue 13
§4)."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from repo_server.auth.models import User
from repo_server.auth.principal import system
from repo_server.auth.services import DIRECTORY_GONE
from repo_server.clock import FrozenClock
from tests.fixtures.servers import serve
from tests.ldap.conftest import ROOT_PASSWORD, MakeWorld
from tests.ldap.directory import LiveDirectory, password
from tests.ldap.test_sign_in import login, whoami
from tests.repo_server.test_page_headers import Browser
from tests.support import World

INTERVAL = 300  # ldap_recheck_interval of the test servers
NEW_PASSWORD = "the-newcomers-own-pw"


def sync(world: World) -> dict[str, object]:
    directory = world.depot.auth.directory
    assert directory is not None
    report = directory.sync_all(system())
    assert not report.stopped, report.stopped
    return report.to_json()


def give_by_hand(world: World, username: str, group: str, role: str) -> None:
    root = login(world, "root", ROOT_PASSWORD).json["token"]
    added = world.call(
        "POST",
        f"/api/v1/groups/{group}/members",
        root,
        json={"username": username, "role": role},
    )
    assert added.status_code == 201, added.json


def stored_id(world: World, username: str) -> str | None:
    with world.depot.db.read() as session:
        return session.scalar(sa.select(User.directory_id).where(User.username == username))


def forget_ids(world: World) -> None:
    """Accounts as they were before Depot stored directory ids."""
    with world.depot.db.write() as session:
        session.execute(sa.update(User).values(directory_id=None))


def test_a_new_entry_with_a_departed_persons_uid_is_a_new_person(
    world: World, directory: LiveDirectory, clock: FrozenClock
) -> None:
    old_token = login(world, "alice").json["token"]
    with serve(world.app) as url:
        page = Browser(url)
        page.sign_in("alice", password=password("alice"))
        assert page.open("GET", "/inbox").status == 200
        give_by_hand(world, "alice", "ops", "acceptance_officer")

        directory.delete("alice")
        gone = sync(world)
        assert gone["gone"] == ["alice"]
        directory.add_person("alice", "Alice Newcomer", "payments-dev", secret=NEW_PASSWORD)
        later = sync(world)
        # The newcomer is a new account; the departed one stays gone.
        assert later["created"] == ["alice-2"] and later["gone"] == []
        assert ("alice-2", "payments", "member") in {
            (c["user"], c["group"], c["role"])
            for c in later["changes"]  # type: ignore[attr-defined]
        }

        refused = world.call("GET", "/api/v1/auth/whoami", old_token)
        assert refused.status_code == 401 and refused.json["message"] == DIRECTORY_GONE
        clock.advance(seconds=INTERVAL)
        assert world.call("GET", "/api/v1/auth/whoami", old_token).status_code == 401
        ended = page.open("GET", "/inbox")
        assert ended.status == 302 and "/login" in ended.headers["Location"]

        # The newcomer signs in with the name they were given by the directory...
        assert login(world, "alice").status_code == 401  # the departed person's password
        fresh = login(world, "alice", NEW_PASSWORD)
        assert fresh.status_code == 201, fresh.json
        me = whoami(world, fresh.json["token"])
        # ...and is alice-2, without the grant given by hand to the departed alice.
        assert me["username"] == "alice-2"
        assert me["groups"] == {"payments": ["member"]}
        assert world.call("GET", "/api/v1/groups/ops", fresh.json["token"]).status_code == 404
        # The departed account is still gone, with its grant given by hand.
        assert world.call("GET", "/api/v1/auth/whoami", old_token).status_code == 401
    created = world.audit(action="user.create")[-1]
    assert created["target"] == "user:alice-2"
    assert created["details"]["name_taken_by"] == "alice"
    assert stored_id(world, "alice-2") not in (None, stored_id(world, "alice"))


@pytest.mark.parametrize("how", ["search", "bind template"])
def test_a_replaced_entry_is_found_out_at_the_re_check(
    make_world: MakeWorld, directory: LiveDirectory, clock: FrozenClock, how: str
) -> None:
    # No sync in between: the newcomer signs in before the old account is re-checked.
    world = (
        make_world()
        if how == "search"
        else make_world(ldap_user_dn_template="uid={username},ou=people,dc=example,dc=org")
    )
    old_token = login(world, "bob").json["token"]
    directory.delete("bob")
    directory.add_person("bob", "Bob Again", "payments-dev", secret=NEW_PASSWORD)
    fresh = login(world, "bob", NEW_PASSWORD)
    assert fresh.status_code == 201, fresh.json
    assert whoami(world, fresh.json["token"])["username"] == "bob-2"
    assert whoami(world, old_token)["username"] == "bob"  # within the re-check interval
    clock.advance(seconds=INTERVAL)
    refused = world.call("GET", "/api/v1/auth/whoami", old_token)
    assert refused.status_code == 401 and refused.json["message"] == DIRECTORY_GONE
    # What the directory's groups give follows the entry: payments-leads still names the DN.
    assert whoami(world, fresh.json["token"])["groups"] == {
        "payments": ["member", "software_manager"]
    }
    gone = world.audit(action="user.directory_gone")[-1]
    assert gone["target"] == "user:bob" and gone["details"]["via"] == "re-check"


def test_the_same_entry_enabled_again_is_the_same_person(
    world: World, directory: LiveDirectory, clock: FrozenClock
) -> None:
    directory.disable("bob")
    sync(world)
    assert login(world, "bob").status_code == 401
    directory.modify(
        "dn: uid=bob,ou=people,dc=example,dc=org\nchangetype: modify\ndelete: employeeType\n"
    )
    back = login(world, "bob")
    assert back.status_code == 201, back.json
    assert whoami(world, back.json["token"]) | {"token": None} == {
        "username": "bob",
        "roles": [],
        "groups": {"payments": ["member", "software_manager"]},
        "token": None,
        "stands_in_for": {},
    }


def test_accounts_without_a_stored_id_get_it_at_sign_in_and_sync(
    world: World, directory: LiveDirectory
) -> None:
    for name in ("alice", "carol"):
        assert login(world, name).status_code == 201
    forget_ids(world)
    assert login(world, "alice").status_code == 201
    assert stored_id(world, "alice") is not None and stored_id(world, "carol") is None
    sync(world)
    assert stored_id(world, "carol") is not None
    # From then on a replaced entry is a new person.
    directory.delete("carol")
    directory.add_person("carol", "Carol Two", "payments-dev", secret=NEW_PASSWORD)
    assert whoami(world, login(world, "carol", NEW_PASSWORD).json["token"])["username"] == (
        "carol-2"
    )


def test_a_departed_account_without_a_stored_id_is_not_claimed(
    world: World, directory: LiveDirectory
) -> None:
    # Gone before Depot stored ids: nobody can tell whether a new entry is the same person.
    assert login(world, "alice").status_code == 201
    directory.delete("alice")
    sync(world)
    forget_ids(world)
    directory.add_person("alice", "Alice Maybe", "payments-dev", secret=NEW_PASSWORD)
    assert sync(world)["created"] == ["alice-2"]
    assert stored_id(world, "alice") is None


def test_an_operator_links_a_re_hired_person_to_the_old_account(
    world: World, directory: LiveDirectory
) -> None:
    from tests.ldap.test_server_commands import Runner

    run = Runner(world, directory, world.depot.settings.ldap_mapping_file)  # type: ignore[arg-type]
    assert login(world, "alice").status_code == 201
    give_by_hand(world, "alice", "ops", "acceptance_officer")
    directory.delete("alice")
    sync(world)
    directory.add_person("alice", "Alice Wang", "payments-dev", secret=NEW_PASSWORD)

    linked = json.loads(run("ldap", "link", "alice", "--json"))  # --json after, too
    assert linked["user"] == "alice" and linked["dn"] == "uid=alice,ou=people,dc=example,dc=org"
    assert linked["directory_id"] == stored_id(world, "alice")
    token = login(world, "alice", NEW_PASSWORD).json["token"]
    # The same person again: the account, and what was given to it by hand.
    assert whoami(world, token)["username"] == "alice"
    assert whoami(world, token)["groups"] == {
        "ops": ["acceptance_officer"],
        "payments": ["member"],
    }
    event = world.audit(action="user.link")[-1]
    assert event["actor"] == "system" and event["target"] == "user:alice"
    assert event["details"]["dn"] == "uid=alice,ou=people,dc=example,dc=org"
    assert event["details"]["directory_id"] == linked["directory_id"]


def test_linking_refuses_an_entry_another_account_holds_unless_moved(
    world: World, directory: LiveDirectory
) -> None:
    from tests.ldap.test_server_commands import Runner

    run = Runner(world, directory, world.depot.settings.ldap_mapping_file)  # type: ignore[arg-type]
    old = login(world, "alice").json["token"]
    directory.delete("alice")
    sync(world)
    directory.add_person("alice", "Alice Wang", "payments-dev", secret=NEW_PASSWORD)
    newcomer = login(world, "alice", NEW_PASSWORD).json["token"]
    assert whoami(world, newcomer)["username"] == "alice-2"

    out = run("ldap", "link", "alice", code=5)
    assert re.search(
        r"error: the directory entry uid=alice,.* is linked to the account alice-2", out
    )
    assert stored_id(world, "alice") != stored_id(world, "alice-2")
    assert run("ldap", "link", "nobody", code=4).strip().endswith("error: user 'nobody' not found")
    assert "not found in the directory" in run("ldap", "link", "alice", "--entry", "zed", code=4)
    assert "is disabled in the directory" in run("ldap", "link", "alice", "--entry", "dave", code=5)
    assert "is a local account with a password" in run("ldap", "link", "root", code=5)

    out = run("ldap", "link", "alice", "--move")
    assert out.startswith("linked alice to uid=alice,ou=people,dc=example,dc=org (")
    assert "taken from alice-2 (marked gone, tokens refused)" in out
    assert "revoked 1 sign-in token(s) from before" in out
    assert "alice: + payments member" in out
    # alice-2 lost the entry (and its tokens); alice has it, and signs in again: the
    # departed person's old tokens were revoked by the link, they do not come back.
    assert world.call("GET", "/api/v1/auth/whoami", newcomer).status_code == 401
    revoked = world.call("GET", "/api/v1/auth/whoami", old)
    assert revoked.status_code == 401 and revoked.json["message"] == (
        "this API token has been revoked"
    )
    again = login(world, "alice", NEW_PASSWORD).json["token"]
    assert whoami(world, again)["username"] == "alice"
    event = world.audit(action="user.link")[-1]
    assert event["details"]["moved_from"] == "alice-2"


def test_entries_without_the_id_attribute_are_refused_and_left_alone(
    make_world: MakeWorld, directory: LiveDirectory
) -> None:
    world = make_world()
    token = login(world, "alice").json["token"]
    # A node whose ldap_id_attribute no entry has: nobody signs in, and its sync takes
    # nothing from anybody.
    wrong = make_world(ldap_id_attribute="employeeNumber")
    assert login(wrong, "bob").status_code == 401
    directory_sync = wrong.depot.auth.directory
    assert directory_sync is not None
    report = directory_sync.sync_all(system())
    assert report.gone == [] and report.created == [] and report.changes == []
    assert "uid=alice,ou=people,dc=example,dc=org: no employeeNumber attribute" in (
        "\n".join(report.problems)
    )
    assert whoami(world, token)["groups"] == {"payments": ["member"]}


def test_the_newcomers_name_skips_names_already_taken(
    world: World, directory: LiveDirectory
) -> None:
    world.depot.accounts.create_user(system(), "erin-2", "a local password 123")
    assert login(world, "erin").status_code == 201
    directory.delete("erin")
    directory.add_person("erin", "Erin Three", secret=NEW_PASSWORD)
    token = login(world, "erin", NEW_PASSWORD).json["token"]
    assert whoami(world, token)["username"] == "erin-3"
