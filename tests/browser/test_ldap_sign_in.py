"""Signing in on the approval pages with a directory account, in Debian's Chromium.

These live with the other browser tests so that the whole run shares one Playwright
(two sync Playwright instances cannot run in one process); the directory, the server and
the mapping come from tests/ldap.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from repo_server.clock import FrozenClock
from tests.fixtures.directory import ROOT_PASSWORD
from tests.ldap.directory import LiveDirectory, password

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def live_url(ldap_live_url: str) -> str:
    """A server signing people in through the test directory (tests/fixtures/directory.py)."""
    return ldap_live_url


def open_login(browser: Browser, url: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{url}/login")
    return page


def sign_in(page: Page, username: str, secret: str) -> None:
    page.fill("#username", username)
    page.fill("#password", secret)
    page.click("button[type=submit]")


def test_a_directory_person_signs_in_on_the_pages(
    browser: Browser,
    live_url: str,
    directory: LiveDirectory,
    clock: FrozenClock,
) -> None:
    page = open_login(browser, live_url)
    expect(page.locator(".sub")).to_contain_text("With your directory account")
    sign_in(page, "alice", password("alice"))
    page.wait_for_url(f"{live_url}/inbox")
    expect(page.locator(".who")).to_contain_text("alice")
    page.goto(f"{live_url}/groups")
    row = page.locator("tr").filter(has_text="payments")
    expect(row).to_contain_text("member")

    # The directory takes the group away; the pages follow at the next check.
    directory.remove_member("payments-dev", "alice")
    clock.advance(seconds=300)
    page.reload()
    expect(page.locator("main")).to_contain_text("You are in no group yet.")
    page.goto(f"{live_url}/groups/payments")
    expect(page.locator("main")).to_contain_text("group 'payments' not found")


def test_a_wrong_password_and_a_disabled_person_on_the_pages(
    browser: Browser,
    live_url: str,
) -> None:
    page = open_login(browser, live_url)
    for username, secret in (("alice", "not her password"), ("dave", password("dave"))):
        sign_in(page, username, secret)
        expect(page.locator(".flash.error")).to_have_text("invalid user name or password")
        assert page.url.startswith(f"{live_url}/login")


def test_the_directory_down_on_the_pages(
    browser: Browser,
    live_url: str,
    directory: LiveDirectory,
    clock: FrozenClock,
) -> None:
    alice = open_login(browser, live_url)
    sign_in(alice, "alice", password("alice"))
    alice.wait_for_url(f"{live_url}/inbox")

    directory.pause()
    page = open_login(browser, live_url)
    sign_in(page, "bob", password("bob"))
    expect(page.locator(".flash.error")).to_have_text(
        "the directory (LDAP) cannot be reached, so directory accounts cannot sign in now; "
        "try again in a few minutes or tell your administrator"
    )
    # The break-glass admin is a local account: it signs in all the same.
    sign_in(page, "root", ROOT_PASSWORD)
    page.wait_for_url(f"{live_url}/inbox")
    expect(page.locator(".who")).to_contain_text("root · admin")

    # alice's session needs a re-check now, which cannot be done: no page for her.
    clock.advance(seconds=300)
    alice.goto(f"{live_url}/groups")
    expect(alice.locator(".flash.error").first).to_contain_text(
        "cannot be reached to re-check your groups"
    )
    expect(alice.locator("h1")).to_have_text("Sign in")
    directory.resume()
    alice.goto(f"{live_url}/groups")
    expect(alice.locator("h1")).to_have_text("Groups")
