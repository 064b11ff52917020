"""To anyone outside a group, the group and everything in it do not exist."""

from __future__ import annotations

import hashlib

import pytest

from tests.support import World

PATHS = [
    ("GET", "/api/v1/groups/{g}"),
    ("GET", "/api/v1/groups/{g}/members"),
    ("GET", "/api/v1/groups/{g}/products"),
    ("POST", "/api/v1/groups/{g}/products"),
    ("GET", "/api/v1/groups/{g}/products/app"),
    ("GET", "/api/v1/groups/{g}/products/app/versions"),
    ("POST", "/api/v1/groups/{g}/products/app/versions"),
    ("GET", "/api/v1/groups/{g}/products/app/versions/1.0.0"),
    ("GET", "/api/v1/groups/{g}/products/app/versions/1.0.0/files"),
    ("GET", "/api/v1/groups/{g}/products/app/versions/1.0.0/files/a.bin"),
    ("HEAD", "/api/v1/groups/{g}/products/app/versions/1.0.0/files/a.bin"),
    ("PUT", "/api/v1/groups/{g}/products/app/versions/1.0.0/files/b.bin"),
    ("POST", "/api/v1/groups/{g}/members"),
    ("GET", "/api/v1/groups/{g}/products/app/upgrades"),
    ("POST", "/api/v1/groups/{g}/products/app/upgrades"),
    ("POST", "/api/v1/groups/{g}/products/app/versions/1.0.0/submit"),
    ("POST", "/api/v1/groups/{g}/products/app/versions/1.0.0/checkin"),
    ("POST", "/api/v1/groups/{g}/products/app/versions/1.0.0/checkout"),
    ("POST", "/api/v1/groups/{g}/products/app/versions/1.0.0/retire"),
    ("GET", "/api/v1/groups/{g}/products/app/versions/1.0.0/feedback"),
    ("POST", "/api/v1/groups/{g}/products/app/versions/1.0.0/feedback"),
    ("GET", "/api/v1/groups/{g}/products/app/versions/1.0.0/history"),
    ("GET", "/api/v1/groups/{g}/products/app/versions/1.0.0/requests"),
    ("POST", "/api/v1/groups/{g}/products/app/versions/1.0.0/items"),
    ("DELETE", "/api/v1/groups/{g}/members/bob/member"),
    ("GET", "/api/v1/groups/{g}/provenance-keys"),
    ("POST", "/api/v1/groups/{g}/provenance-keys"),
    ("DELETE", "/api/v1/groups/{g}/provenance-keys/" + "0" * 64),
    ("GET", "/api/v1/groups/{g}/products/app/versions/1.0.0/provenance"),
    ("POST", "/api/v1/groups/{g}/products/app/versions/1.0.0/provenance"),
]


@pytest.mark.parametrize("caller", ["dave", "anonymous"])
def test_a_hidden_group_answers_like_a_missing_one(team: World, caller: str) -> None:
    assert (
        team.upload("team/app@1.0.0", "a.bin", b"secret bytes", team.tokens["bob"]).status_code
        == 201
    )
    token = team.tokens.get(caller)
    bodies = {
        "version": "2.0.0",
        "target_version": "2.0.0",
        "reason": "r",
        "release_notes": "n",
        "purpose": "p",
        "text": "t",
        "name": "x",
        "category": "system",
        "origin": "in_house",
        "username": "dave",
        "kind": "install media",
        "label": "DVD",
        "location": "safe",
        "custodian": "Li Lei",
        "public": "ed25519:" + "A" * 43 + "=",
        "envelope": {
            "payloadType": "application/vnd.in-toto+json",
            "payload": "e30=",
            "signatures": [{"keyid": "", "sig": "AA=="}],
        },
    }
    for method, path in PATHS:
        answers = []
        for group in ("team", "no-such-group"):
            headers = {"X-Checksum-Sha256": hashlib.sha256(b"x").hexdigest()}
            r = team.call(
                method,
                path.format(g=group),
                token,
                json=bodies if method in ("POST",) else None,
                data=b"x" if method == "PUT" else None,
                headers=headers,
            )
            answers.append((r.status_code, r.data.replace(group.encode(), b"G")))
        assert answers[0] == answers[1], (method, path)
        assert answers[0][0] == 404, (method, path, answers[0])
    # Nothing was changed by any of it.
    files = team.call(
        "GET", "/api/v1/groups/team/products/app/versions/1.0.0", team.tokens["bob"]
    ).json["files"]
    assert [f["name"] for f in files] == ["a.bin"]


def test_an_admin_who_is_not_a_member_sees_no_content(team: World) -> None:
    root = team.tokens["root"]
    assert team.call("GET", "/api/v1/groups/team/products", root).status_code == 404
    assert team.call("GET", "/api/v1/groups/team/members", root).status_code == 200


def test_search_finds_only_my_groups(team: World) -> None:
    team.product("other", "app-other", team.tokens["dave"])
    team.version("other", "app-other", "1.0.0", team.tokens["dave"])
    data = b"the same bytes in two groups"
    assert (
        team.upload("team/app@1.0.0", "app-linux.tar", data, team.tokens["bob"]).status_code == 201
    )
    assert (
        team.upload("other/app-other@1.0.0", "app-linux.tar", data, team.tokens["dave"]).status_code
        == 201
    )
    found = team.call("GET", "/api/v1/search?q=app", team.tokens["bob"]).json["results"]
    assert {r["group"] for r in found} == {"team"}
    assert {r["kind"] for r in found} == {"product", "file"}
    by_digest = team.call(
        "GET", f"/api/v1/search?sha256={hashlib.sha256(data).hexdigest()}", team.tokens["dave"]
    ).json["results"]
    assert [(r["group"], r["product"], r["version"], r["file"]) for r in by_digest] == [
        ("other", "app-other", "1.0.0", "app-linux.tar")
    ]
    assert team.call("GET", "/api/v1/search?q=app", team.tokens["root"]).json["results"] == []


def test_search_input_is_checked(team: World) -> None:
    bob = team.tokens["bob"]
    assert team.call("GET", "/api/v1/search", bob).status_code == 400
    assert team.call("GET", "/api/v1/search?sha256=xyz", bob).status_code == 400
    assert team.call("GET", "/api/v1/search?q=" + "a" * 201, bob).status_code == 400
    # LIKE wildcards are taken literally.
    assert team.call("GET", "/api/v1/search?q=%25", bob).json["results"] == []
    assert team.call("GET", "/api/v1/search?q=_", bob).json["results"] == []
