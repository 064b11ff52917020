"""The core's smaller listings page like the others (docs/api.md, "Listings are paged"):
a group's members and OIDC trusts, a person's keys, a version's feedback and history.
Each one read ``limit=2`` at a time by following its ``Link`` header gives every row
exactly once, also when rows are added between two pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policies.trust.keys import public_text
from tests.fixtures.factories import accept, api, check_in, ref_path
from tests.fixtures.paging import once_each, read_all
from tests.support import World

APP = "team/app@1.0.0"


def test_a_groups_members_page_by_name(lib: World) -> None:
    for n in range(5):
        lib.user(f"user-{n}")
        api(lib, "alice", "POST", "/api/v1/groups/team/members", {"username": f"user-{n}"}, 201)
    lib.user("aaron")
    lib.user("zoe")

    def join() -> None:
        for name in ("aaron", "zoe"):
            api(lib, "alice", "POST", "/api/v1/groups/team/members", {"username": name}, 201)

    members = read_all(lib, "bob", "/api/v1/groups/team/members", "members", join)
    once_each(members, lambda m: m["username"], {f"user-{n}" for n in range(5)} | {"zoe"})
    assert [m["username"] for m in members] == sorted(m["username"] for m in members)
    # alice holds two roles: one row, both roles.
    [alice] = [m for m in members if m["username"] == "alice"]
    assert sorted(alice["roles"]) == ["member", "software_manager"]


def test_a_groups_oidc_trusts_page_oldest_first(lib: World) -> None:
    path = "/api/v1/groups/team/oidc-trusts"
    numbers = iter(range(20))

    def trust() -> None:
        body = {
            "issuer": f"https://ci-{next(numbers)}.example",
            "audience": "depot",
            "claims": {"project_path": "team/app", "ref": "main"},
        }
        api(lib, "alice", "POST", path, body, 201)

    for _ in range(5):
        trust()
    trusts = read_all(lib, "alice", path, "trusts", trust)
    once_each(trusts, lambda t: t["id"], set())
    issuers = [t["issuer"] for t in trusts]
    assert issuers[:6] == [f"https://ci-{n}.example" for n in range(6)]


def test_a_persons_keys_page_oldest_first(lib: World) -> None:
    def register() -> str:
        public = public_text(Ed25519PrivateKey.generate().public_key())
        return str(api(lib, "victor", "POST", "/api/v1/keys", {"public": public}, 201)["keyid"])

    made = [register() for _ in range(5)]
    keys = read_all(lib, "victor", "/api/v1/keys", "keys", register)
    once_each(keys, lambda k: k["keyid"], set(made))
    assert [k["keyid"] for k in keys][:5] == made


def test_a_versions_feedback_and_history_page_oldest_first(lib: World) -> None:
    accept(lib, APP)
    check_in(lib, APP)
    feedback = ref_path(APP) + "/feedback"
    said = iter(range(20))

    def tell() -> None:
        api(lib, "carol", "POST", feedback, {"text": f"note {next(said)}"}, 201)

    for _ in range(5):
        tell()
    notes = read_all(lib, "bob", feedback, "feedback", tell)
    assert [n["text"] for n in notes] == [f"note {n}" for n in range(6)]

    history = read_all(lib, "bob", ref_path(APP) + "/history", "events", tell)
    once_each(history, lambda e: e["id"], set())
    assert [e["id"] for e in history] == sorted(e["id"] for e in history)
    actions = [e["action"] for e in history]
    assert actions[0] == "version.create" and "checkin.approve" in actions
    assert actions.count("version.feedback") >= 6
