"""The service pages in Chromium: the list with an overdue complaint standing out, a
step done through a page form, the version panel and the analysis page."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Browser, expect

from tests.client.conftest import Live
from tests.plugins.conftest import screenshot, sign_in
from tests.plugins.product_service.conftest import HOLIDAYS, build, ticket_body


def test_the_service_pages(browser: Browser, make_live: Callable[..., Live]) -> None:
    live = make_live("product_service", product_service={"holidays": HOLIDAYS})
    w = build(live.world)
    for body in (ticket_body(), ticket_body(kind="service", customer="Example Insurance")):
        assert (
            w.call("POST", "/api/v1/service/tickets", w.tokens["bob"], json=body).status_code == 201
        )
    w.clock.advance(hours=25)
    page = sign_in(browser, live.url, "alice")

    # The version page: its panel counts open and overdue tickets and links to them.
    page.goto(f"{live.url}/groups/team/app/1.0.0")
    panel = page.locator("section.panel", has_text="Service tickets")
    expect(panel).to_contain_text("2 open tickets of 2")
    expect(panel.locator(".overdue")).to_have_text("1 overdue")
    screenshot(page, "service-version-panel")
    panel.get_by_role("link", name="Tickets of team/app@1.0.0").click()

    # The list: the overdue complaint stands out, with how late it is.
    expect(page.get_by_role("heading", name="Service tickets")).to_be_visible()
    late = page.locator("tr.overdue")
    expect(late).to_have_count(1)
    expect(late).to_contain_text("S-1")
    expect(late).to_contain_text("response 1 h 0 min late")
    expect(page.locator("tr", has_text="S-2")).not_to_have_class("overdue")
    screenshot(page, "service-list")
    page.get_by_role("link", name="Overdue").click()
    expect(page.locator("table.tickets tbody tr")).to_have_count(1)

    # A step through the ticket's page form (POST with the CSRF token).
    page.get_by_role("link", name="S-1").click()
    expect(page.locator("#overdue")).to_contain_text("First response overdue")
    form = page.locator("#step-respond")
    form.locator("textarea[name=note]").fill("called back, a fix is coming")
    form.get_by_role("button").click()
    expect(page.locator(".flash.success")).to_have_text(
        "S-1: the first response to the customer recorded."
    )
    expect(page.locator("#record")).to_contain_text("first response to the customer: called back")
    expect(page.locator("#overdue")).to_have_count(0)
    # A bad value is shown on the page; nothing changes.
    form = page.locator("#step-assess")
    form.locator("input[name=problem]").fill("   ")
    form.get_by_role("button").click()
    expect(page.locator(".flash.error")).to_contain_text("field 'problem' must not be blank")
    assert (
        w.call("GET", "/api/v1/service/tickets/S-1", w.tokens["bob"]).json["status"] == "responded"
    )
    assert w.audit(action="service.ticket.respond")[-1]["actor"] == "alice"

    # Opening a ticket from the form.
    page.goto(f"{live.url}/service/new?ref=team/app@1.0.0")
    page.fill("#customer", "Example Leasing")
    page.fill("#contact", "Zhang San")
    page.fill("#contact_email", "zhang@example.cn")
    page.fill("#description", "Report totals are off by one cent.")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".flash.success")).to_have_text("Ticket S-3 registered (free).")

    # The analysis page and its CSV.
    page.goto(f"{live.url}/service/analysis?group=team&product=app")
    expect(page.locator("main h2").first).to_contain_text("team/app: 3 tickets")
    expect(page.locator("table.figures")).to_contain_text("service 2 · complaint 1")
    screenshot(page, "service-analysis")
    with page.expect_download() as download:
        page.locator("#csv").click()
    text = download.value.path().read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("number,group,product,version,kind")
    assert len(text.splitlines()) == 4

    # Someone who cannot see the group gets the same "not found" as for nothing.
    outsider = sign_in(browser, live.url, "dave")
    outsider.goto(f"{live.url}/service/S-1")
    expect(outsider.locator("main")).to_contain_text("ticket S-1 not found")
    outsider.goto(f"{live.url}/service/")
    expect(outsider.locator("main")).to_contain_text("No tickets.")
