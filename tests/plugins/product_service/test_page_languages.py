"""The service pages in the person's language and time zone: the ticket list, a ticket, the
analysis, the customer register and the service roles read Chinese for a person whose
language is zh-CN (in her zone), and English for everybody else."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from tests.fixtures.factories import api
from tests.plugins.product_service.conftest import ticket_body
from tests.repo_server.test_plugin_extensions import sign_in_page
from tests.support import World, csrf

#: Each page with Chinese words it must show and the English it shows otherwise.
PAGES = {
    "/service/?group=team&show=all": [
        ("服务单", "Service tickets"), ("登记服务单", "Open a ticket"), ("投诉", "complaint"),
        ("电话", "phone"), ("已超时", "Overdue"), ("超时", "late"), ("客户", "Customer")],
    "/service/S-1": [
        ("报修渠道", "Channel"), ("首次响应", "First response"), ("下一步", "Next step"),
        ("记录", "Record"), ("已登记", "registered"), ("免费", "free")],
    "/service/analysis?group=team": [
        ("服务分析", "Service analysis"), ("按技术人员", "Per technician"),
        ("满意度", "Satisfaction"), ("最常见问题", "Most frequent problems")],
    "/service/customers/team": [("team 的客户档案", "Customer register of team"),
                                ("保修期", "Warranty")],
    "/service/roles/team": [("team 的服务角色", "Service roles of team"),
                            ("授予服务角色", "Grant a service role"),
                            ("技术人员", "technician"), ("服务主管", "supervisor"),
                            ("受理员", "clerk")],
}  # fmt: skip

#: English a Chinese page must not show: the labels, headings, buttons and codes.
ENGLISH = re.compile(
    r"\b(Service|Tickets?|Open|Overdue|Escalated|Mine|All|Group|Product|Version|Kind|"
    r"Customer|Status|Charge|Registered|Clocks|Filter|Channel|Contact|Description|"
    r"Delivered|Record|Next|Nature|Severity|Problem|Technician|Satisfaction|Complaints?|"
    r"Warranty|Person|Role|Granted?|Take away|complaint|service|phone|registered|free|"
    r"chargeable|clerk|technician|supervisor|late|overdue|days|mean|UTC)\b"
)


def text_of(page: str) -> str:
    """What the module's page says (its main part without tags), leaving out the record's
    texts and what people typed into it."""
    body = page.split("<main", 1)[1].split("</main>", 1)[0]
    body = re.sub(r'<(pre|ol class="timeline")[^>]*>.*?</(pre|ol)>', " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]*>", " ", body.split(">", 1)[1]))


def get(w: World, path: str) -> str:
    answer = w.client.get(path)
    assert answer.status_code == 200, (path, answer.get_data(as_text=True))
    return answer.get_data(as_text=True)


def setup(svc: World) -> None:
    for body in (ticket_body(), ticket_body(kind="service", customer="Example Insurance")):
        api(svc, "bob", "POST", "/api/v1/service/tickets", body, 201)
    svc.clock.advance(hours=25)


def visit(svc: World, check: object) -> None:
    for path, words in PAGES.items():
        sign_in_page(svc, "alice" if "/roles/" in path else "sue")
        assert callable(check)
        check(path, get(svc, path), words)


def test_the_service_pages_follow_the_persons_language_and_zone(svc: World) -> None:
    setup(svc)
    for who in ("sue", "alice"):
        settings = {"language": "zh-CN", "time_zone": "Asia/Shanghai"}
        api(svc, who, "PATCH", "/api/v1/me/notifications", settings)

    def chinese(path: str, page: str, words: list[tuple[str, str]]) -> None:
        assert '<html lang="zh-CN">' in page
        shown = text_of(page)
        for word, _english in words:
            assert word in shown, (path, word, shown)
        assert ENGLISH.findall(shown) == [], (path, shown)

    visit(svc, chinese)
    sign_in_page(svc, "sue")
    # Moments read in her zone (Shanghai, eight hours ahead of the server's UTC).
    registered = svc.clock.now() - timedelta(hours=25) + timedelta(hours=8)
    assert registered.strftime("%Y-%m-%d %H:%M CST") in text_of(get(svc, "/service/S-1"))
    # A step through a page form answers in her language too.
    form = get(svc, "/service/S-1")
    done = svc.client.post(
        "/service/S-1/respond",
        data={"csrf_token": csrf(form), "note": "called back"},
        follow_redirects=True,
    )
    assert "S-1：首次响应已记录。" in done.get_data(as_text=True)


def test_the_service_pages_read_english_otherwise(svc: World) -> None:
    setup(svc)

    def english(path: str, page: str, words: list[tuple[str, str]]) -> None:
        assert '<html lang="en">' in page
        shown = text_of(page)
        for _word, label in words:
            assert label in shown, (path, label, shown)

    visit(svc, english)
    sign_in_page(svc, "sue")
    registered = svc.clock.now() - timedelta(hours=25)
    assert registered.strftime("%Y-%m-%d %H:%M UTC") in text_of(get(svc, "/service/S-1"))


def test_the_service_box_on_the_version_page_speaks_her_language(svc: World) -> None:
    setup(svc)
    api(svc, "bob", "PATCH", "/api/v1/me/notifications", {"language": "zh-CN"})
    sign_in_page(svc, "bob")
    page = get(svc, "/groups/team/app/1.0.0")
    box = page.split('<section class="card panel" aria-label="服务单">', 1)[1]
    shown = html.unescape(re.sub(r"<[^>]*>", " ", box.split("</section>")[0]))
    assert "共 2 张服务单，2 张未完成" in shown and "1 张已超时" in shown, shown
    assert "team/app@1.0.0 的服务单" in shown and "登记服务单" in shown, shown
    assert ENGLISH.findall(shown) == [], shown


def test_a_refused_form_says_why_in_her_language_and_the_api_stays_english(svc: World) -> None:
    """The service's own refusal ("field 'description' must not be blank") reads Chinese on
    her page and English on everybody else's, while the API answers as it always did."""
    api(svc, "bob", "PATCH", "/api/v1/me/notifications", {"language": "zh-CN"})
    sign_in_page(svc, "bob")
    blank = {**ticket_body(description="   "), "ref": "team/app@1.0.0"}
    sent = svc.client.post("/service/new", data={"csrf_token": csrf(get(svc, "/service/new")),
                                                 **blank})  # fmt: skip
    shown = html.unescape(sent.get_data(as_text=True))
    assert sent.status_code == 400, shown
    assert "字段 'description' 不能为空" in shown, shown
    assert "must not be blank" not in shown
    # A ref that is no ref, refused by the page itself, in her words too.
    wrong = svc.client.post("/service/new", data={"csrf_token": csrf(get(svc, "/service/new")),
                                                  **ticket_body(), "ref": "team-app"})  # fmt: skip
    assert "字段 'ref' 的格式应为 group/product@version，而不是 'team-app'" in html.unescape(
        wrong.get_data(as_text=True)
    )
    # English for a person without a setting.
    sign_in_page(svc, "sue")
    sent = svc.client.post("/service/new", data={"csrf_token": csrf(get(svc, "/service/new")),
                                                 **blank})  # fmt: skip
    assert "field 'description' must not be blank" in html.unescape(sent.get_data(as_text=True))
    # The API keeps its English message and code, whatever language the caller reads (its
    # edge refuses the blank before the service does), and so does a refusal of the service.
    for headers in ({}, {"Accept-Language": "zh-CN,zh;q=0.9"}):
        answer = svc.call("POST", "/api/v1/service/tickets", svc.tokens["bob"],
                          json=ticket_body(description="   "), headers=headers)  # fmt: skip
        assert answer.status_code == 400, answer.json
        assert answer.json["error"] == "invalid_request"
        assert answer.json["message"] == "field 'description': string should match pattern '\\S'"
        assert answer.json["field"] == "description"
        missing = svc.call("GET", "/api/v1/service/tickets/S-x", svc.tokens["bob"],
                           headers=headers)  # fmt: skip
        assert missing.status_code == 404, missing.json
        said = "ticket 'S-x' not found (ticket numbers look like S-12)"
        assert missing.json == {"error": "not_found", "message": said}
