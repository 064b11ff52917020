"""The lifecycle through the `depot` command: deliver, accept, check in, check out, pull.

Each person works with their own sign-in token (DEPOT_TOKEN), as they would at their
own terminal; the server is a live one on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import Result

from repo_server.auth.principal import system
from tests.client.conftest import Live
from tests.fixtures.helpers import sha256 as sha

REF = "team/app@1.0.0"
V = "/api/v1/groups/team/products/app/versions/1.0.0"


def run(live: Live, who: str, *args: str, input: str | None = None) -> Result:
    """`depot ARGS` as ``who``."""
    return live.depot(
        *args, input=input, env={"DEPOT_URL": live.url, "DEPOT_TOKEN": live.world.tokens[who]}
    )


def ok(live: Live, who: str, *args: str) -> str:
    """The output of a `depot ARGS` run by ``who`` that succeeds."""
    result = run(live, who, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def js(live: Live, who: str, *args: str) -> Any:
    """The --json answer of a `depot ARGS` run by ``who`` that succeeds."""
    return json.loads(ok(live, who, "--json", *args))


def api(live: Live, who: str, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    """A direct API call, for setting the scene quickly."""
    response = live.world.call(method, path, live.world.tokens[who], json=body)
    assert response.status_code == status, response.json
    return response.json


def with_build(live: Live) -> None:
    """alice uploads the build and the manual of ``team/app@1.0.0``."""
    w = live.world
    assert w.upload(REF, "app.tar.gz", b"the build", w.tokens["alice"]).status_code == 201
    assert (
        w.upload(REF, "manual.pdf", b"%PDF", w.tokens["alice"], role="document").status_code == 201
    )


def accepted(live: Live) -> int:
    """Deliver ``team/app@1.0.0`` to carol and let her accept it; the request's id."""
    with_build(live)
    request = api(live, "alice", "POST", V + "/submit", {"to": "carol"}, 201)
    assert (
        live.world.upload(
            REF, "report.txt", b"all pass", live.world.tokens["carol"], role="report"
        ).status_code
        == 201
    )
    api(
        live, "carol", "POST", f"/api/v1/requests/{request['id']}/approve", {"report": "report.txt"}
    )
    return int(request["id"])


def checked_in(live: Live) -> None:
    """``team/app@1.0.0`` accepted and checked in."""
    accepted(live)
    request = api(live, "alice", "POST", V + "/checkin", {"release_notes": "first"}, 201)
    api(live, "victor", "POST", f"/api/v1/requests/{request['id']}/approve", {})


def test_from_a_draft_to_the_library_and_out(lib: Live, tmp_path: Path) -> None:
    build = tmp_path / "app.tar.gz"
    build.write_bytes(b"the build, small")
    manual = tmp_path / "manual.pdf"
    manual.write_bytes(b"%PDF manual")
    ok(lib, "alice", "push", REF, str(build))
    ok(lib, "alice", "push", REF, str(manual), "--role", "document")

    # The software manager delivers the draft to carol.
    out = ok(lib, "alice", "submit", REF, "--to", "carol", "--comment", "please test [v1]")
    assert out.strip() == (
        "filed acceptance request #2: acceptance of team/app@1.0.0 (pending), delivered to carol"
    )
    assert "#2" in ok(lib, "carol", "requests")
    assert "Nothing waits for your decision." in ok(lib, "olga", "requests")

    # carol tests it and accepts it with her report.
    report = tmp_path / "test-report.txt"
    report.write_bytes(b"42 tests, all pass")
    out = ok(lib, "carol", "accept", REF, "--report", str(report), "--comment", "fit for use")
    assert "accepted acceptance request #2: acceptance of team/app@1.0.0" in out
    assert f"report test-report.txt  sha256:{sha(b'42 tests, all pass')}" in out
    assert js(lib, "bob", "ls", REF)["state"] == "accepted"

    # alice asks for the check-in, with notes, the manual and the install media.
    notes = tmp_path / "NOTES.txt"
    notes.write_text("First release.\nPayments in CNY and USD.\n", encoding="utf-8")
    filed = js(
        lib,
        "alice",
        "checkin",
        "request",
        REF,
        "--notes-file",
        str(notes),
        "--document",
        "manual.pdf",
        "--item",
        "kind=install media, label=DVD 1/1, location=vault B2, shelf 3, custodian=victor",
    )
    assert filed["kind"] == "checkin" and filed["id"] == 3 and filed["state"] == "pending"
    assert filed["details"]["items"] == [
        {
            "kind": "install media",
            "label": "DVD 1/1",
            "location": "vault B2, shelf 3",
            "custodian": "victor",
        }
    ]

    # victor finds it in his inbox, looks at it, and approves it.
    inbox = ok(lib, "victor", "requests")
    assert "#3" in inbox and "check-in of team/app@1.0.0" in inbox and "alice" in inbox
    assert [r["id"] for r in js(lib, "victor", "requests")] == [3]
    shown = ok(lib, "victor", "request", "#3")
    assert "request #3: check-in of team/app@1.0.0" in shown
    assert "release notes:\n  First release.\n  Payments in CNY and USD." in shown
    assert f"sha256:{sha(b'the build, small')}" in shown
    assert f"sha256:{sha(b'42 tests, all pass')}" in shown
    assert "vault B2, shelf 3" in shown and "kept by victor" in shown
    assert "you may approve: yes" in shown
    out = ok(lib, "victor", "approve", "#3", "--comment", "archived")
    assert out.startswith("approved check-in request #3: check-in of team/app@1.0.0")
    assert "library number 1, signed manifest sha256:" in out
    version = js(lib, "bob", "ls", REF)
    assert version["state"] == "checked_in" and version["library_number"] == 1

    # In the library, files are served only under an approved check-out.
    # Whether a version is in the library is known only against the pinned root.
    unpinned = run(lib, "bob", "pull", REF, "-o", str(tmp_path / "bob"))
    assert unpinned.exit_code == 6 and "no trusted root" in unpinned.output
    assert not (tmp_path / "bob").exists()
    fingerprint = lib.world.depot.keys.fingerprint()
    ok(lib, "bob", "trust", "init", lib.url, "--root-fingerprint", fingerprint)
    refused = run(lib, "bob", "pull", REF, "-o", str(tmp_path / "bob"))
    assert refused.exit_code == 7 and "checkout.required" in refused.output
    out = ok(lib, "alice", "checkout", "request", REF, "--purpose", "deploy to prod", "--days", "7")
    assert out.strip() == "filed check-out request #4: check-out of team/app@1.0.0 (pending)"
    out = ok(lib, "victor", "approve", "4")
    assert "alice may download it until" in out
    # Pulling from the library verifies against the pinned root (this machine's).
    pulled = js(lib, "alice", "pull", REF, "app.tar.gz", "-o", str(tmp_path / "alice"))
    assert pulled["signed"] == {
        "library_number": 1,
        "status": "checked_in",
        "status_serial": 1,
        "provenance": [],  # no attestation was attached: the build fields are stated only
    }
    assert pulled["files"][0]["sha256"] == sha(b"the build, small")
    assert (tmp_path / "alice" / "app.tar.gz").read_bytes() == b"the build, small"
    assert run(lib, "bob", "pull", REF, "-o", str(tmp_path / "bob")).exit_code == 7
    assert "Nothing waits for your decision." in ok(lib, "victor", "requests")

    # The history tells the story, in order.
    events = js(lib, "bob", "history", REF)
    actions = [e["action"] for e in events if e["outcome"] == "ok"]
    story = [
        "version.submit",
        "acceptance.pass",
        "checkin.request",
        "checkin.approve",
        "checkout.request",
        "checkout.approve",
        "file.download",
    ]
    assert [a for a in actions if a in story] == story
    lines = ok(lib, "bob", "history", REF).splitlines()
    assert len(lines) == len(events)
    submit_line = next(line for line in lines if "version.submit" in line)
    assert "alice" in submit_line and "software_manager" in submit_line and "ok" in submit_line
    refusal = next(line for line in lines if "refused" in line)
    assert "bob" in refusal and "file.download" in refusal and "checkout.required" in refusal
    assert lines.index(submit_line) < lines.index(next(x for x in lines if "acceptance.pass" in x))
    assert any("checkin.approve" in x and x.endswith("#3 archived") for x in lines)
    assert submit_line.endswith("#2 please test [v1]")
    assert any("checkout.request" in x and x.endswith("#4 deploy to prod") for x in lines)


def test_refusing_needs_a_comment(lib: Live, tmp_path: Path) -> None:
    with_build(lib)
    js(lib, "alice", "submit", REF)
    report = tmp_path / "report.txt"
    report.write_bytes(b"3 of 40 tests fail")
    result = run(lib, "carol", "reject", REF, "--report", str(report))
    assert result.exit_code == 2 and "--comment" in result.output
    result = run(lib, "victor", "refuse", "2")
    assert result.exit_code == 2 and "--comment" in result.output
    out = ok(lib, "carol", "reject", REF, "--report", str(report), "--comment", "3 tests fail")
    assert "rejected acceptance request #2" in out and "comment: 3 tests fail" in out
    assert js(lib, "bob", "ls", REF)["state"] == "rejected"


def test_nobody_decides_their_own_request(lib: Live) -> None:
    lib.world.user("sam", roles=("version_manager",))
    lib.world.depot.groups.add_member(system(), "team", "sam", "software_manager")
    filed = js(lib, "sam", "upgrade", "request", "team/app", "--target", "2.0.0", "--reason", "x")
    result = run(lib, "sam", "approve", str(filed["id"]))
    assert result.exit_code == 7
    assert "sam filed this request and cannot approve it" in result.output
    assert "four_eyes.requester" in result.output
    # Through --json the error is machine-readable too.
    result = run(lib, "sam", "--json", "approve", str(filed["id"]))
    error = json.loads(result.stdout)
    assert error["exit_code"] == 7 and error["error"] == "forbidden"
    assert "four_eyes.requester" in error["message"]


def test_accept_needs_a_pending_acceptance(lib: Live, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_bytes(b"all pass")
    result = run(lib, "carol", "accept", REF, "--report", str(report))
    assert result.exit_code == 4
    assert "team/app@1.0.0 is draft: no acceptance request of it waits" in result.output
    assert "depot submit" in result.output
    result = run(lib, "carol", "--json", "accept", REF, "--report", str(report))
    assert json.loads(result.stdout)["exit_code"] == 4


def test_only_the_officer_it_was_delivered_to_accepts(lib: Live, tmp_path: Path) -> None:
    with_build(lib)
    js(lib, "alice", "submit", REF, "--to", "carol")
    report = tmp_path / "olga-report.txt"
    report.write_bytes(b"olga's opinion")
    result = run(lib, "olga", "accept", REF, "--report", str(report))
    assert result.exit_code == 7 and "delivered to carol" in result.output
    # Asked before uploading: no stray report stays in the version.
    assert "olga-report.txt" not in {f["name"] for f in js(lib, "bob", "ls", REF)["files"]}


def test_an_acceptance_is_decided_with_its_report(lib: Live) -> None:
    with_build(lib)
    js(lib, "alice", "submit", REF)
    result = run(lib, "carol", "approve", "2")
    assert result.exit_code == 8 and "depot accept REF --report FILE" in result.output


def test_a_bad_item_is_a_usage_error(lib: Live) -> None:
    accepted(lib)
    for item, message in [
        ("kind=dvd,label=1/1,location=vault", "lacks custodian"),
        ("kind=dvd,label=1/1,location=vault,custodian=v,colour=red", "unknown key 'colour'"),
        ("install media in the vault", "expected kind=...,label=..."),
        ("kind=dvd,kind=cd,label=1,location=v,custodian=v", "kind is given twice"),
        ("kind=,label=1,location=v,custodian=v", "kind is empty"),
    ]:
        result = run(lib, "alice", "checkin", "request", REF, "--notes", "n", "--item", item)
        assert result.exit_code == 2, result.output
        assert message in result.output
    result = run(lib, "alice", "--json", "checkin", "request", REF, "--notes", "n", "--item", "x")
    assert json.loads(result.stdout)["exit_code"] == 2
    assert js(lib, "victor", "requests") == []


def test_release_notes_are_given_once(lib: Live, tmp_path: Path) -> None:
    accepted(lib)
    notes = tmp_path / "notes.txt"
    notes.write_text("notes")
    result = run(lib, "alice", "checkin", "request", REF)
    assert result.exit_code == 2 and "--notes or --notes-file" in result.output
    result = run(
        lib, "alice", "checkin", "request", REF, "--notes", "a", "--notes-file", str(notes)
    )
    assert result.exit_code == 2
    # The notes may come from standard input.
    result = run(lib, "alice", "checkin", "request", REF, "--notes-file", "-", input="from stdin\n")
    assert result.exit_code == 0, result.output
    assert js(lib, "victor", "request", "3")["details"]["release_notes"] == "from stdin"


def test_a_missing_document_is_refused_by_the_server(lib: Live) -> None:
    accepted(lib)
    result = run(lib, "alice", "checkin", "request", REF, "--notes", "n", "--document", "x.pdf")
    assert result.exit_code == 8 and "has no document named 'x.pdf'" in result.output


def test_request_shows_the_files_and_who_may_decide(lib: Live) -> None:
    with_build(lib)
    js(lib, "alice", "submit", REF, "--to", "carol", "--comment", "please test")
    shown = ok(lib, "carol", "request", "2")
    assert "state: pending" in shown and "delivered to: carol" in shown
    assert "delivery note: please test" in shown
    assert f"sha256:{sha(b'the build')}" in shown and "artifact" in shown
    assert "you may approve: yes" in shown
    shown = ok(lib, "olga", "request", "#2")
    assert "you may approve: no — this version was delivered to carol for acceptance" in shown
    detail = js(lib, "olga", "request", "2")
    assert detail["you_may_approve"] is False and detail["why_not"]
    assert {f["name"] for f in detail["version_record"]["files"]} == {"app.tar.gz", "manual.pdf"}
    assert run(lib, "carol", "request", "twelve").exit_code == 2
    assert run(lib, "carol", "request", "99").exit_code == 4


def test_requests_mine_and_all(lib: Live) -> None:
    checked_in(lib)
    js(lib, "alice", "checkout", "request", REF, "--purpose", "audit")
    mine = js(lib, "alice", "requests", "--mine")
    # The product's registration (tests/client/conftest.py) was the first of alice's requests.
    assert [r["kind"] for r in mine] == ["checkout", "checkin", "acceptance", "register"]
    assert [r["kind"] for r in js(lib, "alice", "requests", "--mine", "--kind", "checkin")] == [
        "checkin"
    ]
    pending = js(lib, "victor", "requests", "--all", "--state", "pending")
    assert [r["title"] for r in pending] == ["check-out of team/app@1.0.0"]
    table = ok(lib, "victor", "requests", "--all", "--group", "team")
    for text in ("id", "kind", "what", "requester", "state", "filed", "check-out", "#4"):
        assert text in table
    assert "that match" in ok(lib, "bob", "requests", "--mine", "--kind", "upgrade")
    assert run(lib, "alice", "requests", "--mine", "--all").exit_code == 2
    assert run(lib, "alice", "requests", "--kind", "nonsense").exit_code == 2


def test_upgrade_request_and_list(lib: Live) -> None:
    checked_in(lib)
    refused = run(lib, "alice", "version", "create", "team/app@1.1.0")
    assert refused.exit_code == 7 and "upgrade.required" in refused.output
    out = ok(
        lib,
        "alice",
        "upgrade",
        "request",
        "team/app",
        "--target",
        "1.1.0",
        "--reason",
        "new tax rules",
        "--scope",
        "invoicing",
    )
    assert out.strip() == "filed upgrade request #4: upgrade to team/app@1.1.0 (pending)"
    listed = ok(lib, "bob", "upgrade", "list", "team/app")
    assert "#4" in listed and "1.1.0" in listed and "pending" in listed
    assert "new tax rules" in listed
    ok(lib, "victor", "approve", "4")
    (upgrade,) = js(lib, "bob", "upgrade", "list", "team/app")
    assert upgrade["state"] == "approved" and upgrade["decided_by"] == "victor"
    assert "created" in ok(lib, "alice", "version", "create", "team/app@1.1.0")
    result = run(
        lib, "alice", "upgrade", "request", "team/app", "--target", "0.9.0", "--reason", "x"
    )
    assert result.exit_code == 7 and "version.order" in result.output
    result = run(
        lib, "alice", "upgrade", "request", "team/app@1.2.0", "--target", "1.2.0", "--reason", "x"
    )
    assert result.exit_code == 2 and "name the product only" in result.output


def test_retire_and_feedback(lib: Live) -> None:
    checked_in(lib)
    assert "No feedback on team/app@1.0.0 yet." in ok(lib, "bob", "feedback", REF)
    out = ok(lib, "carol", "feedback", REF, "--text", "runs fine [in prod]")
    assert out.strip() == "recorded feedback on team/app@1.0.0"
    listed = ok(lib, "bob", "feedback", REF)
    assert "carol" in listed and "runs fine [in prod]" in listed
    assert js(lib, "bob", "feedback", REF)[0]["text"] == "runs fine [in prod]"
    result = run(lib, "bob", "feedback", REF, "--text", "mine too")
    assert result.exit_code == 7 and "role.acceptance_officer" in result.output

    js(lib, "alice", "checkout", "request", REF, "--purpose", "audit")
    assert run(lib, "victor", "retire", REF).exit_code == 2
    result = run(lib, "alice", "retire", REF, "--reason", "old")
    assert result.exit_code == 7 and "role.version_manager" in result.output
    out = ok(lib, "victor", "retire", REF, "--reason", "superseded by 1.1.0")
    assert out.strip() == "retired team/app@1.0.0 (1 pending check-out request(s) refused)"
    assert js(lib, "bob", "ls", REF)["state"] == "retired"
    history = ok(lib, "bob", "history", REF)
    assert "version.retire" in history and "superseded by 1.1.0" in history
