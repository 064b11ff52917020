"""Accessibility and screenshots for the browser tests.

:func:`check_accessible` injects axe-core (fetched from the npm registry by
scripts/ensure-services.sh into ``~/.cache/depot-tests/axe-core``, or ``DEPOT_AXE_JS``)
into a page and fails on any serious or critical violation: missing labels, contrast,
names of buttons and links, landmarks. :func:`keep` saves a screenshot where people can look
at it: ``DEPOT_SCREENSHOTS``, else ``test-artifacts/screenshots`` of the checkout (ignored by
git); the folder is printed at the end of the run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page

from tests.support import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
#: Where the screenshots go, and which were saved in this run (for the summary).
SHOTS = Path(os.environ.get("DEPOT_SCREENSHOTS") or ROOT / "test-artifacts" / "screenshots")
SAVED: list[Path] = []


def axe_script() -> Path:
    """The axe-core script; a clear failure (never a skip) when it was not fetched."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    found = Path(
        os.environ.get("DEPOT_AXE_JS") or cache / "depot-tests" / "axe-core" / "axe.min.js"
    )
    assert found.is_file(), (
        f"{found} is missing: run scripts/ensure-services.sh (npm pack axe-core)"
    )
    return found


def signed_in(browser: Browser, url: str, username: str, *, locale: str = "en-US") -> Page:
    """A new session of ``username`` whose browser asks for ``locale`` (``Accept-Language``);
    the pages' CSP is bypassed only so that the test can inject axe-core."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 860}, locale=locale, bypass_csp=True
    )
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/inbox")
    return page


def check_accessible(page: Page, what: str) -> list[dict[str, Any]]:
    """Run axe-core on ``page``: no serious or critical violation; all violations found."""
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations: list[dict[str, Any]] = result["violations"]
    bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
    assert bad == [], f"{what}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in bad
    )
    return violations


def keep(page: Page, name: str) -> Path:
    """Save a full-page screenshot of ``page`` as ``name``.png in :data:`SHOTS`."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SAVED.append(path)
    return path
