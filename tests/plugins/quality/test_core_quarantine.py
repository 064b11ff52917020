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
