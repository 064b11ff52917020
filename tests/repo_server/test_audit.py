"""The audit trail: what is recorded, and who may read it."""

from __future__ import annotations

from tests.support import World


def test_actions_are_recorded_with_who_what_where_and_outcome(team: World) -> None:
    team.upload("team/app@1.0.0", "a.bin", b"abc", team.tokens["bob"])
    team.upload("team/app@1.0.0", "b.bin", b"abc", team.tokens["bob"], sha256="0" * 64)
    events = team.call("GET", "/api/v1/audit?group=team", team.tokens["root"]).json["events"]
    actions = [(e["action"], e["actor"], e["outcome"]) for e in events]
    assert ("product.register", "alice", "ok") in actions
    assert ("version.create", "alice", "ok") in actions
    assert ("file.upload", "bob", "ok") in actions
    assert ("file.upload", "bob", "refused") in actions
    upload = next(e for e in events if e["action"] == "file.upload")
    assert upload["remote_addr"] == "127.0.0.1" and upload["token"] and upload["at"].endswith("Z")


def test_only_auditors_and_admins_read_the_trail(team: World) -> None:
    assert team.call("GET", "/api/v1/audit", team.tokens["alice"]).status_code == 403
    auditor = team.user("ivy", roles=("auditor",))
    first = team.call("GET", "/api/v1/audit?limit=5", auditor).json
    events = first["events"]
    assert len(events) == 5
    later = team.call("GET", f"/api/v1/audit?cursor={first['next']}&limit=5", auditor).json[
        "events"
    ]
    assert later[0]["id"] > events[-1]["id"]
    assert team.call("GET", "/api/v1/audit?since=yesterday", auditor).status_code == 400
    assert team.call("GET", "/api/v1/audit?since=2026-01-01T00:00:00", auditor).status_code == 400
    assert (
        team.call("GET", "/api/v1/audit?since=2026-01-01T00:00:00Z&actor=bob", auditor).status_code
        == 200
    )


def test_membership_changes_are_recorded(team: World) -> None:
    team.call(
        "POST",
        "/api/v1/groups/team/members",
        team.tokens["alice"],
        json={"username": "dave", "role": "member"},
    )
    team.call("DELETE", "/api/v1/groups/team/members/dave/member", team.tokens["alice"])
    events = team.call("GET", "/api/v1/audit?target=team:user:dave", team.tokens["root"]).json[
        "events"
    ]
    assert [(e["action"], e["details"]["role"]) for e in events] == [
        ("group.member.add", "member"),
        ("group.member.remove", "member"),
    ]
