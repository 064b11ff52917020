"""Signing in with a directory account through the API, and what the directory's
groups give: project groups with roles, global roles, nested groups, the limits."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.ldap.conftest import ROOT_PASSWORD, MakeWorld
from tests.ldap.directory import password, person_dn
from tests.support import World, refused_sign_ins

BAD = b'{"error":"unauthorized","message":"invalid user name or password"}\n'


def login(world: World, username: str, secret: str | None = None) -> TestResponse:
    secret = password(username) if secret is None else secret
    return world.call("POST", "/api/v1/auth/login", json={"username": username, "password": secret})


def whoami(world: World, token: str) -> dict[str, Any]:
    answer = world.call("GET", "/api/v1/auth/whoami", token)
    assert answer.status_code == 200, answer.json
    result: dict[str, Any] = answer.json
    return result


def test_a_directory_person_signs_in_and_gets_the_mapped_group(world: World) -> None:
    answer = login(world, "alice")
    assert answer.status_code == 201, answer.json
    token = answer.json["token"]
    assert whoami(world, token) == {
        "username": "alice",
        "roles": [],
        "groups": {"payments": ["member"]},
        "token": {"id": answer.json["id"], "group": None, "scope": None},
        "stands_in_for": {},
    }
    assert world.call("GET", "/api/v1/groups/payments", token).status_code == 200
    assert world.call("GET", "/api/v1/groups/ops", token).status_code == 404
    me = world.call("GET", "/api/v1/users/alice", token).json
    assert me["source"] == "ldap"
    assert me["display_name"] == "Alice Wang" and me["email"] == "alice@example.org"
    created = world.audit(action="user.create")[-1]
    assert created["actor"] == "directory" and created["target"] == "user:alice"
    assert created["details"]["dn"] == person_dn("alice")
    added = world.audit(action="group.member.add")[-1]
    assert added["actor"] == "directory" and added["group"] == "payments"
    assert added["details"] == {
        "role": "member",
        "source": "ldap",
        "via": "sign-in",
        "directory_groups": ["cn=payments-dev,ou=groups,dc=example,dc=org"],
    }
    assert world.audit(action="auth.login")[-1]["actor"] == "alice"


def test_the_user_name_is_not_case_sensitive(world: World) -> None:
    answer = login(world, " Alice ", password("alice"))
    assert answer.status_code == 201
    assert whoami(world, answer.json["token"])["username"] == "alice"


def test_leads_manage_the_group_and_admins_are_admins(world: World) -> None:
    bob = login(world, "bob").json["token"]
    assert whoami(world, bob)["groups"] == {"payments": ["member", "software_manager"]}
    olivia = login(world, "olivia").json["token"]
    assert whoami(world, olivia)["roles"] == ["admin"]
    # The directory's admin can do what admins do.
    assert world.call("GET", "/api/v1/users", olivia).status_code == 200
    roles = world.audit(action="user.roles")[-1]
    assert roles["target"] == "user:olivia" and roles["details"]["added"] == ["admin"]
    assert roles["details"]["source"] == "ldap"


def test_a_nested_group_counts(world: World) -> None:
    # carol is in payments-contractors, which is a member of payments-dev.
    carol = login(world, "carol").json["token"]
    assert whoami(world, carol)["groups"] == {"payments": ["member"]}


def test_a_cycle_of_groups_is_followed_once(world: World) -> None:
    # erin is in cycle-b; cycle-b is in cycle-a and cycle-a in cycle-b.
    erin = login(world, "erin").json["token"]
    assert whoami(world, erin)["groups"] == {"ops": ["member"]}


def test_nesting_deeper_than_the_limit_does_not_count(world: World) -> None:
    # frank is in deep-3 ⊂ deep-2 ⊂ deep-1 ⊂ deep-0; the limit is two levels of nesting:
    # deep-1 (acceptance officer) counts, deep-0 (member) does not.
    frank = login(world, "frank").json["token"]
    assert whoami(world, frank)["groups"] == {"deep": ["acceptance_officer"]}


def test_with_a_deeper_limit_the_outer_group_counts(make_world: MakeWorld) -> None:
    world = make_world(ldap_nesting_depth=3)
    frank = login(world, "frank").json["token"]
    assert whoami(world, frank)["groups"] == {"deep": ["acceptance_officer", "member"]}


def test_without_nesting_only_direct_groups_count(make_world: MakeWorld) -> None:
    world = make_world(ldap_nesting_depth=0)
    carol = login(world, "carol").json["token"]
    assert whoami(world, carol)["groups"] == {}


def test_a_person_in_no_mapped_group_signs_in_with_no_groups(world: World) -> None:
    ivan = login(world, "ivan").json["token"]
    assert whoami(world, ivan)["groups"] == {} and whoami(world, ivan)["roles"] == []


def test_every_bad_sign_in_gets_the_same_answer(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    attempts = [
        ("alice", "not her password", "the directory refused the password: Invalid credentials"),
        ("nobody", "whatever it is", "unknown user"),
        ("alice", "", "empty password"),
        ("dave", password("dave"), "disabled in the directory"),
        ("twin", password("twin1"), "several directory entries have uid=twin"),
    ]
    with caplog.at_level("WARNING", logger="depot.auth"):
        answers = [login(world, name, secret) for name, secret, _ in attempts]
    assert [a.status_code for a in answers] == [401] * len(attempts)
    assert {a.data for a in answers} == {BAD}
    refused = refused_sign_ins(caplog.records)
    assert [(e["user"], e["reason"]) for e in refused] == [
        (name, reason) for name, _, reason in attempts
    ]
    assert {e["rule"] for e in refused} == {"auth.directory"}
    # Nobody got an account or a grant out of it.
    assert world.audit(actor="directory") == []


def test_injection_in_the_user_name_signs_nobody_in(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    names = ["*", "*)(uid=*", "alice)(|(uid=*", "al*", "alice)(objectClass=*"]
    with caplog.at_level("WARNING", logger="depot.auth"):
        for name in names:
            answer = login(world, name, password("alice"))
            assert answer.status_code == 401 and answer.data == BAD, name
        # NUL is refused in any JSON string before anyone is asked (docs/security.md).
        nul = login(world, "alice\x00", password("alice"))
        assert nul.status_code == 400 and nul.get_json()["field"] == "username"
    assert world.audit(actor="directory") == []
    refused = refused_sign_ins(caplog.records)
    assert {e["reason"] for e in refused} == {"not a valid user name"}
    assert [e["user"] for e in refused] == names


def test_a_local_account_is_not_taken_over_by_the_directory(world: World) -> None:
    # "root" is a local account; the directory is never asked about it.
    assert login(world, "root", ROOT_PASSWORD).status_code == 201
    assert login(world, "root", "root-directory-pw").status_code == 401


def test_an_account_made_without_a_password_signs_in_through_the_directory(
    world: World,
) -> None:
    root = login(world, "root", ROOT_PASSWORD).json["token"]
    made = world.call("POST", "/api/v1/users", root, json={"username": "ivan"})
    assert made.status_code == 201 and made.json["source"] == "local"
    added = world.call(
        "POST", "/api/v1/groups/ops/members", root, json={"username": "ivan", "role": "member"}
    )
    assert added.status_code in (200, 201), added.json
    ivan = login(world, "ivan").json["token"]
    me = world.call("GET", "/api/v1/users/ivan", ivan).json
    assert me["source"] == "ldap"
    assert whoami(world, ivan)["groups"] == {"ops": ["member"]}


def test_directory_people_change_their_password_in_the_directory(world: World) -> None:
    alice = login(world, "alice").json["token"]
    answer = world.call(
        "PUT",
        "/api/v1/auth/password",
        alice,
        json={"current_password": password("alice"), "new_password": "a brand new password"},
    )
    assert answer.status_code == 400
    assert answer.json["message"] == (
        "you sign in with your directory (LDAP) account: change your password there, not in Depot"
    )
    root = login(world, "root", ROOT_PASSWORD).json["token"]
    reset = world.call(
        "PATCH", "/api/v1/users/alice", root, json={"password": "a brand new password"}
    )
    assert reset.status_code == 400
    assert "signs in through the directory" in reset.json["message"]


def test_an_admin_disabling_a_directory_account_in_depot_keeps_it_out(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    assert login(world, "alice").status_code == 201
    root = login(world, "root", ROOT_PASSWORD).json["token"]
    world.call("PATCH", "/api/v1/users/alice", root, json={"active": False})
    with caplog.at_level("WARNING", logger="depot.auth"):
        answer = login(world, "alice")
    assert answer.status_code == 401 and answer.data == BAD
    assert refused_sign_ins(caplog.records)[-1]["reason"] == "disabled"
