"""Project groups, their storage areas and membership."""

from __future__ import annotations

from tests.support import World


def test_admin_creates_a_group_with_its_storage_area(world: World) -> None:
    root = world.user("root", roles=("admin",))
    r = world.call(
        "POST", "/api/v1/groups", root, json={"name": "payments", "display_name": "Payments team"}
    )
    assert r.status_code == 201
    assert r.json["name"] == "payments" and r.json["storage_area"] == "payments"
    assert r.json["display_name"] == "Payments team" and r.json["created_by"] == "root"
    created = world.audit(action="group.create")
    assert created[-1]["target"] == "payments" and created[-1]["actor"] == "root"
    assert created[-1]["details"]["storage_area"].endswith("/areas/payments/")


def test_group_creation_is_checked(world: World) -> None:
    root = world.user("root", roles=("admin",))
    alice = world.user("alice")
    assert world.call("POST", "/api/v1/groups", root, json={"name": "payments"}).status_code == 201
    assert world.call("POST", "/api/v1/groups", root, json={"name": "payments"}).status_code == 409
    for bad in ("Payments", "../etc", "pay/ments", "-x", "a" * 64, "pay--ments", ""):
        r = world.call("POST", "/api/v1/groups", root, json={"name": bad})
        assert r.status_code == 400, bad
    r = world.call("POST", "/api/v1/groups", alice, json={"name": "mine"})
    assert r.status_code == 403 and r.json["rule"] == "groups.version_manager"
    assert world.call("POST", "/api/v1/groups", root, json={"name": 5}).status_code == 400


def test_listings_show_only_my_groups(team: World) -> None:
    names = [
        g["name"] for g in team.call("GET", "/api/v1/groups", team.tokens["bob"]).json["groups"]
    ]
    assert names == ["team"]
    assert [
        g["name"] for g in team.call("GET", "/api/v1/groups", team.tokens["dave"]).json["groups"]
    ] == ["other"]
    assert team.call("GET", "/api/v1/groups", team.tokens["root"]).json["groups"] == []
    every = team.call("GET", "/api/v1/groups?all=true", team.tokens["root"]).json["groups"]
    assert [g["name"] for g in every] == ["other", "team"]
    assert team.call("GET", "/api/v1/groups?all=true", team.tokens["bob"]).status_code == 403
    mine = team.call("GET", "/api/v1/groups/team", team.tokens["alice"]).json
    assert mine["my_roles"] == ["member", "software_manager"] and mine["member_count"] == 3


def test_admin_and_software_manager_manage_members(team: World) -> None:
    alice, root = team.tokens["alice"], team.tokens["root"]
    team.user("erin")
    r = team.call(
        "POST", "/api/v1/groups/team/members", alice, json={"username": "erin", "role": "member"}
    )
    assert r.status_code == 201 and r.json == {
        "username": "erin",
        "display_name": "",
        "roles": ["member"],
    }
    r = team.call(
        "POST",
        "/api/v1/groups/team/members",
        alice,
        json={"username": "erin", "role": "acceptance_officer"},
    )
    assert r.json["roles"] == ["acceptance_officer", "member"]
    # Granting a role someone holds is a conflict, and changes nothing.
    r = team.call(
        "POST", "/api/v1/groups/team/members", alice, json={"username": "erin", "role": "member"}
    )
    assert r.status_code == 409 and r.json["message"] == (
        "'erin' already holds the role member in 'team'"
    )
    assert (
        len([e for e in team.audit(action="group.member.add") if e["target"] == "team:user:erin"])
        == 2
    )
    # Only an admin hands out the software manager role.
    r = team.call(
        "POST",
        "/api/v1/groups/team/members",
        alice,
        json={"username": "erin", "role": "software_manager"},
    )
    assert r.status_code == 403 and r.json["rule"] == "members.grant_software_manager"
    r = team.call(
        "POST",
        "/api/v1/groups/team/members",
        root,
        json={"username": "erin", "role": "software_manager"},
    )
    assert r.status_code == 201
    members = {
        m["username"]: m["roles"]
        for m in team.call("GET", "/api/v1/groups/team/members", alice).json["members"]
    }
    assert members["erin"] == ["acceptance_officer", "member", "software_manager"]
    assert (
        team.call("DELETE", "/api/v1/groups/team/members/erin/software_manager", alice).status_code
        == 403
    )
    assert team.call("DELETE", "/api/v1/groups/team/members/erin/member", alice).status_code == 200
    assert team.call("DELETE", "/api/v1/groups/team/members/erin/member", alice).status_code == 404
    assert team.call("GET", "/api/v1/groups/team/members", root).status_code == 200


def test_members_cannot_manage_members(team: World) -> None:
    r = team.call(
        "POST",
        "/api/v1/groups/team/members",
        team.tokens["bob"],
        json={"username": "dave", "role": "member"},
    )
    assert r.status_code == 403 and r.json["rule"] == "members.software_manager"
    assert (
        team.call(
            "DELETE", "/api/v1/groups/team/members/carol/acceptance_officer", team.tokens["bob"]
        ).status_code
        == 403
    )


def test_membership_changes_are_checked(team: World) -> None:
    alice = team.tokens["alice"]
    assert (
        team.call(
            "POST", "/api/v1/groups/team/members", alice, json={"username": "nobody"}
        ).status_code
        == 404
    )
    r = team.call(
        "POST", "/api/v1/groups/team/members", alice, json={"username": "dave", "role": "boss"}
    )
    assert r.status_code == 400 and r.json["field"] == "role"
    assert team.call("POST", "/api/v1/groups/team/members", alice, json={}).status_code == 400


def test_a_new_member_sees_the_group_at_once(team: World) -> None:
    dave = team.tokens["dave"]
    assert team.call("GET", "/api/v1/groups/team/products", dave).status_code == 404
    team.call(
        "POST", "/api/v1/groups/team/members", team.tokens["alice"], json={"username": "dave"}
    )
    assert [
        p["name"] for p in team.call("GET", "/api/v1/groups/team/products", dave).json["products"]
    ] == ["app"]
