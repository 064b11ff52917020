"""The pages in Chinese and in English, in Debian's Chromium: a version manager works
through her inbox, a request, the register and a version page with the keyboard alone;
the requester is told why she may not approve; axe-core finds no serious or critical
violation on any of them; screenshots of every page are kept (tests/browser/accessibility.py
says where)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.accessibility import check_accessible, keep, signed_in
from tests.browser.conftest import Site, prepare


@dataclass(frozen=True)
class Words:
    """What a person reads, in one language."""

    locale: str
    inbox: str
    checkin_link: str
    approve: str
    approved: str
    library_number: str
    register: str
    timeline: str
    why_not: str
    retire: str
    four_eyes: str


ENGLISH = Words(
    locale="en-US",
    inbox="Inbox",
    checkin_link="check-in of team/app@1.0.0",
    approve="Approve",
    approved="Request #{id} approved.",
    library_number="library number 1",
    register="Library register",
    timeline="check-in approved by victor",
    why_not="You cannot decide this request",
    retire="Retire team/app@1.0.0",
    four_eyes="Four eyes: whoever filed a request never decides it.",
)
CHINESE = Words(
    locale="zh-CN",
    inbox="待办",
    checkin_link="team/app@1.0.0 入库",
    approve="批准",
    approved="申请 #{id} 已批准。",
    library_number="库号 1",
    register="版本信息台账",
    timeline="victor 批准入库",
    why_not="您不能审批此申请",
    retire="退役 team/app@1.0.0",
    four_eyes="双人原则：申请人不能审批自己的申请。",
)


def tab_to(page: Page, name: str, *, limit: int = 80) -> None:
    """Press Tab until the element named ``name`` has the focus (keyboard reachable)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return (e.getAttribute('aria-label') || e.innerText || e.id || '').trim(); }"
        )
        if name in focused:
            return
    raise AssertionError(f"{name!r} cannot be reached with the Tab key")


@pytest.mark.parametrize("words", [ENGLISH, CHINESE], ids=["en", "zh-CN"])
def test_a_version_manager_works_in_her_language(
    browser: Browser, site: Site, words: Words
) -> None:
    ids = prepare(site.world)
    lang = words.locale
    page = signed_in(browser, site.url, "victor", locale=lang)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh-CN" else "en")
    expect(page.get_by_role("heading", name=words.inbox, exact=True)).to_be_visible()
    check_accessible(page, f"inbox ({lang})")
    keep(page, f"inbox-{lang}")

    page.get_by_role("link", name=words.checkin_link).first.click()
    expect(page.locator("main")).to_contain_text("vault B2")
    check_accessible(page, f"request ({lang})")
    keep(page, f"request-{lang}")
    # The keyboard alone: into the comment, then to the button, and Enter.
    tab_to(page, "comment")
    page.keyboard.type("archived, DVD in vault B2")
    tab_to(page, words.approve)
    page.keyboard.press("Enter")
    expect(page.locator(".flash.success")).to_have_text(words.approved.format(id=ids["checkin"]))
    expect(page.locator("main")).to_contain_text(words.library_number)
    keep(page, f"request-approved-{lang}")

    page.goto(f"{site.url}/groups/team/app/1.0.0")
    expect(page.locator("#library-number")).to_contain_text(words.library_number)
    expect(page.locator("ol.timeline")).to_contain_text(words.timeline)
    expect(page.locator("main")).to_contain_text("DVD 1/1")  # the archived item
    expect(page.get_by_role("button", name=words.retire)).to_be_visible()
    check_accessible(page, f"version ({lang})")
    keep(page, f"version-{lang}")

    page.goto(f"{site.url}/register")
    expect(page.get_by_role("heading", name=words.register, exact=True)).to_be_visible()
    check_accessible(page, f"register ({lang})")
    keep(page, f"register-{lang}")

    page.goto(f"{site.url}/requests?view=all")
    check_accessible(page, f"requests ({lang})")
    keep(page, f"requests-{lang}")
    page.goto(f"{site.url}/stand-ins")
    check_accessible(page, f"settings ({lang})")
    keep(page, f"settings-{lang}")


@pytest.mark.parametrize("words", [ENGLISH, CHINESE], ids=["en", "zh-CN"])
def test_the_requester_is_told_why_she_may_not_approve(
    browser: Browser, site: Site, words: Words
) -> None:
    ids = prepare(site.world)
    page = signed_in(browser, site.url, "alice", locale=words.locale)
    page.goto(f"{site.url}/requests/{ids['checkin']}")
    expect(page.get_by_role("button", name=words.approve)).to_have_count(0)
    why = page.locator("#why-not")
    expect(why).to_contain_text(words.why_not)
    expect(why).to_contain_text(words.four_eyes)
    expect(why).to_contain_text("alice filed this request")  # the rules' own reason
    check_accessible(page, f"request, requester ({words.locale})")
    keep(page, f"request-requester-{words.locale}")


def test_her_own_language_wins_over_the_browsers(browser: Browser, site: Site) -> None:
    prepare(site.world)
    page = signed_in(browser, site.url, "bob", locale="en-US")
    page.get_by_role("link", name="Stand-ins & mail").click()
    page.get_by_label("Language", exact=True).select_option("zh-CN")
    page.get_by_label("Time zone").fill("Asia/Shanghai")
    page.get_by_role("button", name="Save language and time zone").click()
    expect(page.locator(".flash.success")).to_have_text("语言和时区已保存。")
    expect(page.get_by_role("link", name="代理人与邮件")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Asia/Shanghai")
    check_accessible(page, "settings in her language")
    keep(page, "settings-chosen-zh-CN")
