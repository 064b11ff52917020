"""Signing in, tokens and accounts, as a user of the API sees them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from repo_server.auth.models import ApiToken, User
from repo_server.auth.passwords import hash_password, verify_password
from repo_server.settings import Settings
from tests.support import PASSWORD, World, refused_sign_ins


def test_login_gives_a_token_that_works(world: World) -> None:
    token = world.user("alice")
    assert token.startswith("depot_")
    me = world.call("GET", "/api/v1/auth/whoami", token)
    assert me.status_code == 200
    assert me.json["username"] == "alice"
    assert me.json["roles"] == [] and me.json["groups"] == {}


def test_every_bad_sign_in_gets_the_same_answer(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.user("alice")
    world.user("gone")
    world.call(
        "PATCH", "/api/v1/users/gone", world.user("root", roles=("admin",)), json={"active": False}
    )
    attempts = [
        {"username": "alice", "password": "wrong password here"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "alice", "password": ""},
        {"username": "gone", "password": PASSWORD},
        {"username": "*)(uid=*", "password": PASSWORD},
    ]
    with caplog.at_level("WARNING", logger="depot.auth"):
        answers = [world.call("POST", "/api/v1/auth/login", json=a) for a in attempts]
    assert {r.status_code for r in answers} == {401}
    assert {r.data for r in answers} == {
        b'{"error":"unauthorized","message":"invalid user name or password"}\n'
    }
    # Each failure is a log line naming the account; none is an audit record.
    refused = refused_sign_ins(caplog.records)
    assert [e["user"] for e in refused] == [a["username"] for a in attempts]
    assert [e["outcome"] for e in world.audit(action="auth.login")] == ["ok"] * 3


def test_login_needs_both_fields(world: World) -> None:
    r = world.call("POST", "/api/v1/auth/login", json={"username": "alice"})
    assert r.status_code == 400 and r.json == {
        "error": "invalid_request",
        "message": "missing field 'password'",
        "field": "password",
    }


def test_bad_authorization_headers(world: World) -> None:
    for header in (
        "Basic YWxpY2U6cHc=",
        "Bearer",
        "Bearer depot_0123456789abcdef_short",
        "Bearer garbage",
    ):
        r = world.client.get("/api/v1/auth/whoami", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="depot"'


def test_anonymous_calls_outside_groups_need_sign_in(world: World) -> None:
    for path in ("/api/v1/auth/whoami", "/api/v1/groups", "/api/v1/tokens", "/api/v1/search?q=x"):
        r = world.call("GET", path)
        assert r.status_code == 401 and r.json["error"] == "unauthorized", path


def test_login_token_expires(world: World) -> None:
    token = world.user("alice")
    world.clock.advance(days=7, seconds=1)
    r = world.call("GET", "/api/v1/auth/whoami", token)
    assert r.status_code == 401
    assert "expired" in r.json["message"]


def test_logout_revokes_the_token(world: World) -> None:
    token = world.user("alice")
    assert world.call("POST", "/api/v1/auth/logout", token).status_code == 200
    r = world.call("GET", "/api/v1/auth/whoami", token)
    assert r.status_code == 401 and "revoked" in r.json["message"]


def test_tokens_are_stored_hashed(world: World) -> None:
    token = world.user("alice")
    secret = token.rsplit("_", 1)[1]
    with world.depot.db.read() as session:
        rows = session.scalars(sa.select(ApiToken)).all()
        hashes = [row.secret_hash for row in rows]
    assert rows and all(secret not in h for h in hashes)
    assert all(token not in h for h in hashes)


def test_disabled_account_tokens_stop_working(world: World) -> None:
    root = world.user("root", roles=("admin",))
    token = world.user("alice")
    r = world.call("PATCH", "/api/v1/users/alice", root, json={"active": False})
    assert r.status_code == 200 and r.json["active"] is False
    r = world.call("GET", "/api/v1/auth/whoami", token)
    assert r.status_code == 401 and "disabled" in r.json["message"]


def test_group_token_for_ci(team: World) -> None:
    alice = team.tokens["alice"]
    r = team.call(
        "POST",
        "/api/v1/tokens",
        alice,
        json={"group": "team", "scope": "upload", "expires_in_days": 30, "name": "nightly"},
    )
    assert r.status_code == 201, r.json
    ci = r.json["token"]
    assert r.json["group"] == "team" and r.json["scope"] == "upload" and r.json["kind"] == "group"
    assert team.upload("team/app@1.0.0", "build.tar", b"build", ci).status_code == 201
    me = team.call("GET", "/api/v1/auth/whoami", ci).json
    assert me["token"]["group"] == "team" and me["token"]["scope"] == "upload"
    # The group's CI identity: a member of the group, not the person who made it.
    assert me["groups"] == {"team": ["member"]} and me["roles"] == []
    assert me["username"] == f"ci:team:{r.json['id']}"
    # The token reaches no other group, and cannot manage anything.
    team.group("second", {"alice": "member"})
    assert team.call("GET", "/api/v1/groups/second/products", ci).status_code == 404
    assert team.call("GET", "/api/v1/groups", ci).json["groups"][0]["name"] == "team"
    assert len(team.call("GET", "/api/v1/groups", ci).json["groups"]) == 1
    r = team.call(
        "POST", "/api/v1/groups/team/members", ci, json={"username": "dave", "role": "member"}
    )
    assert r.status_code == 403 and r.json["rule"] == "token.scope"
    r = team.call("POST", "/api/v1/tokens", ci, json={"group": "team", "scope": "read"})
    assert r.status_code == 403
    r = team.call(
        "POST",
        "/api/v1/groups/team/products",
        ci,
        json={"name": "x", "category": "system", "origin": "in_house"},
    )
    assert r.status_code == 403 and r.json["rule"] == "token.scope"


def test_read_token_cannot_upload(team: World) -> None:
    r = team.call(
        "POST", "/api/v1/tokens", team.tokens["alice"], json={"group": "team", "scope": "read"}
    )
    read = r.json["token"]
    assert team.call("GET", "/api/v1/groups/team/products", read).status_code == 200
    r = team.upload("team/app@1.0.0", "x.bin", b"x", read)
    assert r.status_code == 403 and r.json["rule"] == "token.scope"
    assert (
        team.call("GET", "/api/v1/groups/team/products/app/versions/1.0.0", read).json["files"]
        == []
    )


def test_group_token_survives_its_maker_leaving_and_being_disabled(team: World) -> None:
    ci = team.call(
        "POST", "/api/v1/tokens", team.tokens["alice"], json={"group": "team", "scope": "upload"}
    ).json["token"]
    assert team.call("GET", "/api/v1/groups/team", ci).status_code == 200
    for role in ("member", "software_manager"):
        r = team.call("DELETE", f"/api/v1/groups/team/members/alice/{role}", team.tokens["root"])
        assert r.status_code == 200
    assert team.call("PATCH", "/api/v1/users/alice", team.tokens["root"], json={"active": False})
    assert team.call("GET", "/api/v1/auth/whoami", team.tokens["alice"]).status_code == 401
    assert team.call("GET", "/api/v1/groups/team", ci).status_code == 200
    r = team.upload("team/app@1.0.0", "after.tar", b"after alice left", ci)
    assert r.status_code == 201, r.json
    upload = team.audit(action="file.upload")[-1]
    assert upload["actor"].startswith("ci:team:")


def test_group_token_expiry_and_revocation(team: World) -> None:
    made = team.call(
        "POST",
        "/api/v1/tokens",
        team.tokens["alice"],
        json={"group": "team", "scope": "read", "expires_in_days": 1},
    ).json
    assert team.call("GET", "/api/v1/groups/team", made["token"]).status_code == 200
    team.clock.advance(days=1)
    r = team.call("GET", "/api/v1/groups/team", made["token"])
    assert r.status_code == 401 and "expired" in r.json["message"]
    other = team.call(
        "POST", "/api/v1/tokens", team.tokens["alice"], json={"group": "team", "scope": "read"}
    ).json
    assert team.call("DELETE", f"/api/v1/tokens/{other['id']}", team.tokens["alice"]).json[
        "revoked_at"
    ]
    assert team.call("GET", "/api/v1/groups/team", other["token"]).status_code == 401
    listed = team.call("GET", "/api/v1/tokens", team.tokens["alice"]).json["tokens"]
    assert {t["id"] for t in listed} >= {made["id"], other["id"]}
    assert all("token" not in t for t in listed)


def test_token_requests_are_checked(team: World) -> None:
    bob = team.tokens["alice"]
    cases = [
        ({"group": "team", "scope": "admin"}, 400),
        ({"group": "team", "scope": "read", "expires_in_days": 0}, 400),
        ({"group": "team", "scope": "read", "expires_in_days": 100000}, 400),
        ({"group": "team", "scope": "read", "expires_in_days": "30"}, 400),
        ({"group": "other", "scope": "read"}, 404),
        ({"group": "nope", "scope": "read"}, 404),
        ({"group": "team", "scope": "read", "name": "x" * 101}, 400),
    ]
    for body, status in cases:
        assert team.call("POST", "/api/v1/tokens", bob, json=body).status_code == status, body
    assert team.call("GET", "/api/v1/tokens", bob).json["tokens"][0]["kind"] == "login"


def test_someone_elses_token_cannot_be_revoked(team: World) -> None:
    made = team.call(
        "POST", "/api/v1/tokens", team.tokens["alice"], json={"group": "team", "scope": "read"}
    ).json
    assert (
        team.call("DELETE", f"/api/v1/tokens/{made['id']}", team.tokens["bob"]).status_code == 404
    )
    bobs = team.call("GET", "/api/v1/tokens", team.tokens["bob"]).json["tokens"][0]["id"]
    assert team.call("DELETE", f"/api/v1/tokens/{bobs}", team.tokens["alice"]).status_code == 404
    assert (
        team.call("DELETE", f"/api/v1/tokens/{made['id']}", team.tokens["root"]).status_code == 200
    )


def test_change_own_password(world: World) -> None:
    token = world.user("alice")
    r = world.call(
        "PUT",
        "/api/v1/auth/password",
        token,
        json={"current_password": "not it at all", "new_password": "another good passphrase"},
    )
    assert r.status_code == 401
    r = world.call(
        "PUT",
        "/api/v1/auth/password",
        token,
        json={"current_password": PASSWORD, "new_password": "short"},
    )
    assert r.status_code == 400 and r.json["field"] == "new_password"
    r = world.call(
        "PUT",
        "/api/v1/auth/password",
        token,
        json={"current_password": PASSWORD, "new_password": "another good passphrase"},
    )
    assert r.status_code == 200
    assert (
        world.call(
            "POST", "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
        ).status_code
        == 401
    )
    world.login("alice", "another good passphrase")


def test_admin_manages_accounts(world: World) -> None:
    root = world.user("root", roles=("admin",))
    r = world.call(
        "POST",
        "/api/v1/users",
        root,
        json={
            "username": "erin",
            "password": "long passphrase of hers",
            "display_name": "Erin",
            "roles": ["version_manager"],
        },
    )
    assert (
        r.status_code == 201
        and r.json["roles"] == ["version_manager"]
        and r.json["source"] == "local"
    )
    assert (
        world.call(
            "POST",
            "/api/v1/users",
            root,
            json={"username": "erin", "password": "yet another passphrase"},
        ).status_code
        == 409
    )
    assert (
        world.call(
            "POST",
            "/api/v1/users",
            root,
            json={"username": "Erin/../x", "password": "a long enough pass"},
        ).status_code
        == 400
    )
    assert (
        world.call(
            "POST", "/api/v1/users", root, json={"username": "fred", "password": "fred"}
        ).status_code
        == 400
    )
    assert (
        world.call(
            "POST", "/api/v1/users", root, json={"username": "fred", "roles": ["emperor"]}
        ).status_code
        == 400
    )
    r = world.call(
        "PATCH", "/api/v1/users/erin", root, json={"roles": ["auditor"], "display_name": "Erin E."}
    )
    assert r.json["roles"] == ["auditor"] and r.json["display_name"] == "Erin E."
    assert (
        world.call("PATCH", "/api/v1/users/erin", root, json={"colour": "blue"}).status_code == 400
    )
    assert (
        world.call("PATCH", "/api/v1/users/root", root, json={"active": False}).status_code == 409
    )
    assert world.call("PATCH", "/api/v1/users/root", root, json={"roles": []}).status_code == 409
    names = [u["username"] for u in world.call("GET", "/api/v1/users", root).json["users"]]
    assert names == ["erin", "root"]
    assert world.call("GET", "/api/v1/users/nobody", root).status_code == 404


def test_people_who_are_not_admins_cannot_manage_accounts(world: World) -> None:
    alice = world.user("alice")
    world.user("bob")
    r = world.call(
        "POST",
        "/api/v1/users",
        alice,
        json={"username": "mallory", "password": "a long enough pass"},
    )
    assert r.status_code == 403 and r.json["rule"] == "role.admin"
    assert world.call("GET", "/api/v1/users", alice).status_code == 403
    assert (
        world.call("PATCH", "/api/v1/users/bob", alice, json={"active": False}).status_code == 403
    )
    assert world.call("GET", "/api/v1/users/alice", alice).json["username"] == "alice"
    assert world.call("GET", "/api/v1/users/bob", alice).status_code == 403


def test_passwords_use_slow_salted_scrypt() -> None:
    assert Settings().scrypt_n == 1 << 15
    first, second = hash_password("same password", 1 << 10), hash_password("same password", 1 << 10)
    assert first.startswith("scrypt$1024$8$1$") and first != second
    assert verify_password("same password", first, 1 << 10)
    assert not verify_password("other password", first, 1 << 10)
    assert not verify_password("x", "not-a-hash", 1 << 10)


def test_first_admin_is_created_once_with_a_random_password(world: World) -> None:
    from repo_server.auth.principal import system

    first = world.depot.accounts.ensure_first_admin(system())
    assert first and len(first) >= 16
    assert world.depot.accounts.ensure_first_admin(system()) is None
    token = world.login("admin", first)
    assert world.call("GET", "/api/v1/auth/whoami", token).json["roles"] == ["admin"]
    with world.depot.db.read() as session:
        stored = session.scalar(sa.select(User.password_hash).where(User.username == "admin"))
    assert stored and first not in stored
