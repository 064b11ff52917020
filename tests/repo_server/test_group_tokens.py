"""Group-owned CI identities (issue 13 §3): made by the group's software manager only,
scoped, capped by the server's maximum lifetime, listed with their last use and address,
and listed and revoked by the group's software managers and the admins."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.support import World


def make(team: World, who: str, **body: Any) -> Any:
    return team.call(
        "POST",
        "/api/v1/tokens",
        team.tokens[who],
        json={"group": "team", "scope": "upload", **body},
    )


def test_a_member_cannot_make_a_group_token_and_the_refusal_is_audited(team: World) -> None:
    r = make(team, "bob", expires_in_days=365)
    assert r.status_code == 403 and r.json["rule"] == "token.software_manager"
    refused = team.audit(action="token.create")[-1]
    assert refused["outcome"] == "refused" and refused["actor"] == "bob"
    assert team.call("GET", "/api/v1/tokens", team.tokens["bob"]).json["tokens"][0]["kind"] == (
        "login"
    )
    # Outside the group it does not exist; an admin outside it makes none either.
    assert make(team, "dave").status_code == 404
    assert make(team, "root").status_code == 404


def test_the_lifetime_is_capped_by_the_setting(team: World) -> None:
    tokens = team.app.extensions["depot"].tokens
    tokens.settings = dataclasses.replace(tokens.settings, max_token_days=90)
    r = make(team, "alice", expires_in_days=91)
    assert r.status_code == 400 and "maximum lifetime" in r.json["message"]
    assert r.json["field"] == "expires_in_days"
    assert make(team, "alice", expires_in_days=90).status_code == 201


def test_managers_and_admins_see_and_revoke_every_token_of_the_group(team: World) -> None:
    made = [make(team, "alice", name=f"pipeline-{n}").json for n in range(3)]
    team.call(
        "POST",
        "/api/v1/groups/team/members",
        team.tokens["root"],
        json={"username": "carol", "role": "software_manager"},
    )
    carol = team.call(
        "POST", "/api/v1/tokens", team.tokens["carol"], json={"group": "team", "scope": "read"}
    ).json
    made.append(carol)
    # One of them is used, from the test client's address.
    assert team.call("GET", "/api/v1/groups/team", made[0]["token"]).status_code == 200
    for who in ("root", "alice", "carol"):
        r = team.call("GET", "/api/v1/groups/team/tokens", team.tokens[who])
        assert r.status_code == 200, r.json
        listed = r.json["tokens"]
        assert {t["id"] for t in listed} == {t["id"] for t in made}
        assert [t["id"] for t in listed] == sorted(  # newest first
            [t["id"] for t in listed], key=[t["id"] for t in made][::-1].index
        )
        used = next(t for t in listed if t["id"] == made[0]["id"])
        assert used["last_used_at"] and used["last_used_addr"] == "127.0.0.1"
        assert all("token" not in t for t in listed)
    # A member is refused, an outsider does not see the group, a CI token manages nothing.
    r = team.call("GET", "/api/v1/groups/team/tokens", team.tokens["bob"])
    assert r.status_code == 403 and r.json["rule"] == "tokens.software_manager"
    assert team.call("GET", "/api/v1/groups/team/tokens", team.tokens["dave"]).status_code == 404
    r = team.call("GET", "/api/v1/groups/team/tokens", made[0]["token"])
    assert r.status_code == 403 and r.json["rule"] == "token.scope"
    # The admin revokes carol's token, alice revokes one of hers through either route.
    r = team.call("DELETE", f"/api/v1/groups/team/tokens/{carol['id']}", team.tokens["root"])
    assert r.status_code == 200 and r.json["revoked_at"]
    assert team.call("GET", "/api/v1/groups/team", carol["token"]).status_code == 401
    r = team.call("DELETE", f"/api/v1/tokens/{made[1]['id']}", team.tokens["carol"])
    assert r.status_code == 200
    revoked = team.audit(action="token.revoke")
    assert [e["actor"] for e in revoked[-2:]] == ["root", "carol"]
    assert revoked[-1]["group"] == "team"
    # Bad ids are 404s and change nothing.
    for path in ("/api/v1/groups/team/tokens/nope", "/api/v1/groups/other/tokens/x"):
        assert team.call("DELETE", path, team.tokens["alice"]).status_code == 404
    r = team.call("DELETE", f"/api/v1/groups/team/tokens/{made[2]['id']}", team.tokens["bob"])
    assert r.status_code == 403
    assert team.call("GET", "/api/v1/groups/team", made[2]["token"]).status_code == 200


def test_a_person_lists_and_revokes_their_own_tokens(team: World) -> None:
    mine = team.call("GET", "/api/v1/tokens", team.tokens["bob"]).json["tokens"]
    assert [t["kind"] for t in mine] == ["login"]
    r = team.call("DELETE", f"/api/v1/tokens/{mine[0]['id']}", team.tokens["bob"])
    assert r.status_code == 200
    assert team.call("GET", "/api/v1/auth/whoami", team.tokens["bob"]).status_code == 401
