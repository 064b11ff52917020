"""The plugin host seen from the command line: a download cut off in flight by a
quarantine is reported with the quarantine's reason, and nothing is left behind.

The blocking plugin is a test plugin (the quality module's own tests cover the real
thing); it stops the version as soon as the download has begun.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from repo_server.plugin_api import Block, VersionRef, hookimpl
from tests.client.conftest import Live


class StopsOnceStarted:
    """Lets the download start, then reports a serious issue at the first re-check."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def depot_version_blocks(self, version: VersionRef) -> list[Block]:
        self.calls += 1
        if self.calls == 1:
            return []
        return [Block("quality.serious_issue", "serious quality issue Q-9 confirmed")]


def test_a_pull_cut_off_by_a_quarantine_says_why_and_leaves_nothing(
    make_live: Callable[..., Live], tmp_path: Path
) -> None:
    live = make_live(settings={"download_recheck_seconds": 0})
    world = live.world
    world.user("alice")
    world.user("bob")
    world.group("team", {"alice": ("member", "software_manager"), "bob": "member"})
    world.product("team", "app", world.tokens["alice"])
    world.version("team", "app", "1.0.0", world.tokens["alice"])
    live.login("bob")
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 << 20))
    assert live.depot("push", "team/app@1.0.0", str(source)).exit_code == 0
    world.depot.plugins.register(StopsOnceStarted(), "stopper")
    out = tmp_path / "out"
    # No root pinned here: the bytes are checked against the server's record only.
    result = live.depot("pull", "team/app@1.0.0", "-o", str(out), "--unverified")
    assert result.exit_code != 0
    assert "use of team/app@1.0.0 is stopped: serious quality issue Q-9 confirmed" in result.output
    assert "rule quality.serious_issue" in result.output
    assert list(out.iterdir()) == []  # no partial file to resume
    cut = [e for e in world.audit(action="file.download") if e["outcome"] == "interrupted"]
    assert [(e["actor"], e["rule"]) for e in cut] == [("bob", "quality.serious_issue")]
