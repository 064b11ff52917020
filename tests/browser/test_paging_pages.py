"""The listing pages in Chromium show a page at a time with "Next" and "Previous" links,
and every row is on exactly one page; a bad ``limit`` or cursor is a 400 page."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Site


def test_a_group_page_pages_its_products(site: Site, browser: Browser) -> None:
    world = site.world
    world.user("alice")
    world.group("team", {"alice": ("member", "software_manager")})
    made = [f"app-{n}" for n in range(5)]
    for name in made:
        world.product("team", name, world.tokens["alice"])
    page = site.sign_in(browser, "alice")
    page.goto(f"{site.url}/groups/team?limit=2")
    seen: list[str] = []
    while True:
        cells = page.locator("tbody tr td:first-child").all_inner_texts()
        assert 1 <= len(cells) <= 2
        seen.extend(cells)
        after = page.get_by_role("link", name="Next →")
        if after.count() == 0:
            break
        after.click()
        expect(page.get_by_role("link", name="← Previous")).to_be_visible()
    assert seen == made
    # Back one page: the two rows before the last one.
    page.get_by_role("link", name="← Previous").click()
    expect(page.locator("tbody tr td:first-child")).to_have_text(["app-2", "app-3"])

    page.goto(f"{site.url}/groups/team?limit=501")
    expect(page.locator("main")).to_contain_text("limit")
    answer = page.goto(f"{site.url}/groups/team?cursor=forged")
    assert answer is not None and answer.status == 400


def test_a_version_page_pages_its_history(site: Site, browser: Browser) -> None:
    world = site.world
    world.user("alice")
    world.group("team", {"alice": ("member", "software_manager")})
    world.product("team", "app", world.tokens["alice"])
    world.version("team", "app", "1.0.0", world.tokens["alice"])
    for n in range(4):
        world.upload("team/app@1.0.0", f"f-{n}.txt", f"{n}".encode(), world.tokens["alice"])
    page = site.sign_in(browser, "alice")
    page.goto(f"{site.url}/groups/team/app/1.0.0?limit=2")
    history = page.locator("ol.timeline li")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("version created by alice")
    seen = history.all_inner_texts()
    while page.get_by_role("link", name="Next →").count():
        page.get_by_role("link", name="Next →").click()
        expect(page.get_by_role("link", name="← Previous")).to_be_visible()
        seen.extend(history.all_inner_texts())
    assert len(seen) == 5 and sum("file uploaded by alice" in row for row in seen) == 4
    # The files are all there on every page of the history.
    expect(page.locator("main")).to_contain_text("f-3.txt")


def test_the_inbox_pages_what_waits(site: Site, browser: Browser) -> None:
    world = site.world
    world.user("alice")
    world.user("victor", roles=("version_manager",))
    world.group("team", {"alice": ("member", "software_manager")})
    world.product("team", "app", world.tokens["alice"])
    for n in range(5):
        asked = world.call(
            "POST", "/api/v1/groups/team/products/app/upgrades", world.tokens["alice"],
            json={"target_version": f"{n + 1}.0.0", "reason": "next"},
        )  # fmt: skip
        assert asked.status_code == 201, asked.json
    page = site.sign_in(browser, "victor")
    page.goto(f"{site.url}/inbox?limit=2")
    rows = page.locator("tbody tr")
    seen = rows.all_inner_texts()
    assert len(seen) == 2
    while page.get_by_role("link", name="Next →").count():
        page.get_by_role("link", name="Next →").click()
        expect(page.get_by_role("link", name="← Previous")).to_be_visible()
        seen.extend(rows.all_inner_texts())
    assert sum("upgrade" in row for row in seen) >= 5 and len(seen) == len(set(seen))
