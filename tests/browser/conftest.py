"""Real Chromium (Debian's, driven by Playwright) against a live Depot on 127.0.0.1.

`make test` installs the `chromium` package when it is missing (scripts/ensure-services.sh);
Playwright's own browser download is never used. The ``browser`` fixture (one Chromium
for the whole session, shared with tests/plugins) is in tests/fixtures/services.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from repo_server.auth.principal import system
from repo_server.clock import FrozenClock
from tests.fixtures import servers
from tests.support import DatabaseTemplates, World, make_settings, running_world


@dataclass
class Site:
    world: World
    url: str
    shots: Path

    def sign_in(self, browser: Browser, username: str) -> Page:
        return servers.sign_in(browser, self.url, username)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A live server: group ``team`` with alice (software manager, also a version
    manager), bob (member), carol (acceptance officer); victor (version manager); dave in
    ``other``. ``team/app@1.0.0`` is accepted and alice has filed its check-in."""
    templates = DatabaseTemplates(tmp_path, None)
    settings = make_settings(tmp_path / "server", templates.sqlite(tmp_path))
    with running_world(settings, FrozenClock()) as world, servers.serve(world.app) as url:
        yield Site(world, url, tmp_path)


def prepare(world: World, *, accepted: bool = True, checkin: bool = True) -> dict[str, int]:
    """Bring ``team/app@1.0.0`` to where the pages take over; the ids of its requests."""
    for name in ("alice", "bob", "carol", "dave"):
        world.user(name)
    world.user("victor", roles=("version_manager",))
    world.depot.accounts.update_user(system(), "alice", roles=["version_manager"])
    world.group(
        "team",
        {"alice": ("member", "software_manager"), "bob": "member", "carol": "acceptance_officer"},
    )
    world.group("other", {"dave": "member"})
    world.product("team", "app", world.tokens["alice"])
    world.version("team", "app", "1.0.0", world.tokens["alice"])
    world.upload("team/app@1.0.0", "app-1.0.0.tar.gz", b"release build", world.tokens["bob"])
    world.upload(
        "team/app@1.0.0", "install-guide.pdf", b"%PDF guide", world.tokens["bob"], role="document"
    )
    base = "/api/v1/groups/team/products/app/versions/1.0.0"
    ids = {}
    ids["acceptance"] = world.call(
        "POST", base + "/submit", world.tokens["alice"], json={"to": "carol"}
    ).json["id"]
    if accepted:
        world.upload(
            "team/app@1.0.0",
            "test-report.pdf",
            b"all 214 tests pass",
            world.tokens["carol"],
            role="report",
        )
        world.call(
            "POST",
            f"/api/v1/requests/{ids['acceptance']}/approve",
            world.tokens["carol"],
            json={"report": "test-report.pdf", "comment": "fit for production"},
        )
    if accepted and checkin:
        body = {
            "release_notes": "First release.\nNew payment scheme.",
            "documents": ["install-guide.pdf"],
            "items": [
                {
                    "kind": "install media",
                    "label": "DVD 1/1",
                    "location": "vault B2",
                    "custodian": "victor",
                }
            ],
        }
        ids["checkin"] = world.call(
            "POST", base + "/checkin", world.tokens["alice"], json=body
        ).json["id"]
    return ids


SignIn = Callable[[str], Page]


_STARTED = time.time()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the screenshots this run saved are (xdist's workers save them, the
    controller prints the folder)."""
    from tests.browser.accessibility import SHOTS

    fresh = (
        [p for p in SHOTS.glob("*.png") if p.stat().st_mtime >= _STARTED] if SHOTS.is_dir() else []
    )
    if fresh:
        terminalreporter.write_line(f"{len(fresh)} screenshots of the pages in {SHOTS}")
