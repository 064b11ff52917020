"""The `depot` commands of the smaller listings follow the server's cursors: the first
page by default (with a note on stderr when there are more), ``--limit N`` rows, or
``--all`` of them — group members, OIDC trusts, keys, a version's history and feedback."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policies.trust.keys import public_text
from tests.client.conftest import Live
from tests.fixtures.factories import accept, api, check_in


def as_(live: Live, who: str) -> dict[str, str]:
    return {"DEPOT_URL": live.url, "DEPOT_TOKEN": live.world.tokens[who]}


def rows(live: Live, who: str, *args: str) -> Any:
    return live.json(*args, env=as_(live, who))


def test_the_small_listings_follow_the_cursors(lib: Live) -> None:
    w = lib.world
    for n in range(60):
        w.user(f"user-{n:02}")
        api(w, "alice", "POST", "/api/v1/groups/team/members", {"username": f"user-{n:02}"}, 201)
    first = lib.depot("group", "members", "team", env=as_(lib, "alice"))
    assert first.exit_code == 0 and "there are more: --limit N or --all" in first.stderr
    assert len(rows(lib, "alice", "group", "members", "team", "--limit", "3")) == 3
    every = rows(lib, "alice", "group", "members", "team", "--all")
    assert len(every) == 64 and len({m["username"] for m in every}) == 64

    for n in range(3):
        body = {"issuer": f"https://ci-{n}.example", "audience": "depot", "claims": {"ref": "x"}}
        api(w, "alice", "POST", "/api/v1/groups/team/oidc-trusts", body, 201)
    assert len(rows(lib, "alice", "token", "oidc", "list", "--group", "team", "--limit", "2")) == 2

    for _ in range(3):
        public = public_text(Ed25519PrivateKey.generate().public_key())
        api(w, "victor", "POST", "/api/v1/keys", {"public": public}, 201)
    assert len(rows(lib, "victor", "keys", "list", "--limit", "2")) == 2
    assert len(rows(lib, "victor", "keys", "list", "--all")) == 3

    w.upload("team/app@1.0.0", "app.tar.gz", b"build", w.tokens["bob"])
    accept(w)
    check_in(w)
    for n in range(3):
        api(w, "carol", "POST", "/api/v1/groups/team/products/app/versions/1.0.0/feedback",
            {"text": f"note {n}"}, 201)  # fmt: skip
    notes = rows(lib, "bob", "feedback", "team/app@1.0.0", "--limit", "2")
    assert [n["text"] for n in notes] == ["note 0", "note 1"]
    history = rows(lib, "bob", "history", "team/app@1.0.0", "--limit", "4")
    assert len(history) == 4 and history[0]["action"] == "version.create"
    assert len(rows(lib, "bob", "history", "team/app@1.0.0", "--all")) > 8
