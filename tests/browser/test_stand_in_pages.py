"""The stand-ins page in a real browser: a version manager names a stand-in, who then
decides on the request page in her place; a person chooses which mail she gets."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Site, prepare


def test_a_stand_in_named_on_the_page_decides_in_her_place(browser: Browser, site: Site) -> None:
    ids = prepare(site.world)
    site.world.user("sara")
    page = site.sign_in(browser, "victor")
    page.get_by_role("link", name="Stand-ins & mail").click()
    expect(page.get_by_role("heading", name="Stand-ins", exact=True)).to_be_visible()
    page.fill("#stand_in", "nobody")
    page.fill("#until", "2026-11-30")
    page.get_by_role("button", name="Name stand-in").click()
    expect(page.locator(".flash.error")).to_contain_text("no active person named 'nobody'")
    page.fill("#stand_in", "sara")
    page.fill("#until", "2026-11-30")
    page.fill("#reason", "annual leave")
    page.get_by_role("button", name="Name stand-in").click()
    expect(page.locator(".flash.success")).to_contain_text("sara stands in for you until")
    expect(page.locator("main table")).to_contain_text("annual leave")
    page.screenshot(path=str(site.shots / "stand-ins.png"), full_page=True)

    sara = site.sign_in(browser, "sara")
    expect(sara.locator("header .who")).to_contain_text("version manager for victor")
    sara.get_by_role("link", name="check-in of team/app@1.0.0").click()
    sara.get_by_role("button", name="Approve").click()
    expect(sara.locator(".flash.success")).to_have_text(f"Request #{ids['checkin']} approved.")
    expect(sara.locator("main")).to_contain_text("sara for victor, as stand-in")
    expect(sara.locator("ol.timeline")).to_contain_text("sara for victor (version manager)")
    sara.screenshot(path=str(site.shots / "decided-by-stand-in.png"), full_page=True)

    page.goto(f"{site.url}/stand-ins")
    page.get_by_role("button", name="Revoke stand-in appointment 1").click()
    expect(page.locator(".flash.success")).to_contain_text("sara no longer stands in for victor")


def test_a_person_chooses_her_mail_on_the_page(browser: Browser, site: Site) -> None:
    prepare(site.world)
    page = site.sign_in(browser, "bob")
    page.goto(f"{site.url}/stand-ins")
    expect(page.get_by_role("button", name="Name stand-in")).to_have_count(0)  # no VM
    expect(page.get_by_label("A request waits for my decision")).to_be_checked()
    page.get_by_label("Reminders of requests waiting too long").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".flash.success")).to_have_text("Notification settings saved.")
    expect(page.get_by_label("Reminders of requests waiting too long")).not_to_be_checked()
    mine = site.world.call("GET", "/api/v1/me/notifications", site.world.tokens["bob"]).json
    assert (mine["awaiting"], mine["decided"], mine["reminders"]) == (True, True, False)
