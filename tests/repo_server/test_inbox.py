"""The inbox shows exactly the pending requests whose page offers their reader a decision,
whatever narrows it before the rules weigh each (policies/lifecycle/deciders.py)."""

from __future__ import annotations

from tests.fixtures.factories import accept, api, check_in, check_out, ref_path, version
from tests.support import World

PEOPLE = ("alice", "bob", "carol", "dave", "victor", "ivy")


def decidable(lib: World, who: str, request_id: int) -> bool:
    """Whether the request's page offers ``who`` to approve or refuse it."""
    response = lib.call("GET", f"/api/v1/requests/{request_id}", lib.tokens[who])
    if response.status_code == 404:
        return False
    assert response.status_code == 200, response.json
    return bool(response.json["you_may_approve"] or response.json["you_may_refuse"])


def test_the_inbox_holds_what_each_request_page_lets_its_reader_decide(lib: World) -> None:
    accept(lib, "team/app@1.0.0")
    check_in(lib, "team/app@1.0.0")
    check_out(lib, "team/app@1.0.0", approver=None)  # victor's
    version(lib, "team/tool@1.0.0", files={"tool.tar.gz": b"tool"})
    api(lib, "alice", "POST", ref_path("team/tool@1.0.0") + "/submit", {"to": "carol"}, 201)
    version(lib, "team/cli@1.0.0", files={"cli.tar.gz": b"cli"})
    api(lib, "alice", "POST", ref_path("team/cli@1.0.0") + "/submit", {}, 201)  # any officer
    version(lib, "team/api@1.0.0", files={"api.tar.gz": b"api"})
    accept(lib, "team/api@1.0.0")
    api(lib, "alice", "POST", ref_path("team/api@1.0.0") + "/checkin", {"release_notes": "x"}, 201)
    upgrade = {"target_version": "1.1.0", "reason": "a fix"}
    api(lib, "alice", "POST", "/api/v1/groups/team/products/app/upgrades", upgrade, 201)
    pending = api(lib, "ivy", "GET", "/api/v1/requests?view=all&state=pending")["requests"]
    assert {r["kind"] for r in pending} == {"checkout", "acceptance", "checkin", "upgrade"}
    waiting = {}
    for who in PEOPLE:
        inbox = api(lib, who, "GET", "/api/v1/requests?limit=1")
        found = [r["id"] for r in inbox["requests"]]
        while inbox["next"]:
            inbox = api(lib, who, "GET", f"/api/v1/requests?limit=1&cursor={inbox['next']}")
            found += [r["id"] for r in inbox["requests"]]
        expected = sorted(r["id"] for r in pending if decidable(lib, who, r["id"]))
        assert found == expected, who
        waiting[who] = len(found)
    assert waiting == {"alice": 0, "bob": 0, "carol": 2, "dave": 0, "victor": 3, "ivy": 0}
