"""The approval pages in a real browser: what a version manager, a requester, an officer
and an outsider see and can do."""

from __future__ import annotations

import hashlib
import os
import re

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Site, prepare


def test_a_version_manager_approves_a_check_in(browser: Browser, site: Site) -> None:
    ids = prepare(site.world)
    page = site.sign_in(browser, "victor")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.get_by_role("link", name="check-in of team/app@1.0.0").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"Request #{ids['checkin']}: check-in of team/app@1.0.0"
    )
    expect(page.locator("main")).to_contain_text("vault B2")
    expect(page.locator("main")).to_contain_text("First release.")
    files = page.locator("table").filter(has_text="SHA-256")
    expect(files).to_contain_text("app-1.0.0.tar.gz")
    expect(files).to_contain_text(hashlib.sha256(b"release build").hexdigest())
    expect(files).to_contain_text("test-report.pdf")
    expect(page.locator("dl.facts").first).to_contain_text("passed by carol")
    expect(page.locator("main")).to_contain_text("fit for production")
    page.screenshot(path=str(site.shots / "request-before.png"), full_page=True)
    if os.environ.get("DEPOT_SCREENSHOTS"):  # for people reviewing the pages
        page.screenshot(
            path=os.path.join(os.environ["DEPOT_SCREENSHOTS"], "request.png"), full_page=True
        )
    page.fill("#comment", "archived, DVD in vault B2")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash.success")).to_have_text(f"Request #{ids['checkin']} approved.")
    expect(page.locator("main")).to_contain_text("library number 1")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    page.screenshot(path=str(site.shots / "request-after.png"), full_page=True)
    version = site.world.call(
        "GET", "/api/v1/groups/team/products/app/versions/1.0.0", site.world.tokens["bob"]
    ).json
    assert version["state"] == "checked_in" and version["library_number"] == 1
    approved = site.world.audit(action="checkin.approve")[-1]
    assert approved["actor"] == "victor" and approved["role"] == "version_manager"
    assert approved["reason"] == "archived, DVD in vault B2"
    # Approved on the page: the server attests the statement, and the version page
    # shows the signed manifest a client can verify.
    assert approved["details"]["attestation"] == "server"
    page.goto(f"{site.url}/groups/team/app/1.0.0")
    expect(page.locator("main")).to_contain_text(f"sha256:{version['manifest_sha256']}")


def test_the_requester_sees_no_approve_button_and_a_forged_post_is_refused(
    browser: Browser, site: Site
) -> None:
    ids = prepare(site.world)
    page = site.sign_in(browser, "alice")  # alice is a version manager too, but filed this request
    page.goto(f"{site.url}/requests/{ids['checkin']}")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator("#why-not")).to_contain_text("alice filed this request")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = page.request.post(
        f"{site.url}/requests/{ids['checkin']}/decide",
        multipart={"csrf_token": token or "", "approve": "1", "comment": "self-approved"},
    )
    assert forged.status == 403
    assert "four_eyes.requester" in forged.text()
    detail = site.world.call(
        "GET", f"/api/v1/requests/{ids['checkin']}", site.world.tokens["victor"]
    ).json
    assert detail["state"] == "pending"


def test_a_post_without_the_csrf_token_is_refused(browser: Browser, site: Site) -> None:
    ids = prepare(site.world)
    page = site.sign_in(browser, "victor")
    forged = page.request.post(
        f"{site.url}/requests/{ids['checkin']}/decide", multipart={"approve": "1"}
    )
    assert forged.status == 400
    assert "not sent from this site" in forged.text()
    detail = site.world.call(
        "GET", f"/api/v1/requests/{ids['checkin']}", site.world.tokens["victor"]
    ).json
    assert detail["state"] == "pending"


def same_but_token(html: str) -> str:
    return re.sub(r'(name="csrf_token" type="hidden" value=")[^"]*"', r'\1…"', html)


def test_a_member_of_another_group_gets_404(browser: Browser, site: Site) -> None:
    ids = prepare(site.world)
    page = site.sign_in(browser, "dave")
    for path in (
        f"/requests/{ids['checkin']}",
        "/groups/team",
        "/groups/team/app",
        "/groups/team/app/1.0.0",
    ):
        response = page.goto(site.url + path)
        assert response is not None and response.status == 404, path
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    missing = page.goto(f"{site.url}/groups/no-such-group")
    assert missing is not None and missing.status == 404
    hidden = page.goto(f"{site.url}/groups/team")
    assert hidden is not None
    # The same page but for the name; the sign-out form's CSRF token carries the second
    # it was made in, so two page loads may straddle a second.
    assert same_but_token(hidden.text().replace("team", "G")) == same_but_token(
        page.goto(f"{site.url}/groups/no-such-group").text().replace("no-such-group", "G")  # type: ignore[union-attr]
    )
    page.goto(f"{site.url}/inbox")
    expect(page.locator("main")).not_to_contain_text("team/app")


def test_an_officer_accepts_with_the_report_from_the_page(
    browser: Browser, site: Site, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    ids = prepare(site.world, accepted=False)
    report = tmp_path / "acceptance-report.pdf"
    report.write_bytes(b"%PDF all tests pass")
    page = site.sign_in(browser, "carol")
    page.get_by_role("link", name="acceptance of team/app@1.0.0").click()
    page.set_input_files("#report", str(report))
    page.fill("#comment", "passed on the test bench")
    page.get_by_role("button", name="Accept (pass)").click()
    expect(page.locator(".flash.success")).to_have_text(f"Request #{ids['acceptance']} approved.")
    expect(page.locator("main")).to_contain_text("acceptance-report.pdf")
    page.goto(f"{site.url}/groups/team/app/1.0.0")
    expect(page.locator("h1 .badge")).to_have_text("accepted")


def test_sign_in_and_out(browser: Browser, site: Site) -> None:
    prepare(site.world, accepted=False)
    page = browser.new_page()
    page.goto(f"{site.url}/inbox")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#username", "victor")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".flash.error")).to_have_text("invalid user name or password")
    page.fill("#username", "carol")
    page.fill("#password", "correct horse battery staple")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{site.url}/inbox")
    expect(page.get_by_role("link", name="acceptance of team/app@1.0.0")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{site.url}/login")
    assert page.goto(f"{site.url}/groups").url.startswith(f"{site.url}/login")  # type: ignore[union-attr]
