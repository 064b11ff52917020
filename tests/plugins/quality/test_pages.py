"""The quality pages in Chromium: the overview, the quality manager's decision on an
issue page, and the quality box on a version page."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Browser, expect

from tests.client.conftest import Live
from tests.plugins.conftest import screenshot, sign_in
from tests.plugins.quality.conftest import api, check_in, check_out, populate


def test_the_quality_manager_confirms_on_the_issue_page(
    browser: Browser, make_live: Callable[..., Live]
) -> None:
    live = make_live("quality")
    w = populate(live.world)
    check_in(w, "team/app@1.0.0")
    check_out(w, "team/app@1.0.0")  # alice's, approved: she took the batch out
    issue = {"version": "team/app@1.0.0", "title": "Payments lost", "description": "in B-7"}
    api(w, "bob", "POST", "/api/v1/quality/issues", {**issue, "class": "serious"}, 201)

    # A member sees the issue, but no decision form.
    bob = sign_in(browser, live.url, "bob")
    bob.get_by_role("link", name="Quality").click()
    expect(bob.get_by_role("heading", name="Quality", level=1)).to_be_visible()
    bob.get_by_role("link", name="Q-1").click()
    expect(bob.get_by_role("heading", level=1)).to_contain_text("Q-1: Payments lost")
    expect(bob.get_by_role("button", name="Decide")).to_have_count(0)

    page = sign_in(browser, live.url, "quinn")
    page.goto(f"{live.url}/quality/")
    expect(page.locator("table.issues")).to_contain_text("Payments lost")
    expect(page.locator("table.trends")).to_contain_text(w.clock.now().strftime("%Y-%m"))
    # Each count sits under its header: headers and cells of a number column align alike.
    for column in ("General", "Serious", "Total"):
        header = page.locator("table.trends th", has_text=column)
        expect(header).to_have_css("text-align", "right")
    expect(page.locator("table.trends td.num").first).to_have_css("text-align", "right")
    expect(page.locator("main")).to_contain_text("No version is quarantined.")
    page.get_by_role("link", name="Q-1").click()
    # A serious decision has no default: deciding without choosing changes nothing.
    expect(page.locator("#cause")).to_have_value("")
    page.get_by_role("button", name="Decide").click()
    expect(page.locator(".flash.error")).to_contain_text("choose the cause")
    assert api(w, "bob", "GET", "/api/v1/quality/issues/Q-1")["status"] == "open"
    page.select_option("#cause", "product")
    page.fill("#decide-comment", "the build is broken")
    page.get_by_role("button", name="Decide").click()
    expect(page.locator(".flash.success")).to_have_text("Q-1 confirmed: 1 version(s) quarantined.")
    expect(page.locator("p.alert")).to_contain_text("1 version(s) quarantined by this issue")
    expect(page.locator("ol.timeline")).to_contain_text("the build is broken")
    expect(page.get_by_role("button", name="Lift quarantine")).to_be_visible()
    screenshot(page, "quality-issue")
    decided = api(w, "bob", "GET", "/api/v1/quality/issues/Q-1")
    assert decided["status"] == "confirmed" and decided["decided_by"] == "quinn"
    assert [e["target"] for e in w.audit(action="version.quarantine")] == ["team/app@1.0.0"]

    # The version page shows the quarantine in the quality box.
    page.goto(f"{live.url}/groups/team/app/1.0.0")
    # The version's badge says what the core enforces, not its row's "checked in".
    expect(page.locator("h1 .badge.failed")).to_have_text("quarantined")
    expect(page.locator("h1")).not_to_contain_text("checked in")
    panel = page.locator('section[aria-label="Quality"]')
    expect(panel.locator(".alert")).to_contain_text("Quarantined by Q-1")
    expect(panel).to_contain_text("Payments lost")
    expect(panel.get_by_role("link", name="Report a quality issue")).to_be_visible()
    screenshot(page, "quality-version-panel")
    page.goto(f"{live.url}/quality/")
    expect(page.locator("table.quarantines")).to_contain_text("team/app@1.0.0")
    screenshot(page, "quality-overview")

    # The recall list of the batch, with its exports.
    page.goto(f"{live.url}/quality/issues/Q-1")
    page.get_by_role("link", name="Recall list").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recall list of Q-1")
    expect(page.locator("table.recall")).to_contain_text("alice")
    expect(page.locator("table.recall")).to_contain_text("checkout")
    expect(page.get_by_role("link", name="CSV")).to_have_attribute(
        "href", "/quality/issues/Q-1/recall.csv"
    )
    expect(page.get_by_role("link", name="JSON")).to_have_attribute(
        "href", "/quality/issues/Q-1/recall.json"
    )

    # alice, who took it out, sees her stop-use notice on the version page.
    alice = sign_in(browser, live.url, "alice")
    alice.goto(f"{live.url}/groups/team/app/1.0.0")
    notice = alice.locator('section[aria-label="Quality"] .notice')
    expect(notice).to_contain_text("Stop-use notice")
    expect(notice).to_contain_text("You took team/app@1.0.0 out of the library")

    # A lift without a reason is refused on the page and changes nothing.
    page.goto(f"{live.url}/quality/issues/Q-1")
    page.get_by_role("button", name="Lift quarantine").click()
    expect(page.locator(".flash.error")).to_contain_text("'reason' is required")
    page.fill("#lift-reason", "rebuilt")
    page.get_by_role("button", name="Lift quarantine").click()
    expect(page.locator(".flash.success")).to_contain_text("released: team/app@1.0.0")


def test_reporting_and_the_supplier_register_on_pages(
    browser: Browser, make_live: Callable[..., Live]
) -> None:
    live = make_live("quality")
    populate(live.world)
    quinn = sign_in(browser, live.url, "quinn")
    quinn.goto(f"{live.url}/quality/suppliers")
    quinn.fill("#name", "Acme Ltd")
    quinn.fill("#qualification", "ISO 9001")
    quinn.fill("#qualified_until", "2030-01-01")
    quinn.get_by_role("button", name="Add supplier").click()
    expect(quinn.locator(".flash.success")).to_have_text("Supplier Acme Ltd added.")
    quinn.get_by_role("link", name="Acme Ltd").click()
    quinn.fill("#period", "2026-H1")
    quinn.select_option("#score", "4")
    quinn.get_by_role("button", name="Record evaluation").click()
    expect(quinn.locator("table.evaluations")).to_contain_text("4/5")

    bob = sign_in(browser, live.url, "bob")
    bob.goto(f"{live.url}/groups/team/app/1.0.0")
    bob.locator('section[aria-label="Quality"]').get_by_role(
        "link", name="Report a quality issue"
    ).click()
    expect(bob.locator("#version")).to_have_value("team/app@1.0.0")
    bob.fill("#title", "Manual outdated")
    bob.fill("#description", "chapter 2")
    bob.select_option("#supplier", "Acme Ltd")
    bob.get_by_role("button", name="Report").click()
    expect(bob.locator(".flash.success")).to_have_text("Q-1 reported.")
    expect(bob.get_by_role("heading", level=1)).to_contain_text("Q-1: Manual outdated")
    bob.goto(f"{live.url}/quality/suppliers/Acme%20Ltd")
    expect(bob.locator("table.issues")).to_contain_text("Manual outdated")
    expect(bob.get_by_role("button", name="Record evaluation")).to_have_count(0)
