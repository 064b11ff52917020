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
    page = sign_in(browser, live.url, "bob")  # the clerk of team

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
    page.get_by_role("link", name="Escalated").click()
    expect(page.locator("table.tickets tbody tr")).to_have_count(1)

    # A step through the ticket's page form (POST with the CSRF token).
    page.get_by_role("link", name="S-1").click()
    expect(page.locator("#overdue")).to_contain_text("First response overdue")
    expect(page.locator("#escalations")).to_contain_text("First response escalated")
    expect(page.locator("#escalations")).to_contain_text("to sue")
    form = page.locator("#step-respond")
    form.locator("textarea[name=note]").fill("called back, a fix is coming")
    form.get_by_role("button").click()
    expect(page.locator(".flash.success")).to_have_text(
        "S-1: the first response to the customer recorded."
    )
    expect(page.locator("#record")).to_contain_text("first response to the customer: called back")
    expect(page.locator("#overdue")).to_have_count(0)
    # Its customer is an entry of the register, and the warranty says where it comes from.
    expect(page.locator("#customer")).to_contain_text("C-1 in the register")
    expect(page.locator("#warranty")).to_have_text("(default warranty, 30 days)")
    # The complaint linked to a quality issue (a reference: no quality module here).
    page.fill("#quality-issue input[name=issue]", "Q-4")
    page.locator("#quality-issue").get_by_role("button", name="Link").click()
    expect(page.locator("#quality-issue")).to_contain_text("Q-4")
    # A bad value is shown on the page; nothing changes.
    form = page.locator("#step-assess")
    form.locator("input[name=problem]").fill("   ")
    form.get_by_role("button").click()
    expect(page.locator(".flash.error")).to_contain_text("field 'problem' must not be blank")
    assert (
        w.call("GET", "/api/v1/service/tickets/S-1", w.tokens["bob"]).json["status"] == "responded"
    )
    assert w.audit(action="service.ticket.respond")[-1]["actor"] == "bob"

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

    # An honest end through the page: S-2 withdrawn, with its reason.
    page.goto(f"{live.url}/service/S-2")
    form = page.locator("#step-withdraw")
    form.locator("textarea[name=reason]").fill("the customer found the answer")
    form.get_by_role("button").click()
    expect(page.locator(".flash.success")).to_have_text("S-2: the withdrawal recorded.")
    expect(page.locator("h1 .badge")).to_have_text("withdrawn")
    expect(page.locator("#ended")).to_contain_text("the customer found the answer")
    page.goto(f"{live.url}/service/S-3")
    form = page.locator("#step-duplicate")
    form.locator("input[name=of]").fill("S-1")
    form.locator("textarea[name=reason]").fill("same customer, same batch")
    form.get_by_role("button").click()
    expect(page.locator("#ended")).to_contain_text("duplicate of S-1")

    # A member without a service role reads the ticket and gets no step form.
    member = sign_in(browser, live.url, "carol")
    member.goto(f"{live.url}/service/S-1")
    expect(member.locator("form.step-form")).to_have_count(0)
    expect(member.locator("#no-role")).to_contain_text("no service role")

    page.goto(f"{live.url}/service/customers/team")
    expect(page.locator("table.customers tr", has_text="C-1")).to_contain_text(
        "Bank of Example, Shanghai branch"
    )

    # The software manager grants the service roles on the group's roles page.
    manager = sign_in(browser, live.url, "alice")
    manager.goto(f"{live.url}/service/roles/team")
    expect(manager.locator("table.roles")).to_contain_text("tom")
    manager.fill("#username", "kim")
    manager.select_option("#role", "technician")
    manager.get_by_role("button", name="Grant").click()
    expect(manager.locator(".flash.success")).to_have_text("kim is now technician of team.")
    expect(manager.locator("table.roles tr", has_text="kim")).to_contain_text("technician")
    manager.locator("table.roles tr", has_text="kim").get_by_role("button").click()
    expect(manager.locator(".flash.success")).to_have_text("kim is no longer technician of team.")

    # A technician's own tickets, without membership of the group.
    for step, body in [
        ("assess", {"nature": "defect", "severity": "high", "problem": "batch stops"}),
        ("dispatch", {"technician": "tom"}),
    ]:
        assert (
            w.call(
                "POST", f"/api/v1/service/tickets/S-1/{step}", w.tokens["bob"], json=body
            ).status_code
            == 200
        )
    tech = sign_in(browser, live.url, "tom")
    tech.goto(f"{live.url}/service/")
    tech.get_by_role("link", name="Mine").click()
    expect(tech.locator("table.tickets tbody tr")).to_have_count(1)
    expect(tech.locator("table.tickets tbody tr")).to_contain_text("S-1")
    tech.get_by_role("link", name="S-1").click()
    expect(tech.locator("#step-service")).to_be_visible()
    expect(tech.locator("#step-cancel")).to_have_count(0)

    # The supervisor (no member of team) reads the group-wide figures of a period.
    boss = sign_in(browser, live.url, "sue")
    boss.goto(f"{live.url}/service/analysis")
    boss.fill("input[name=group]", "team")
    boss.fill("input[name=since]", "2026-11-28")
    boss.get_by_role("button", name="Show").click()
    expect(boss.locator("main h2").first).to_contain_text("team (from 2026-11-28): 3 tickets")
    expect(boss.locator("table.technicians tr", has_text="tom")).to_contain_text("1")

    # Someone who cannot see the group gets the same "not found" as for nothing.
    outsider = sign_in(browser, live.url, "dave")
    outsider.goto(f"{live.url}/service/S-1")
    expect(outsider.locator("main")).to_contain_text("ticket S-1 not found")
    outsider.goto(f"{live.url}/service/")
    expect(outsider.locator("main")).to_contain_text("No tickets.")
