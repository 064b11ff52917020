"""The governed lifecycle through the API: from a draft to the library and out again."""

from __future__ import annotations

import hashlib

from tests.support import World

V = "/api/v1/groups/team/products/app/versions/1.0.0"


def call(w: World, who: str, method: str, path: str, body: dict | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    response = w.call(method, path, w.tokens[who], json=body if method != "GET" else None)
    assert response.status_code == status, (response.status_code, response.json)
    return response.json


def submit_and_accept(w: World, version: str = "1.0.0") -> None:
    path = f"/api/v1/groups/team/products/app/versions/{version}"
    acceptance = call(w, "alice", "POST", path + "/submit", {"to": "carol"}, 201)
    assert (
        w.upload(
            f"team/app@{version}",
            "test-report.pdf",
            b"all tests pass",
            w.tokens["carol"],
            role="report",
        ).status_code
        == 201
    )
    call(
        w,
        "carol",
        "POST",
        f"/api/v1/requests/{acceptance['id']}/approve",
        {"report": "test-report.pdf", "comment": "passed"},
    )


def check_in(w: World, version: str = "1.0.0") -> dict:  # type: ignore[type-arg]
    path = f"/api/v1/groups/team/products/app/versions/{version}"
    checkin = call(w, "alice", "POST", path + "/checkin", {"release_notes": "first release"}, 201)
    return call(
        w, "victor", "POST", f"/api/v1/requests/{checkin['id']}/approve", {"comment": "archived"}
    )  # type: ignore[no-any-return]


def test_from_draft_to_the_library_and_out(lib: World) -> None:
    acceptance = call(
        lib, "alice", "POST", V + "/submit", {"to": "carol", "comment": "please test"}, 201
    )
    assert acceptance["kind"] == "acceptance" and acceptance["assigned_to"] == "carol"
    assert call(lib, "bob", "GET", V)["state"] == "submitted"
    # Nothing more goes into a delivered version.
    r = lib.upload("team/app@1.0.0", "late.bin", b"late", lib.tokens["bob"])
    assert r.status_code == 403 and r.json["rule"] == "lifecycle.state"
    # The officer attaches the report and records the pass.
    assert (
        lib.upload(
            "team/app@1.0.0", "test-report.pdf", b"all pass", lib.tokens["carol"], role="report"
        ).status_code
        == 201
    )
    passed = call(
        lib,
        "carol",
        "POST",
        f"/api/v1/requests/{acceptance['id']}/approve",
        {"report": "test-report.pdf", "comment": "fit for use"},
    )
    assert passed["state"] == "approved" and passed["decided_role"] == "acceptance_officer"
    assert passed["details"]["report"]["sha256"] == hashlib.sha256(b"all pass").hexdigest()
    assert call(lib, "bob", "GET", V)["state"] == "accepted"
    checkin = call(
        lib,
        "alice",
        "POST",
        V + "/checkin",
        {
            "release_notes": "First release of the app.",
            "documents": ["manual.pdf"],
            "items": [
                {
                    "kind": "install media",
                    "label": "DVD 1/1",
                    "location": "vault B2",
                    "custodian": "victor",
                }
            ],
        },
        201,
    )
    inbox = call(lib, "victor", "GET", "/api/v1/requests")["requests"]
    assert [r["id"] for r in inbox] == [checkin["id"]]
    detail = call(lib, "victor", "GET", f"/api/v1/requests/{checkin['id']}")
    assert detail["you_may_approve"] is True
    assert {f["name"] for f in detail["version_record"]["files"]} == {
        "app.tar.gz",
        "manual.pdf",
        "test-report.pdf",
    }
    assert detail["archive_items"][0]["location"] == "vault B2"
    approved = call(
        lib, "victor", "POST", f"/api/v1/requests/{checkin['id']}/approve", {"comment": "archived"}
    )
    assert approved["state"] == "approved"
    version = call(lib, "bob", "GET", V)
    assert version["state"] == "checked_in" and version["library_number"] == 1
    # Checked-in bytes are served only under an approved check-out.
    r = lib.call("GET", V + "/files/app.tar.gz", lib.tokens["alice"])
    assert r.status_code == 403 and r.json["rule"] == "checkout.required"
    checkout = call(
        lib, "alice", "POST", V + "/checkout", {"purpose": "deploy to production", "days": 3}, 201
    )
    call(lib, "victor", "POST", f"/api/v1/requests/{checkout['id']}/approve")
    r = lib.call("GET", V + "/files/app.tar.gz", lib.tokens["alice"])
    assert r.status_code == 200 and r.data == b"the build"
    assert lib.audit(action="file.download")[-1]["details"]["checkout"] == checkout["id"]
    assert lib.call("GET", V + "/files/app.tar.gz", lib.tokens["bob"]).status_code == 403
    lib.clock.advance(days=3)
    r = lib.call("GET", V + "/files/app.tar.gz", lib.tokens["alice"])
    assert r.status_code == 403 and r.json["rule"] == "checkout.required"
    # Metadata stays visible to members.
    assert {f["name"] for f in call(lib, "bob", "GET", V + "/files")["files"]} >= {"app.tar.gz"}


def test_history_records_who_did_what_in_which_role(lib: World) -> None:
    submit_and_accept(lib)
    check_in(lib)
    events = call(lib, "bob", "GET", V + "/history")["events"]
    steps = [(e["action"], e["actor"], e["role"]) for e in events]
    assert steps == [
        ("version.create", "alice", ""),
        ("file.upload", "bob", "member"),
        ("file.upload", "bob", "member"),
        ("version.submit", "alice", "software_manager"),
        ("file.upload", "carol", "acceptance_officer"),
        ("acceptance.pass", "carol", "acceptance_officer"),
        ("checkin.request", "alice", "software_manager"),
        ("checkin.approve", "victor", "version_manager"),
    ]
    assert events[-1]["details"]["library_number"] == 1


def test_nobody_approves_their_own_request(lib: World) -> None:
    lib.depot.accounts.update_user(
        __import__("repo_server.auth.principal", fromlist=["system"]).system(),
        "alice",
        roles=["version_manager"],
    )
    submit_and_accept(lib)
    checkin = call(lib, "alice", "POST", V + "/checkin", {"release_notes": "notes"}, 201)
    r = lib.call("POST", f"/api/v1/requests/{checkin['id']}/approve", lib.tokens["alice"], json={})
    assert r.status_code == 403 and r.json["rule"] == "four_eyes.requester"
    assert call(lib, "alice", "GET", "/api/v1/requests")["requests"] == []  # not in her inbox
    mine = call(lib, "alice", "GET", "/api/v1/requests?view=mine")["requests"]
    assert mine[0]["id"] == checkin["id"]  # newest first
    refusal = [e for e in lib.audit(action="checkin.approve") if e["outcome"] == "refused"]
    assert (
        refusal and refusal[0]["rule"] == "four_eyes.requester" and refusal[0]["actor"] == "alice"
    )
    assert call(lib, "bob", "GET", V)["state"] == "accepted"


def test_an_uploader_cannot_accept_and_an_acceptor_cannot_check_in(lib: World) -> None:
    from repo_server.auth.principal import system

    lib.depot.groups.add_member(system(), "team", "bob", "acceptance_officer")
    lib.depot.accounts.update_user(system(), "carol", roles=["version_manager"])
    acceptance = call(lib, "alice", "POST", V + "/submit", {}, 201)
    r = lib.upload("team/app@1.0.0", "bob-report.pdf", b"x", lib.tokens["bob"], role="report")
    assert r.status_code == 403 and r.json["rule"] == "four_eyes.uploader"
    r = lib.call(
        "POST",
        f"/api/v1/requests/{acceptance['id']}/approve",
        lib.tokens["bob"],
        json={"report": "x"},
    )
    assert r.status_code == 403 and r.json["rule"] == "four_eyes.uploader"
    lib.upload("team/app@1.0.0", "report.pdf", b"ok", lib.tokens["carol"], role="report")
    call(
        lib,
        "carol",
        "POST",
        f"/api/v1/requests/{acceptance['id']}/approve",
        {"report": "report.pdf"},
    )
    checkin = call(lib, "alice", "POST", V + "/checkin", {"release_notes": "notes"}, 201)
    r = lib.call("POST", f"/api/v1/requests/{checkin['id']}/approve", lib.tokens["carol"], json={})
    assert r.status_code == 403 and r.json["rule"] == "four_eyes.acceptance"
    call(lib, "victor", "POST", f"/api/v1/requests/{checkin['id']}/approve")


def test_decisions_are_checked(lib: World) -> None:
    acceptance = call(lib, "alice", "POST", V + "/submit", {"to": "carol"}, 201)
    r = lib.call(
        "POST", f"/api/v1/requests/{acceptance['id']}/approve", lib.tokens["carol"], json={}
    )
    assert r.status_code == 400 and r.json["field"] == "report"
    r = lib.call(
        "POST",
        f"/api/v1/requests/{acceptance['id']}/approve",
        lib.tokens["carol"],
        json={"report": "nope.pdf"},
    )
    assert r.status_code == 400 and "no report named" in r.json["message"]
    lib.upload("team/app@1.0.0", "report.pdf", b"fails", lib.tokens["carol"], role="report")
    r = lib.call(
        "POST",
        f"/api/v1/requests/{acceptance['id']}/refuse",
        lib.tokens["carol"],
        json={"report": "report.pdf"},
    )
    assert r.status_code == 403 and r.json["rule"] == "decision.comment"
    r = lib.call(
        "POST",
        f"/api/v1/requests/{acceptance['id']}/approve",
        lib.tokens["victor"],
        json={"report": "report.pdf"},
    )
    assert r.status_code == 403 and r.json["rule"] == "role.acceptance_officer"
    r = lib.call(
        "POST", f"/api/v1/requests/{acceptance['id']}/approve", lib.tokens["dave"], json={}
    )
    assert r.status_code == 404 and r.json["message"] == f"request #{acceptance['id']} not found"
    r = lib.call("POST", "/api/v1/requests/99999/approve", lib.tokens["victor"], json={})
    assert r.status_code == 404 and r.json["message"] == "request #99999 not found"
    assert lib.call("GET", "/api/v1/requests/abc", lib.tokens["victor"]).status_code == 400
    failed = call(
        lib,
        "carol",
        "POST",
        f"/api/v1/requests/{acceptance['id']}/refuse",
        {"report": "report.pdf", "comment": "crashes on start"},
    )
    assert failed["state"] == "refused"
    assert call(lib, "bob", "GET", V)["state"] == "rejected"
    r = lib.call(
        "POST",
        f"/api/v1/requests/{acceptance['id']}/approve",
        lib.tokens["carol"],
        json={"report": "report.pdf"},
    )
    assert r.status_code == 403 and r.json["rule"] == "request.state"
    # A failed version is never checked in, and its number is never used again.
    r = lib.call("POST", V + "/checkin", lib.tokens["alice"], json={"release_notes": "x"})
    assert r.status_code == 403 and r.json["rule"] == "lifecycle.state"
    r = lib.call(
        "POST",
        "/api/v1/groups/team/products/app/versions",
        lib.tokens["alice"],
        json={"version": "1.0.0"},
    )
    assert r.status_code == 409


def test_delivery_is_checked(lib: World) -> None:
    r = lib.call("POST", V + "/submit", lib.tokens["bob"], json={})
    assert r.status_code == 403 and r.json["rule"] == "role.software_manager"
    r = lib.call("POST", V + "/submit", lib.tokens["alice"], json={"to": "bob"})
    assert r.status_code == 400 and r.json["field"] == "to"
    lib.version("team", "app", "1.0.1", lib.tokens["alice"])
    r = lib.call(
        "POST",
        "/api/v1/groups/team/products/app/versions/1.0.1/submit",
        lib.tokens["alice"],
        json={},
    )
    assert r.status_code == 403 and r.json["rule"] == "lifecycle.artifacts"
    call(lib, "alice", "POST", V + "/submit", {}, 201)
    r = lib.call("POST", V + "/submit", lib.tokens["alice"], json={})
    assert r.status_code == 403 and r.json["rule"] == "lifecycle.state"


def test_check_in_requests_are_checked(lib: World) -> None:
    r = lib.call("POST", V + "/checkin", lib.tokens["alice"], json={"release_notes": "x"})
    assert r.status_code == 403 and r.json["rule"] == "lifecycle.state"
    submit_and_accept(lib)
    r = lib.call("POST", V + "/checkin", lib.tokens["alice"], json={"release_notes": " "})
    assert r.status_code == 400 and r.json["field"] == "release_notes"
    r = lib.call(
        "POST",
        V + "/checkin",
        lib.tokens["alice"],
        json={"release_notes": "x", "documents": ["app.tar.gz"]},
    )
    assert r.status_code == 400 and r.json["field"] == "documents"
    r = lib.call(
        "POST",
        V + "/checkin",
        lib.tokens["alice"],
        json={"release_notes": "x", "items": [{"kind": "dvd"}]},
    )
    assert r.status_code == 400
    r = lib.call(
        "POST",
        V + "/checkin",
        lib.tokens["alice"],
        json={"release_notes": "x", "items": [{"colour": "red"}]},
    )
    assert r.status_code == 400 and "unknown field" in r.json["message"]
    first = call(lib, "alice", "POST", V + "/checkin", {"release_notes": "notes"}, 201)
    r = lib.call("POST", V + "/checkin", lib.tokens["alice"], json={"release_notes": "notes"})
    assert r.status_code == 409
    r = lib.call(
        "POST",
        f"/api/v1/requests/{first['id']}/refuse",
        lib.tokens["victor"],
        json={"comment": "notes too thin"},
    )
    assert r.status_code == 200 and call(lib, "bob", "GET", V)["state"] == "accepted"
    second = call(lib, "alice", "POST", V + "/checkin", {"release_notes": "better notes"}, 201)
    assert second["id"] != first["id"]


def test_upgrades_and_version_order(lib: World) -> None:
    submit_and_accept(lib)
    check_in(lib)
    versions = "/api/v1/groups/team/products/app/versions"
    r = lib.call("POST", versions, lib.tokens["alice"], json={"version": "1.1.0"})
    assert r.status_code == 403 and r.json["rule"] == "upgrade.required"
    upgrades = "/api/v1/groups/team/products/app/upgrades"
    r = lib.call(
        "POST", upgrades, lib.tokens["alice"], json={"target_version": "0.9.0", "reason": "x"}
    )
    assert r.status_code == 403 and r.json["rule"] == "version.order"
    r = lib.call(
        "POST", upgrades, lib.tokens["bob"], json={"target_version": "1.1.0", "reason": "x"}
    )
    assert r.status_code == 403 and r.json["rule"] == "role.software_manager"
    r = lib.call("POST", upgrades, lib.tokens["alice"], json={"target_version": "1.1.0"})
    assert r.status_code == 400
    upgrade = call(
        lib,
        "alice",
        "POST",
        upgrades,
        {"target_version": "1.1.0", "reason": "new payment scheme", "scope": "payments module"},
        201,
    )
    assert upgrade["kind"] == "upgrade" and upgrade["version"] == "1.1.0"
    r = lib.call(
        "POST", upgrades, lib.tokens["alice"], json={"target_version": "1.1.0", "reason": "again"}
    )
    assert r.status_code == 409
    r = lib.call("POST", f"/api/v1/requests/{upgrade['id']}/refuse", lib.tokens["victor"], json={})
    assert r.status_code == 403 and r.json["rule"] == "decision.comment"
    call(
        lib, "victor", "POST", f"/api/v1/requests/{upgrade['id']}/approve", {"comment": "go ahead"}
    )
    created = call(lib, "alice", "POST", versions, {"version": "1.1.0-rc.1"}, 201)
    assert created["state"] == "draft"
    ci = call(lib, "alice", "POST", "/api/v1/tokens", {"group": "team", "scope": "upload"}, 201)[
        "token"
    ]
    r = lib.call("POST", versions, ci, json={"version": "1.1.0-rc.2"})
    assert r.status_code == 201
    r = lib.call("POST", versions, ci, json={"version": "1.2.0"})
    assert r.status_code == 403 and r.json["rule"] == "upgrade.required"
    listed = call(lib, "bob", "GET", upgrades)["requests"]
    assert [(u["version"], u["state"]) for u in listed] == [("1.1.0", "approved")]


def test_check_in_keeps_versions_in_order(lib: World) -> None:
    """A version whose number is not above the library's is refused at check-in."""
    for version in ("2.0.0", "1.5.0"):
        lib.version("team", "app", version, lib.tokens["alice"])
        lib.upload(f"team/app@{version}", "app.tar.gz", version.encode(), lib.tokens["bob"])
        submit_and_accept(lib, version)
    check_in(lib, "2.0.0")
    assert (
        call(lib, "bob", "GET", "/api/v1/groups/team/products/app/versions/2.0.0")["library_number"]
        == 1
    )
    path = "/api/v1/groups/team/products/app/versions/1.5.0/checkin"
    r = lib.call("POST", path, lib.tokens["alice"], json={"release_notes": "late"})
    assert r.status_code == 403 and r.json["rule"] == "version.order"


def test_library_numbers_are_monotonic_per_product(lib: World) -> None:
    submit_and_accept(lib)
    assert check_in(lib)["state"] == "approved"
    upgrade = call(
        lib,
        "alice",
        "POST",
        "/api/v1/groups/team/products/app/upgrades",
        {"target_version": "1.1.0", "reason": "r"},
        201,
    )
    call(lib, "victor", "POST", f"/api/v1/requests/{upgrade['id']}/approve")
    lib.version("team", "app", "1.1.0", lib.tokens["alice"])
    lib.upload("team/app@1.1.0", "app.tar.gz", b"v1.1", lib.tokens["bob"])
    submit_and_accept(lib, "1.1.0")
    check_in(lib, "1.1.0")
    numbers = [
        (v["version"], v["library_number"])
        for v in call(lib, "bob", "GET", "/api/v1/groups/team/products/app/versions")["versions"]
    ]
    assert numbers == [("1.1.0", 2), ("1.0.0", 1)]


def test_retirement_and_feedback(lib: World) -> None:
    submit_and_accept(lib)
    check_in(lib)
    approved = call(lib, "alice", "POST", V + "/checkout", {"purpose": "deploy"}, 201)
    call(lib, "victor", "POST", f"/api/v1/requests/{approved['id']}/approve")
    waiting = call(lib, "alice", "POST", V + "/checkout", {"purpose": "DR site"}, 201)
    r = lib.call("POST", V + "/retire", lib.tokens["victor"], json={})
    assert r.status_code == 403 and r.json["rule"] == "decision.comment"
    r = lib.call("POST", V + "/retire", lib.tokens["alice"], json={"reason": "old"})
    assert r.status_code == 403 and r.json["rule"] == "role.version_manager"
    retired = call(lib, "victor", "POST", V + "/retire", {"reason": "superseded by 2.0"})
    assert retired["state"] == "retired" and retired["refused_checkouts"] == 1
    assert call(lib, "alice", "GET", f"/api/v1/requests/{waiting['id']}")["state"] == "refused"
    r = lib.call("POST", V + "/checkout", lib.tokens["alice"], json={"purpose": "again"})
    assert r.status_code == 403 and r.json["rule"] == "lifecycle.state"
    # A check-out approved before the retirement serves nothing any more.
    r = lib.call("GET", V + "/files/app.tar.gz", lib.tokens["alice"])
    assert r.status_code == 403 and r.json["rule"] == "lifecycle.retired"
    assert lib.call("HEAD", V + "/files/app.tar.gz", lib.tokens["alice"]).status_code == 403
    r = lib.call("POST", V + "/feedback", lib.tokens["bob"], json={"text": "fine"})
    assert r.status_code == 403 and r.json["rule"] == "role.acceptance_officer"
    call(lib, "carol", "POST", V + "/feedback", {"text": "runs fine at 3 branches"}, 201)
    feedback = call(lib, "bob", "GET", V + "/feedback")["feedback"]
    assert [(f["author"], f["text"]) for f in feedback] == [("carol", "runs fine at 3 branches")]


def test_checkout_requests_are_checked(lib: World) -> None:
    r = lib.call("POST", V + "/checkout", lib.tokens["alice"], json={"purpose": "deploy"})
    assert r.status_code == 403 and r.json["rule"] == "lifecycle.state"
    submit_and_accept(lib)
    check_in(lib)
    for body in (
        {"purpose": ""},
        {"purpose": "x", "days": 0},
        {"purpose": "x", "days": 91},
        {"purpose": "x", "days": "7"},
    ):
        assert (
            lib.call("POST", V + "/checkout", lib.tokens["alice"], json=body).status_code == 400
        ), body
    r = lib.call("POST", V + "/checkout", lib.tokens["bob"], json={"purpose": "x"})
    assert r.status_code == 403 and r.json["rule"] == "role.software_manager"


def test_keepers_see_every_group_but_read_no_bytes_of_what_they_do_not_decide(lib: World) -> None:
    submit_and_accept(lib)
    for keeper in ("victor", "ivy"):
        assert call(lib, keeper, "GET", V)["state"] == "accepted"
        assert {g["name"] for g in call(lib, keeper, "GET", "/api/v1/groups")["groups"]} == {
            "team",
            "other",
        }
        # They see the group, so the refusal names its rule (no check-in request to
        # decide yet: nothing of the version is theirs to read).
        refused = lib.call("GET", V + "/files/app.tar.gz", lib.tokens[keeper])
        assert refused.status_code == 403 and refused.json["rule"] == "group.member"
        assert call(lib, keeper, "GET", V + "/history")["events"]
    assert (
        call(lib, "ivy", "GET", "/api/v1/requests")["requests"] == []
    )  # an auditor decides nothing
    seen = call(lib, "ivy", "GET", "/api/v1/requests?view=all")["requests"]
    assert [r["kind"] for r in seen] == ["acceptance", "register"]
    assert lib.call("GET", V, lib.tokens["dave"]).status_code == 404
    assert call(lib, "dave", "GET", "/api/v1/requests?view=all")["requests"] == []
    r = lib.call("GET", "/api/v1/requests?view=everything", lib.tokens["ivy"])
    assert r.status_code == 400


def test_officers_inbox(lib: World) -> None:
    acceptance = call(lib, "alice", "POST", V + "/submit", {}, 201)
    assert [r["id"] for r in call(lib, "carol", "GET", "/api/v1/requests")["requests"]] == [
        acceptance["id"]
    ]
    assert call(lib, "bob", "GET", "/api/v1/requests")["requests"] == []
    assert call(lib, "victor", "GET", "/api/v1/requests")["requests"] == []
    found = call(lib, "alice", "GET", V + "/requests")["requests"]
    assert [(r["kind"], r["state"]) for r in found] == [("acceptance", "pending")]
