"""The pages in the person's language and time zone, the inbox's columns and filters, the
version page's record and the request page's reasons, as a browser gets them (the test
client; tests/browser/test_languages.py drives Chromium through them in both languages)."""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path

import pytest
from flask_babel import lazy_gettext

from repo_server.audit.services import AuditEntry
from repo_server.auth.principal import system
from repo_server.clock import FrozenClock
from repo_server.settings import SettingsError, load_settings
from repo_server.web import words
from tests.fixtures.factories import accept, api, check_out, populate_lib, ref_path
from tests.fixtures.mail import Mailbox, body_of
from tests.repo_server.test_notifications import file_checkin, mail_lib
from tests.repo_server.test_plugin_extensions import sign_in_page
from tests.support import World, csrf, make_settings, running_world

REF = "team/app@1.0.0"
__all__ = ["mail_lib"]  # the fixture, for the mail test below
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def page(w: World, path: str, headers: dict[str, str] | None = None, status: int = 200) -> str:
    answer = w.client.get(path, headers=headers or {})
    assert answer.status_code == status, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def test_the_browsers_language_until_the_person_chooses_her_own(lib: World) -> None:
    sign_in_page(lib, "victor")
    english = page(lib, "/inbox")
    assert '<html lang="en">' in english and "<h1>Inbox</h1>" in english
    chinese = page(lib, "/inbox", ZH)
    assert '<html lang="zh-CN">' in chinese and "<h1>待办</h1>" in chinese
    assert "代理人与邮件" in chinese and "版本信息台账" not in english
    # Her own setting wins over the browser's.
    settings = api(lib, "victor", "PATCH", "/api/v1/me/notifications", {"language": "en"})
    assert settings["language"] == "en" and settings["time_zone"] == ""
    assert "<h1>Inbox</h1>" in page(lib, "/inbox", ZH)
    api(lib, "victor", "PATCH", "/api/v1/me/notifications", {"language": "zh-CN"})
    assert "<h1>待办</h1>" in page(lib, "/inbox")
    assert [e["action"] for e in lib.audit(actor="victor")][-1] == "notify.settings"
    # Nothing else is a language or a zone: a 400 naming the field, nothing changed.
    for body, field in (({"language": "fr"}, "language"), ({"time_zone": "Mars/Base"}, "time_zone"),
                        ({"time_zone": "../../etc/passwd"}, "time_zone")):  # fmt: skip
        bad = lib.call("PATCH", "/api/v1/me/notifications", lib.tokens["victor"], json=body)
        assert bad.status_code == 400 and field in bad.get_data(as_text=True), bad.json
    assert api(lib, "victor", "GET", "/api/v1/me/notifications")["time_zone"] == ""
    # Signed out, the sign-in page speaks the browser's language.
    lib.client.post("/logout", data={"csrf_token": csrf(page(lib, "/inbox"))})
    assert "<h1>登录</h1>" in page(lib, "/login", ZH)
    assert "<h1>Sign in</h1>" in page(lib, "/login")


def test_the_settings_page_sets_language_and_time_zone(lib: World) -> None:
    sign_in_page(lib, "bob")
    form = page(lib, "/stand-ins")
    assert 'for="language-choice"' in form and 'for="time-zone"' in form
    wrong = lib.client.post(
        "/me/language", data={"csrf_token": csrf(form), "language": "zh-CN", "time_zone": "Nowhere"}
    )
    assert wrong.status_code == 400 and "unknown time zone" in wrong.get_data(as_text=True)
    saved = lib.client.post(
        "/me/language",
        data={"csrf_token": csrf(form), "language": "zh-CN", "time_zone": "Asia/Shanghai"},
        follow_redirects=True,
    )
    text = saved.get_data(as_text=True)
    assert "语言和时区已保存。" in text and "Asia/Shanghai" in text
    mine = api(lib, "bob", "GET", "/api/v1/me/notifications")
    assert (mine["language"], mine["time_zone"]) == ("zh-CN", "Asia/Shanghai")


def test_dates_are_shown_in_the_persons_zone_else_the_servers(
    tmp_path: Path, database_url: str
) -> None:
    clock = FrozenClock()  # 2026-11-28 12:00 UTC unless the tests moved it
    settings = make_settings(tmp_path, database_url, time_zone="Asia/Shanghai")
    with running_world(settings, clock) as w:
        populate_lib(w)
        accept(w, REF)
        number = api(w, "alice", "POST", ref_path(REF) + "/checkin", {"release_notes": "GA"}, 201)[
            "id"
        ]
        filed = clock.now()
        sign_in_page(w, "victor")
        shanghai = page(w, f"/requests/{number}")
        local = filed.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
        assert f"{local:%Y-%m-%d %H:%M} CST" in shanghai
        api(w, "victor", "PATCH", "/api/v1/me/notifications", {"time_zone": "UTC"})
        assert f"{filed:%Y-%m-%d %H:%M} UTC" in page(w, f"/requests/{number}")
    with pytest.raises(SettingsError, match="time_zone"):
        load_settings({}, time_zone="Mars/Base")


def test_requests_open_on_what_waits_with_filters_search_and_pages(lib: World) -> None:
    lib.depot.accounts.update_user(system(), "alice", display_name="Alice Wang")
    accept(lib, REF)
    checkin = api(lib, "alice", "POST", ref_path(REF) + "/checkin", {"release_notes": "GA"}, 201)
    upgrade = api(lib, "alice", "POST", "/api/v1/groups/team/products/app/upgrades",
                  {"target_version": "1.1.0", "reason": "new payment scheme"}, 201)  # fmt: skip
    sign_in_page(lib, "victor")
    listing = page(lib, "/requests")
    assert "Waiting for me" in listing and 'aria-current="page">Waiting for me' in listing
    for column in ("Kind", "Group", "Product", "Version", "Requester", "Age", "Purpose"):
        assert f'<th scope="col">{column}</th>' in listing
    assert "Alice Wang" in listing and "new payment scheme" in listing
    assert f"#{checkin['id']}" in listing and f"#{upgrade['id']}" in listing
    only = page(lib, "/requests?kind=upgrade")
    assert f"#{upgrade['id']}<" in only and f"#{checkin['id']}<" not in only
    found = page(lib, "/requests?q=wang")
    assert f"#{checkin['id']}<" in found
    assert "Nothing waits for you." in page(lib, "/requests?q=nobody-at-all")
    assert "Nothing waits for you." in page(lib, "/requests?group=other")
    first = page(lib, "/requests?limit=1")
    assert first.count("<tr>") == 2  # the header and one request
    following = re.search(r'rel="next" href="([^"]+)"', first)
    assert following, first
    second = page(lib, following.group(1).replace("&amp;", "&"))
    assert second.count("<tr>") == 2 and first != second
    # Mine and all, with the state filter.
    assert f"#{checkin['id']}<" in page(lib, "/requests?view=all&state=pending")
    assert "No requests." in page(lib, "/requests?view=all&state=refused")
    assert "No requests." in page(lib, "/requests?view=mine")
    # The inbox has the same columns and filters; in Chinese too.
    chinese = page(lib, "/inbox?kind=checkin", ZH)
    assert "入库" in chinese and "升级报批" in chinese  # the row and the filter's option
    assert '<th scope="col">申请人</th>' in chinese and '<th scope="col">用途</th>' in chinese


def test_the_request_page_says_why_approve_is_not_offered(lib: World) -> None:
    accept(lib, REF)
    checkin = api(lib, "alice", "POST", ref_path(REF) + "/checkin", {"release_notes": "GA"}, 201)
    sign_in_page(lib, "carol")  # she accepted it: four eyes
    text = page(lib, f"/requests/{checkin['id']}")
    assert 'id="why-not"' in text and "Only a version manager decides this request." in text
    assert "only a version manager may approve checkin requests" in text
    api(lib, "alice", "PATCH", "/api/v1/me/notifications", {"language": "zh-CN"})
    lib.depot.accounts.update_user(system(), "alice", roles=["version_manager"])
    lib.client.post("/logout", data={"csrf_token": csrf(text)})
    sign_in_page(lib, "alice")
    chinese = page(lib, f"/requests/{checkin['id']}")
    assert "双人原则：申请人不能审批自己的申请。" in chinese
    assert "alice filed this request" in chinese  # the rules' own reason, as recorded


def test_the_version_page_shows_the_record_and_retires(lib: World) -> None:
    accept(lib, REF)
    media = {"kind": "install media", "label": "DVD 1/1", "location": "cabinet A",
             "custodian": "Li Lei"}  # fmt: skip
    checkin = api(lib, "alice", "POST", ref_path(REF) + "/checkin",
                  {"release_notes": "GA", "items": [media]}, 201)  # fmt: skip
    api(lib, "victor", "POST", f"/api/v1/requests/{checkin['id']}/approve", {"comment": "ok"})
    out = check_out(lib, REF, "alice")
    api(lib, "carol", "POST", ref_path(REF) + "/feedback", {"text": "runs well at night"}, 201)
    sign_in_page(lib, "bob")
    text = page(lib, "/groups/team/app/1.0.0")
    assert "library number 1" in text and "cabinet A" in text and "DVD 1/1" in text
    assert f"#{out}</a>" in text and "deploy" in text  # the open check-out
    assert "runs well at night" in text
    assert "check-in approved by victor" in text and "check-in requested by alice" in text
    assert "checkin.approve" not in text
    assert "Retire team/app@1.0.0" not in text  # bob is no version manager
    lib.client.post("/logout", data={"csrf_token": csrf(text)})
    sign_in_page(lib, "victor")
    chinese = page(lib, "/groups/team/app/1.0.0", ZH)
    assert "库号 1" in chinese and "victor 批准入库" in chinese and "有效的出库" in chinese
    form = page(lib, "/groups/team/app/1.0.0")
    assert 'for="retire-reason"' in form
    retired = lib.client.post(
        "/groups/team/app/1.0.0/retire",
        data={"csrf_token": csrf(form), "reason": "superseded"},
        follow_redirects=True,
    )
    assert retired.status_code == 200
    assert "team/app@1.0.0 retired." in retired.get_data(as_text=True)
    assert api(lib, "bob", "GET", ref_path(REF))["state"] == "retired"
    assert lib.audit(action="version.retire")[-1]["actor"] == "victor"
    # A forged retire by someone who may not is refused by the rule, changing nothing.
    again = lib.client.post(
        "/groups/team/app/1.0.0/retire", data={"csrf_token": csrf(form), "reason": "again"}
    )
    assert again.status_code in (403, 409)


def test_mail_is_written_in_the_recipients_language_and_zone(
    mail_lib: World, mailbox: Mailbox
) -> None:
    w = mail_lib
    api(w, "victor", "PATCH", "/api/v1/me/notifications",
        {"language": "zh-CN", "time_zone": "Asia/Shanghai"})  # fmt: skip
    number = file_checkin(w)
    mailbox.wait(lambda box: len(box.to("victor@bank.test")) == 1)
    mail = mailbox.to("victor@bank.test")[0]
    assert mail["Subject"] == f"[Depot] #{number} {REF} 入库 等待您审批"
    assert mail["Content-Language"] == "zh-CN"
    text = body_of(mail)
    assert "Victor，您好：" in text and "版本说明：GA" not in text and "版本说明: GA" in text
    assert " CST" in text and f"https://depot.bank.test/requests/{number}" in text
    # The requester set nothing: her mail is in English, dated in the server's zone (UTC).
    api(w, "victor", "POST", f"/api/v1/requests/{number}/refuse", {"comment": "notes are thin"})
    mailbox.wait(lambda box: len(box.to("alice@bank.test")) >= 1)
    decided = mailbox.to("alice@bank.test")[-1]
    assert decided["Subject"] == f"[Depot] #{number} check-in of {REF}: refused by victor"
    assert decided["Content-Language"] == "en" and " UTC." in body_of(decided)


def test_markup_in_messages_is_markup_and_names_are_text(lib: World) -> None:
    accept(lib, REF)
    checkin = api(lib, "alice", "POST", ref_path(REF) + "/checkin", {"release_notes": "GA"}, 201)
    api(lib, "victor", "POST", f"/api/v1/requests/{checkin['id']}/approve", {"comment": "ok"})
    sign_in_page(lib, "bob")
    for headers in ({}, ZH):
        text = page(lib, "/groups/team/app/1.0.0", headers)
        assert "<code>depot pull team/app@1.0.0 --bundle</code>" in text
        assert "&lt;code&gt;" not in text
    lib.client.post("/logout", data={"csrf_token": csrf(text)})
    welcome = page(lib, "/", ZH)
    assert "<code>DEPOT_URL=http://" in welcome and "&lt;code&gt;" not in welcome


def test_a_services_refusal_reads_in_the_pages_language_and_the_api_stays_english(
    lib: World,
) -> None:
    """What a service refuses with is shown in the page's language (a time zone the
    server does not know, a rule that forbids a step), and answered in English by the API."""
    sign_in_page(lib, "bob")
    form = page(lib, "/stand-ins", ZH)
    wrong = lib.client.post(
        "/me/language",
        data={"csrf_token": csrf(form), "language": "", "time_zone": "Nowhere"},
        headers=ZH,
    )
    shown = html.unescape(wrong.get_data(as_text=True))
    assert wrong.status_code == 400, shown
    assert "未知的时区 'Nowhere'：请使用 IANA 名称，例如 Asia/Shanghai" in shown, shown
    assert "unknown time zone" not in shown
    english = lib.client.post(
        "/me/language", data={"csrf_token": csrf(form), "language": "", "time_zone": "Nowhere"}
    )
    assert "unknown time zone 'Nowhere'" in html.unescape(english.get_data(as_text=True))
    # A step the rules refuse: the error page names the rule in her words.
    refused = lib.client.post(
        "/groups/team/app/1.0.0/retire",
        data={"csrf_token": csrf(page(lib, "/groups/team/app/1.0.0")), "reason": "old"},
        headers=ZH,
    )
    shown = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 403, shown
    assert "只有版本管理员" in shown, shown
    # A stand-in nobody is: the stand-in service's refusal, in her words.
    named = lib.client.post(
        "/stand-ins",
        data={"csrf_token": csrf(form), "stand_in": "nobody", "until": "2026-12-31"},
        headers=ZH,
    )
    shown = html.unescape(named.get_data(as_text=True))
    assert named.status_code == 404, shown
    assert "没有名为 'nobody' 的有效人员" in shown and "no active person" not in shown, shown
    # The API answers as it always did: English, the same code.
    for headers in ({}, ZH):
        bad = lib.call("PATCH", "/api/v1/me/notifications", lib.tokens["bob"],
                       json={"time_zone": "Nowhere"}, headers=headers)  # fmt: skip
        assert bad.status_code == 400 and bad.json["error"] == "invalid_request", bad.json
        assert bad.json["message"].startswith("unknown time zone 'Nowhere'"), bad.json


def _entry(action: str, outcome: str = "ok") -> AuditEntry:
    return AuditEntry(1, datetime(2026, 11, 28, 9), "bob", None, "member", action, outcome,
                      "team", REF, "", "", "127.0.0.1", {})  # fmt: skip


def test_a_plugins_words_for_its_actions_and_a_readable_code_for_the_rest(world: World) -> None:
    """A plugin's words name its own actions on the record; they never rename the core's,
    and an action nobody named reads as its code and who did it (never an error)."""
    app = world.app
    words.add_actions(app, {"demo.thing.do": lazy_gettext("thing done by %(who)s"),
                            "checkin.approve": lazy_gettext("renamed by %(who)s")})  # fmt: skip
    with app.test_request_context("/", headers=ZH):
        assert words.event(_entry("demo.thing.do")) == "thing done by bob"
        assert words.event(_entry("checkin.approve")) == "bob 批准入库"
        assert words.event(_entry("demo.unknown")) == "bob：demo.unknown"
        assert words.event(_entry("demo.thing.do", "refused")) == "thing done by bob（被拒绝）"
    with app.test_request_context("/"):
        assert words.event(_entry("demo.unknown")) == "demo.unknown by bob"
        assert words.event(_entry("checkin.approve")) == "check-in approved by bob"
