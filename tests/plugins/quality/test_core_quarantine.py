"""A quarantine is the core's fact once decided: it covers the build batch and the content
(sha256) in every group, versions pushed later included, and it holds on a server started
without the quality module (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

from policies.trust.documents import Status
from policies.trust.dsse import Envelope
from repo_server.app import create_app
from tests.fixtures import factories
from tests.plugins.conftest import MakeWorld
from tests.plugins.quality.conftest import api, check_in, make_version, populate, push, vpath
from tests.support import World

Q = "/api/v1/quality"
APP = "team/app@1.0.0"


def download(w: World, who: str, ref: str, name: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = w.call("GET", f"{vpath(ref)}/files/{name}", w.tokens[who])
    return response.status_code, (response.json if response.status_code != 200 else {})


def status(w: World, ref: str) -> Status:
    envelope = Envelope.from_json(api(w, "alice", "GET", vpath(ref) + "/status"))
    return Status.from_payload(envelope.payload)


def confirm_q1(w: World, *, checked_out_by: str = "") -> None:
    """app 1.0.0 (build B-7, ``app.bin``) checked in (and out by ``checked_out_by``), Q-1
    reported and confirmed."""
    push(w, APP, "app.bin", b"the B-7 build of app", build_id="B-7")
    check_in(w, APP)
    if checked_out_by:
        factories.check_out(w, APP, checked_out_by, approver="victor")
    body = {"version": APP, "title": "Payments lost", "description": "B-7", "class": "serious"}
    api(w, "bob", "POST", Q + "/issues", body, 201)
    api(w, "quinn", "POST", Q + "/issues/Q-1/confirm", {"comment": "bad batch"})


def test_a_quarantine_covers_the_batch_and_its_bytes_in_every_group_later_versions_too(
    make_world: MakeWorld,
) -> None:
    w = populate(make_world("quality"))
    make_version(w, "team/tool@3.0.0")
    push(w, "team/tool@3.0.0", "tool.bin", b"another build", build_id="B-8")
    confirm_q1(w)
    # The signed status changed with the decision, as a check-in's does.
    assert status(w, APP).state == "quarantined"
    # After the decision: the batch's build id in a new version of the group ...
    make_version(w, "team/lib@2.0.0")
    push(w, "team/lib@2.0.0", "lib.bin", b"lib, built in B-7", build_id="B-7")
    # ... and the batch's bytes in a new version of another group, without a build id.
    factories.group(w, "ops", alice=("member", "software_manager"))
    factories.version(
        w, "ops/mirror@1.0.0", files={"copy.bin": b"the B-7 build of app"}, uploader="alice"
    )
    for who, ref, name in (
        ("alice", APP, "app.bin"),
        ("bob", "team/lib@2.0.0", "lib.bin"),
        ("alice", "ops/mirror@1.0.0", "copy.bin"),
    ):
        code, body = download(w, who, ref, name)
        assert code == 403 and body["rule"] == "quality.serious_issue", (ref, body)
        assert "Q-1" in body["message"]
    assert download(w, "bob", "team/tool@3.0.0", "tool.bin")[0] == 200  # another batch
    # Lifted: every one of them is usable again.
    api(w, "quinn", "POST", Q + "/issues/Q-1/lift", {"reason": "rebuilt and retested"})
    assert download(w, "bob", "team/lib@2.0.0", "lib.bin")[0] == 200
    assert download(w, "alice", "ops/mirror@1.0.0", "copy.bin")[0] == 200
    assert status(w, APP).state == "checked_in"


def test_a_quarantine_holds_on_a_server_without_the_quality_module(
    make_world: MakeWorld,
) -> None:
    w = populate(make_world("quality"))
    confirm_q1(w, checked_out_by="alice")
    # The same database and keys, served by a Depot without any module (DEPOT_PLUGINS=).
    bare = World(create_app(replace(w.depot.settings, plugins=""), clock=w.clock), w.clock)
    bare.tokens.update(w.tokens)
    assert bare.depot.plugins.names == []
    try:
        without_the_module(w, bare)
    finally:
        bare.depot.close()


def without_the_module(w: World, bare: World) -> None:
    code, body = download(bare, "alice", APP, "app.bin")
    assert code == 403 and body["rule"] == "quality.serious_issue" and "Q-1" in body["message"]
    request = bare.call(
        "POST", vpath(APP) + "/checkout", bare.tokens["alice"], json={"purpose": "x"}
    )
    assert request.status_code == 403 and request.json["rule"] == "quality.serious_issue"
    assert status(bare, APP).state == "quarantined"
    # Only the module's lift ends it; back with the module, the lift works as before.
    api(w, "quinn", "POST", Q + "/issues/Q-1/lift", {"reason": "rebuilt and retested"})
    assert download(bare, "alice", APP, "app.bin")[0] == 200
    assert status(bare, APP).state == "checked_in"


def test_the_recall_list_names_who_took_the_batch_out_and_exports(make_world: MakeWorld) -> None:
    w = populate(make_world("quality"))
    confirm_q1(w, checked_out_by="alice")
    # alice had it checked out before the decision (check-out approved): she downloaded it.
    api(w, "quinn", "POST", Q + "/issues/Q-1/lift", {"reason": "retest"})
    assert download(w, "alice", APP, "app.bin")[0] == 200
    [checkout] = [r for r in w.audit(action="checkout.request") if r["outcome"] == "ok"]
    number = checkout["details"]["request"]
    # A member cannot read who took it out (names, addresses): refused and audited.
    refused = w.call("GET", Q + "/issues/Q-1/recall", w.tokens["bob"])
    assert refused.status_code == 403 and refused.json["rule"] == "quality.role"
    [audited] = w.audit(action="quality.recall.read", group="team")
    assert audited["outcome"] == "refused" and audited["details"]["issue"] == "Q-1"
    recall = api(w, "quinn", "GET", Q + "/issues/Q-1/recall")
    assert recall["issue"] == "Q-1" and recall["versions"] == [APP]
    assert [(e["kind"], e["person"], e["checkout"], e["file"]) for e in recall["entries"]] == [
        ("checkout", "alice", number, None),
        ("download", "alice", number, "app.bin"),
    ]
    assert all(e["checkout_state"] == "approved" for e in recall["entries"])
    assert all(e["address"] and e["at"] for e in recall["entries"])
    # Paged, as every listing.
    first = api(w, "victor", "GET", Q + "/issues/Q-1/recall?limit=1")
    assert len(first["entries"]) == 1 and first["next"]
    # Exported: CSV and JSON, the whole list.
    csv_answer = w.call("GET", Q + "/issues/Q-1/recall.csv", w.tokens["ivy"])
    assert csv_answer.status_code == 200 and csv_answer.mimetype == "text/csv"
    assert 'filename="recall-Q-1.csv"' in csv_answer.headers["Content-Disposition"]
    lines = csv_answer.get_data(as_text=True).splitlines()
    assert lines[0] == "kind,ref,file,person,at,address,checkout,checkout_state,sha256"
    assert len(lines) == 3 and lines[2].startswith(f"download,{APP},app.bin,alice,")
    exported = w.call("GET", Q + "/issues/Q-1/recall.json", w.tokens["quinn"])
    assert exported.status_code == 200
    assert exported.json["entries"] == recall["entries"]
    assert w.call("GET", Q + "/issues/Q-1/recall.csv", w.tokens["bob"]).status_code == 403


def test_a_confirmed_issue_sends_a_stop_use_notice_to_who_took_the_batch_out(
    make_world: MakeWorld,
) -> None:
    w = populate(make_world("quality"))
    push(w, APP, "app.bin", b"the B-7 build of app", build_id="B-7")
    check_in(w, APP)
    factories.check_out(w, APP, "alice", approver="victor")
    assert download(w, "alice", APP, "app.bin")[0] == 200
    body = {"version": APP, "title": "Payments lost", "description": "B-7", "class": "serious"}
    api(w, "bob", "POST", Q + "/issues", body, 201)
    api(w, "quinn", "POST", Q + "/issues/Q-1/confirm", {"comment": "bad batch"})
    issue = api(w, "quinn", "GET", Q + "/issues/Q-1")
    assert [(n["person"], n["versions"]) for n in issue["notices"]] == [("alice", [APP])]
    assert issue["notices_sent"] == 1
    # Who got one is for those who read the recall list; others see how many.
    seen_by_bob = api(w, "bob", "GET", Q + "/issues/Q-1")
    assert seen_by_bob["notices"] == [] and seen_by_bob["notices_sent"] == 1
    # alice reads hers.
    mine = api(w, "alice", "GET", Q + "/notices")["notices"]
    assert [(n["issue"], n["versions"]) for n in mine] == [("Q-1", [APP])]
    assert "stop using" in mine[0]["text"]
    assert api(w, "bob", "GET", Q + "/notices")["notices"] == []
    [sent] = w.audit(action="quality.notice.send")
    assert sent["details"] == {"issue": "Q-1", "people": ["alice"]} and sent["group"] == "team"
