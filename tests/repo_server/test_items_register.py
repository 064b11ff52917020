"""Physical items as a register of their own (实物归档, issue 12 §2): each item with its
identifier, kind, label, location and custodian, linked to its version; moves, loans
(借出), returns (归还) and custodian changes recorded with who and when, and audited; an
item on loan past its date stands out."""

from __future__ import annotations

from typing import Any

from tests.fixtures.factories import accept, api, ref_path
from tests.support import World

V = ref_path("team/app@1.0.0")
DONGLE = {"kind": "licence dongle", "label": "Oracle EE key", "location": "safe 2",
          "custodian": "Wang Fang"}  # fmt: skip


def in_library_with_media(lib: World) -> dict[str, Any]:
    """team/app@1.0.0 checked in with its install media, as its check-in request named."""
    accept(lib, "team/app@1.0.0")
    media = {"kind": "install media", "label": "DVD 1/1", "location": "cabinet A",
             "custodian": "Li Lei"}  # fmt: skip
    checkin = api(lib, "alice", "POST", V + "/checkin",
                  {"release_notes": "GA", "items": [media]}, 201)  # fmt: skip
    api(lib, "victor", "POST", f"/api/v1/requests/{checkin['id']}/approve", {"comment": "ok"})
    return checkin


def test_items_of_a_check_in_and_items_added_later_are_in_the_register(lib: World) -> None:
    checkin = in_library_with_media(lib)
    added = api(lib, "victor", "POST", V + "/items", {**DONGLE, "identifier": "KEY-7"}, 201)
    assert added["identifier"] == "KEY-7" and added["status"] == "in_archive"
    assert added["ref"] == "team/app@1.0.0" and added["created_by"] == "victor"
    items = api(lib, "ivy", "GET", "/api/v1/items")["items"]
    assert [(i["identifier"], i["kind"], i["request"]) for i in items] == [
        ("KEY-7", "licence dongle", None),
        ("PI-1", "install media", checkin["id"]),
    ]
    assert [i["identifier"] for i in api(lib, "bob", "GET", "/api/v1/items?q=dvd")["items"]] == [
        "PI-1"
    ]
    assert api(lib, "dave", "GET", "/api/v1/items")["items"] == []
    assert lib.call("GET", "/api/v1/items/KEY-7", lib.tokens["dave"]).status_code == 404
    taken = lib.call(
        "POST", V + "/items", lib.tokens["victor"], json={**DONGLE, "identifier": "KEY-7"}
    )
    assert taken.status_code == 409


def test_moves_loans_returns_and_custodians_are_recorded_steps(lib: World) -> None:
    in_library_with_media(lib)
    item = "/api/v1/items/PI-1"
    api(lib, "victor", "POST", item + "/move", {"location": "vault B", "comment": "audit"})
    api(lib, "victor", "POST", item + "/custodian", {"custodian": "Zhang Wei"})
    lent = api(lib, "victor", "POST", item + "/lend", {"holder": "bob", "due": "2026-11-29"})
    assert lent["status"] == "on_loan" and lent["holder"] == "bob" and not lent["overdue"]
    again = lib.call("POST", item + "/lend", lib.tokens["victor"],
                     json={"holder": "carol", "due": "2026-11-30"})  # fmt: skip
    assert again.status_code == 403 and again.json["rule"] == "item.on_loan"
    # Past its date the loan stands out, in the item and in the overdue view.
    lib.clock.advance(days=3)
    assert api(lib, "ivy", "GET", item)["overdue"] is True
    late = api(lib, "victor", "GET", "/api/v1/items?overdue=true")["items"]
    assert [i["identifier"] for i in late] == ["PI-1"]
    back = api(lib, "victor", "POST", item + "/return", {"comment": "intact"})
    assert back["status"] == "in_archive" and back["holder"] is None and not back["overdue"]
    steps = [(e["action"], e["actor"], e["before"], e["after"]) for e in back["events"]]
    assert steps == [
        ("register", "victor", "", "cabinet A (Li Lei)"),
        ("move", "victor", "cabinet A", "vault B"),
        ("custodian", "victor", "Li Lei", "Zhang Wei"),
        ("lend", "victor", "", "bob"),
        ("return", "victor", "bob", ""),
    ]
    actions = [(e["action"], e["outcome"]) for e in lib.audit(group="team")]
    for action in ("item.move", "item.custodian", "item.lend", "item.return"):
        assert (action, "ok") in actions
    assert ("item.lend", "refused") in actions


def test_only_the_version_manager_changes_items_and_bad_input_changes_nothing(
    lib: World,
) -> None:
    in_library_with_media(lib)
    item = "/api/v1/items/PI-1"
    moved = lib.call("POST", item + "/move", lib.tokens["alice"], json={"location": "home"})
    assert moved.status_code == 403 and moved.json["rule"] == "role.version_manager"
    added = lib.call("POST", V + "/items", lib.tokens["ivy"], json=DONGLE)
    assert added.status_code == 403 and added.json["rule"] == "role.version_manager"
    back = lib.call("POST", item + "/return", lib.tokens["victor"], json={})
    assert back.status_code == 403 and back.json["rule"] == "item.in_archive"
    for body in ({"holder": "bob", "due": "soon"}, {"holder": " ", "due": "2026-12-10"},
                 {"holder": "bob", "due": ""}):  # fmt: skip
        bad = lib.call("POST", item + "/lend", lib.tokens["victor"], json=body)
        assert bad.status_code == 400, bad.json
    past = lib.call("POST", item + "/lend", lib.tokens["victor"],
                    json={"holder": "bob", "due": "2020-01-01"})  # fmt: skip
    assert past.status_code == 403 and past.json["rule"] == "item.due"
    draft = lib.call("POST", ref_path("team/app@1.0.0").replace("1.0.0", "9.9.9") + "/items",
                     lib.tokens["victor"], json=DONGLE)  # fmt: skip
    assert draft.status_code == 404
    unchanged = api(lib, "victor", "GET", item)
    assert unchanged["location"] == "cabinet A" and unchanged["status"] == "in_archive"
    assert [e["action"] for e in unchanged["events"]] == ["register"]
    assert lib.call("GET", "/api/v1/items/nothing", lib.tokens["victor"]).status_code == 404
