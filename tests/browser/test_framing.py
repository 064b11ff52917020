"""The approve page cannot be framed by another origin (clickjacking; issue 13 §2).

Another origin on the same site (127.0.0.1, another port: the browser still sends the
session cookie to a frame) puts victor's approve page in an iframe. Chromium refuses to
render it (Content-Security-Policy ``frame-ancestors 'none'``, X-Frame-Options DENY), so
no Approve button can be overlaid and clicked; opened directly, the page works.
"""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Site, prepare
from tests.fixtures.servers import serve


def test_the_approve_page_cannot_be_framed_by_another_origin(browser: Browser, site: Site) -> None:
    ids = prepare(site.world)
    target = f"{site.url}/requests/{ids['checkin']}"
    attacker = Flask("attacker")
    attacker.add_url_rule(
        "/",
        "frame",
        lambda: (
            f'<h1>Win a prize</h1><iframe id="victim" src="{target}" width="900" '
            'height="700"></iframe>'
        ),
    )
    page = site.sign_in(browser, "victor")
    page.goto(target)
    expect(page.get_by_role("button", name="Approve")).to_be_visible()

    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    with serve(attacker) as evil:
        assert evil.split(":")[-1] != site.url.split(":")[-1]
        page.goto(evil, wait_until="load")
        expect(page.get_by_role("heading", name="Win a prize")).to_be_visible()
        (framed,) = [frame for frame in page.frames if frame != page.main_frame]
        assert framed.locator("button").count() == 0
        assert "Request #" not in framed.content()
    assert any("frame-ancestors 'none'" in text for text in console), console
    # Nothing was decided through the frame.
    assert site.world.audit(action="checkin.approve") == []
