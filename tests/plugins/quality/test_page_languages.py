"""The quality pages in the person's language and time zone: the overview, an issue, the
supplier register and a supplier, the quality archive and the recall list read Chinese
for a person whose language is zh-CN (in her zone), and English for everybody else."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from tests.plugins.quality.conftest import api, check_in, check_out, push
from tests.repo_server.test_plugin_extensions import sign_in_page
from tests.support import World, csrf

Q = "/api/v1/quality"

#: Each page with a Chinese word it must show and the English it shows otherwise.
PAGES = {
    "/quality/": [("质量", "Quality"), ("正在隔离", "Active quarantines"),
                  ("未关闭的质量问题", "Open issues"), ("过了服务终止日期", "Past end of support"),
                  ("质量问题月度趋势", "Trends (issues reported per month)"),
                  ("严重", "Serious"), ("一般", "General")],
    "/quality/issues": [("全部质量问题", "all issues"), ("类别", "Class")],
    "/quality/issues/Q-1": [("报告人", "Reported by"), ("严重", "serious"),
                            ("已确认", "confirmed"), ("解除隔离", "Lift quarantine"),
                            ("召回名单", "Recall list"), ("停用通告", "Stop-use notices"),
                            ("记录", "Record"), ("供应商", "Supplier")],
    "/quality/issues/Q-1/recall": [("Q-1 的召回名单", "Recall list of Q-1"),
                                   ("出库", "checkout")],
    "/quality/suppliers": [("供应商库", "Supplier register"), ("添加供应商", "Add a supplier"),
                           ("资质有效期至", "Qualified until"), ("生效中", "active")],
    "/quality/suppliers/Acme": [("评价", "Evaluations"), ("下次评价", "Next evaluation"),
                                ("记录评价", "Record evaluation")],
    "/quality/archive/team/app/1.0.0": [("质量档案", "Quality archive"),
                                        ("生产批次", "Build batch"),
                                        ("服务终止", "End of support")],
}  # fmt: skip

#: English a Chinese page must not show: the labels, headings and buttons of the pages.
ENGLISH = re.compile(
    r"\b(Quality|Active|quarantines?|Open issues|Reported|Supplier|Evaluations?|Record|Build"
    r" batch|End of support|Recall list|Version|Status|Title|Class|Since|Lift|Decide|"
    r"Comment|Resolution|Save|Score|Period|Notes|Contact|Qualification|serious|general|"
    r"confirmed|active|suspended|open|checkout|download|none recorded|not set|UTC)\b"
)


def text_of(page: str) -> str:
    """What the module's page says (its main part without tags), leaving out the record's
    texts as written and signed (``<pre>``): they are what people typed."""
    body = page.split("<main", 1)[1].split("</main>", 1)[0]
    body = re.sub(r"<pre[^>]*>.*?</pre>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]*>", " ", body.split(">", 1)[1]))


def get(q: World, path: str) -> str:
    answer = q.client.get(path)
    assert answer.status_code == 200, (path, answer.get_data(as_text=True))
    return answer.get_data(as_text=True)


def setup(q: World) -> None:
    api(q, "quinn", "POST", Q + "/suppliers", {"name": "Acme", "qualification": "ISO 9001",
        "qualified_until": "2030-01-01", "contact": "li@acme.example"}, 201)  # fmt: skip
    api(q, "quinn", "POST", Q + "/suppliers/Acme/evaluations",
        {"period": "2026-H1", "score": 4, "notes": "on time"}, 201)  # fmt: skip
    push(q, "team/app@1.0.0", "app.bin", b"app build", build_id="B-7")
    check_in(q, "team/app@1.0.0")
    check_out(q, "team/app@1.0.0")
    issue = {"version": "team/app@1.0.0", "title": "Payments lost", "description": "in B-7",
             "class": "serious", "supplier": "Acme"}  # fmt: skip
    api(q, "bob", "POST", Q + "/issues", issue, 201)
    api(q, "quinn", "POST", Q + "/issues/Q-1/confirm", {"comment": "bad batch"})


def test_the_quality_pages_follow_the_persons_language_and_zone(q: World) -> None:
    setup(q)
    settings = {"language": "zh-CN", "time_zone": "Asia/Shanghai"}
    api(q, "quinn", "PATCH", "/api/v1/me/notifications", settings)
    sign_in_page(q, "quinn")
    for path, words in PAGES.items():
        page = get(q, path)
        assert '<html lang="zh-CN">' in page
        shown = text_of(page)
        for chinese, _english in words:
            assert chinese in shown, (path, chinese, shown)
        assert ENGLISH.findall(shown) == [], (path, shown)
    # Moments read in her zone (Shanghai, eight hours ahead of the server's UTC).
    local = (q.clock.now() + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert f"{local} CST" in text_of(get(q, "/quality/issues/Q-1"))
    # A step through a page form answers in her language too.
    form = get(q, "/quality/issues/Q-1")
    done = q.client.post(
        "/quality/issues/Q-1/handle",
        data={"csrf_token": csrf(form), "note": "recall the media"},
        follow_redirects=True,
    )
    assert "处理步骤已记录。" in done.get_data(as_text=True)


def test_the_quality_pages_read_english_otherwise(q: World) -> None:
    setup(q)
    sign_in_page(q, "quinn")
    for path, words in PAGES.items():
        page = get(q, path)
        assert '<html lang="en">' in page
        shown = text_of(page)
        for _chinese, english in words:
            assert english in shown, (path, english, shown)
    assert q.clock.now().strftime("%Y-%m-%d %H:%M UTC") in text_of(get(q, "/quality/issues/Q-1"))


def test_the_quality_box_on_the_version_page_speaks_her_language(q: World) -> None:
    setup(q)
    api(q, "alice", "PATCH", "/api/v1/me/notifications", {"language": "zh-CN"})
    sign_in_page(q, "alice")  # she took the batch out: her stop-use notice is in the box
    page = get(q, "/groups/team/app/1.0.0")
    box = page.split('<section class="card panel" aria-label="质量">', 1)[1].split("</section>")[0]
    shown = html.unescape(re.sub(r"<[^>]*>", " ", box))
    assert "停用通告：严重质量问题 Q-1（Payments lost）已确认" in shown, shown
    assert "因  Q-1  被隔离（生产批次 B-7）" in shown and "报告质量问题" in shown, shown
    assert ENGLISH.findall(shown) == [], shown


def timeline(page: str) -> str:
    """The version page's record of what happened, as it reads."""
    found = page.split('<ol class="timeline"', 1)[1].split("</ol>", 1)[0]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", found.split(">", 1)[1])))


def test_the_version_pages_record_names_the_modules_actions_in_words(q: World) -> None:
    """The module's own audit actions (an issue reported, confirmed) read as words on the
    core's version page, in English and in Chinese, never as their codes."""
    setup(q)
    sign_in_page(q, "alice")
    english = timeline(get(q, "/groups/team/app/1.0.0"))
    assert "quality issue reported by bob" in english, english
    assert "quality issue confirmed by quinn" in english, english
    assert "quality.issue" not in english, english
    api(q, "alice", "PATCH", "/api/v1/me/notifications", {"language": "zh-CN"})
    chinese = timeline(get(q, "/groups/team/app/1.0.0"))
    assert "bob 报告质量问题" in chinese, chinese
    assert "quinn 确认质量问题" in chinese, chinese
    assert "quality.issue" not in chinese and "reported by" not in chinese, chinese


def test_a_refused_step_on_a_quality_page_reads_in_her_language(q: World) -> None:
    """The module's refusal (a supplier already in the register) flashes in Chinese on her
    page; the API answers the same refusal in English, with the same code."""
    setup(q)
    api(q, "quinn", "PATCH", "/api/v1/me/notifications", {"language": "zh-CN"})
    sign_in_page(q, "quinn")
    body = {"name": "Acme", "qualification": "ISO 9001", "qualified_until": "2030-01-01",
            "contact": "li@acme.example"}  # fmt: skip
    sent = q.client.post(
        "/quality/suppliers",
        data={"csrf_token": csrf(get(q, "/quality/suppliers")), **body},
        follow_redirects=True,
    )
    shown = html.unescape(sent.get_data(as_text=True))
    assert "供应商 'Acme' 已在供应商库中" in shown, shown
    assert "already in the register" not in shown
    again = q.call("POST", Q + "/suppliers", q.tokens["quinn"], json=body,
                   headers={"Accept-Language": "zh-CN"})  # fmt: skip
    assert again.status_code == 409, again.json
    assert again.json == {
        "error": "conflict",
        "message": "supplier 'Acme' is already in the register",
    }
