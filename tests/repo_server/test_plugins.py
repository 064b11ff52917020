"""The plugin host, with test plugins: hooks checked at start, event hooks after commit
that never undo anything, decision hooks whose blocks the rules weigh (and fail closed).

These plugins are defined here (the product-service and quality modules are their own
issue); one is installed as a real distribution on ``sys.path`` to test discovery through
the ``depot.plugins`` entry-point group.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from policies.lifecycle import Block
from repo_server.plugin_api import VersionEvent, VersionRef, hookimpl
from repo_server.plugin_host import PluginError, PluginHost
from tests.repo_server.test_lifecycle import V, call, check_in, submit_and_accept
from tests.support import World


class Recorder:
    """Remembers every event."""

    def __init__(self) -> None:
        self.events: list[VersionEvent] = []

    @hookimpl
    def depot_version_event(self, event: VersionEvent) -> None:
        self.events.append(event)


class Raising:
    @hookimpl
    def depot_version_event(self, event: VersionEvent) -> None:
        raise RuntimeError("the ticket system is down")


class Quality:
    """Blocks the versions it was told about."""

    def __init__(self) -> None:
        self.stopped: dict[str, str] = {}

    @hookimpl
    def depot_version_blocks(self, version: VersionRef) -> list[Block]:
        reason = self.stopped.get(str(version))
        return [Block("quality.serious_issue", reason)] if reason else []


class Broken:
    @hookimpl
    def depot_version_blocks(self, version: VersionRef) -> list[Block]:
        raise ValueError("database of issues unreachable")


class Misspelt:
    @hookimpl
    def depot_version_evnt(self, event: VersionEvent) -> None:  # the typo is the test
        pass


def test_a_misspelt_hook_stops_the_start_with_its_name(world: World) -> None:
    host = PluginHost(world.depot.audit)
    with pytest.raises(PluginError, match="depot_version_evnt"):
        host.register(Misspelt(), "typo")
    assert host.names == []


def test_an_enabled_plugin_that_is_not_installed_stops_the_start(world: World) -> None:
    with pytest.raises(PluginError, match="'nowhere' is enabled but not installed"):
        PluginHost.load(world.depot.audit, ["nowhere"])


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[str]:
    """A distribution declaring a ``depot.plugins`` entry point, importable from sys.path."""
    (tmp_path / "depot_test_plugin.py").write_text(
        "from repo_server.plugin_api import hookimpl\n"
        "seen = []\n"
        "@hookimpl\n"
        "def depot_version_event(event):\n"
        "    seen.append(event.action)\n"
    )
    info = tmp_path / "depot_test_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: depot-test-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[depot.plugins]\nrecorder = depot_test_plugin\n")
    sys.path.insert(0, str(tmp_path))
    try:
        yield "recorder"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("depot_test_plugin", None)


def test_plugins_are_found_through_their_entry_point(world: World, installed: str) -> None:
    host = PluginHost.load(world.depot.audit, [installed])
    assert host.names == ["recorder"]
    ref = VersionRef("team", "app", "1.0.0")
    host.emit(VersionEvent("checkin.approve", ref, "checked_in", "victor", world.clock.now()))
    assert sys.modules["depot_test_plugin"].seen == ["checkin.approve"]


def test_event_hooks_run_after_commit_and_a_raising_one_undoes_nothing(lib: World) -> None:
    plugins = lib.depot.plugins
    recorder = Recorder()
    plugins.register(Raising(), "raising")
    plugins.register(recorder, "recorder")
    submit_and_accept(lib)
    check_in(lib)
    assert call(lib, "bob", "GET", V)["state"] == "checked_in"  # the check-in stands
    actions = [(e.action, e.state) for e in recorder.events]
    assert ("acceptance.pass", "accepted") in actions
    assert ("checkin.approve", "checked_in") in actions
    checkin = next(e for e in recorder.events if e.action == "checkin.approve")
    assert str(checkin.version) == "team/app@1.0.0" and checkin.actor == "victor"
    failures = lib.audit(action="plugin.error")
    assert len(failures) == 2 and failures[0]["outcome"] == "failed"
    assert "the ticket system is down" in failures[0]["reason"]
    assert failures[0]["rule"] == "plugin.raising"


def test_a_block_stops_checkouts_and_downloads_at_once(lib: World) -> None:
    quality = Quality()
    lib.depot.plugins.register(quality, "quality")
    submit_and_accept(lib)
    check_in(lib)
    pending = call(lib, "alice", "POST", V + "/checkout", {"purpose": "deploy"}, 201)
    quality.stopped["team/app@1.0.0"] = "serious quality issue Q-17 confirmed"
    refused = lib.call(
        "POST", f"/api/v1/requests/{pending['id']}/approve", lib.tokens["victor"], json={}
    )
    assert refused.status_code == 403 and refused.json["rule"] == "quality.serious_issue"
    assert "Q-17" in refused.json["message"]
    again = lib.call("POST", V + "/checkout", lib.tokens["alice"], json={"purpose": "again"})
    assert again.status_code == 403
    download = lib.call("GET", V + "/files/app.tar.gz", lib.tokens["alice"])
    assert download.status_code == 403 and download.json["rule"] == "quality.serious_issue"
    # Refusing is still possible, and the lift of the block reopens the door.
    quality.stopped.clear()
    call(lib, "victor", "POST", f"/api/v1/requests/{pending['id']}/approve", {})
    assert lib.call("GET", V + "/files/app.tar.gz", lib.tokens["alice"]).status_code == 200


def test_a_decision_hook_that_fails_blocks_the_version(lib: World) -> None:
    lib.depot.plugins.register(Broken(), "broken")
    response = lib.call("GET", V + "/files/app.tar.gz", lib.tokens["bob"])
    assert response.status_code == 403 and response.json["rule"] == "plugin.error"
    [failure] = lib.audit(action="plugin.error")
    assert "database of issues unreachable" in failure["reason"]


def test_a_block_quarantines_the_signed_status_at_once_and_its_lift_restores_it(
    lib: World,
) -> None:
    from policies.trust.documents import Status
    from policies.trust.dsse import Envelope

    quality = Quality()
    lib.depot.plugins.register(quality, "quality")
    submit_and_accept(lib)
    check_in(lib)

    def status() -> Status:
        envelope = Envelope.from_json(call(lib, "alice", "GET", V + "/status"))
        return Status.from_payload(envelope.payload)

    assert (status().state, status().serial) == ("checked_in", 1)
    quality.stopped["team/app@1.0.0"] = "serious quality issue Q-17 confirmed"
    quarantined = status()  # no waiting for the old document to expire
    assert quarantined.state == "quarantined" and quarantined.serial == 2
    assert quarantined.reason == "quality.serious_issue: serious quality issue Q-17 confirmed"
    assert call(lib, "alice", "GET", V + "/trust")["status"] == call(
        lib, "alice", "GET", V + "/status"
    )
    quality.stopped.clear()
    lifted = status()
    assert (lifted.state, lifted.serial, lifted.reason) == ("checked_in", 3, "")


def test_a_failing_decision_hook_refuses_a_checkout_at_once_and_audited(lib: World) -> None:
    """Inside a write transaction (a check-out request, an approval) a failing decision
    hook answers the same prompt 403 ``plugin.error`` on SQLite as on PostgreSQL: its
    failure is recorded once that transaction is over, never by a second writer waiting
    for the first (SQLite's lock, 30 s, then a 500)."""
    import time

    submit_and_accept(lib)
    check_in(lib)
    pending = call(lib, "alice", "POST", V + "/checkout", {"purpose": "deploy"}, 201)
    lib.depot.plugins.register(Broken(), "broken")
    started = time.monotonic()
    requested = lib.call("POST", V + "/checkout", lib.tokens["alice"], json={"purpose": "again"})
    approved = lib.call(
        "POST", f"/api/v1/requests/{pending['id']}/approve", lib.tokens["victor"], json={}
    )
    assert time.monotonic() - started < 10
    for answer in (requested, approved):
        assert answer.status_code == 403, answer.json
        assert answer.json["rule"] == "plugin.error"
    failures = lib.audit(action="plugin.error")
    assert len(failures) == 2
    assert all("database of issues unreachable" in f["reason"] for f in failures)
    for action in ("checkout.request", "checkout.approve"):
        refused = [r for r in lib.audit(action=action) if r["outcome"] == "refused"]
        assert [r["rule"] for r in refused] == ["plugin.error"], action
