"""End of support (保质期) on the server's clock, on SQLite and PostgreSQL: before the date a
check-out downloads, from the date on the version is withdrawn — no new check-out, no
download under the check-out approved before (API and page) — and one retirement request
is prepared for the version manager, audited once however often the version is read."""

from __future__ import annotations

from datetime import timedelta

from tests.plugins.quality.conftest import api, check_in, check_out, make_version, push, vpath
from tests.repo_server.test_plugin_extensions import sign_in_page
from tests.support import World

Q = "/api/v1/quality"
FILE = "/files/app.bin"


def released(q: World, ref: str = "team/app@1.0.0", build: str = "B-9") -> None:
    push(q, ref, "app.bin", b"app build " + ref.encode(), build_id=build)
    check_in(q, ref)


def test_past_its_end_of_support_a_version_is_withdrawn_and_its_retirement_prepared(
    q: World,
) -> None:
    released(q)
    check_out(q, "team/app@1.0.0")
    end = (q.clock.now() + timedelta(days=1)).date().isoformat()
    api(q, "quinn", "PUT", Q + "/archive/team/app/1.0.0", {"end_of_support": end})
    # Before the date: the check-out downloads, nothing is prepared.
    before = q.call("GET", vpath("team/app@1.0.0") + FILE, q.tokens["alice"])
    assert before.status_code == 200 and before.data.startswith(b"app build")
    assert api(q, "victor", "GET", Q + "/retirements")["retirements"] == []

    q.clock.advance(days=1)  # support ends at the start of that day
    download = q.call("GET", vpath("team/app@1.0.0") + FILE, q.tokens["alice"])
    assert download.status_code == 403, download.json
    assert download.json["rule"] == "quality.end_of_support"
    assert f"support of this version ended on {end}" in download.json["message"]
    again = q.call("GET", vpath("team/app@1.0.0") + FILE, q.tokens["alice"])
    assert again.status_code == 403
    request = q.call(
        "POST", vpath("team/app@1.0.0") + "/checkout", q.tokens["alice"], json={"purpose": "x"}
    )
    assert request.status_code == 403 and request.json["rule"] == "quality.end_of_support"
    # The page's download link is refused the same way.
    sign_in_page(q, "alice")
    page = q.client.get("/groups/team/app/1.0.0/files/app.bin")
    assert page.status_code == 403 and b"app build" not in page.data
    # The version's page calls it withdrawn, not quarantined, and says why.
    shown = q.client.get("/groups/team/app/1.0.0").get_data(as_text=True)
    assert '<span class="badge failed"' in shown and ">withdrawn from use</span>" in shown
    assert ">quarantined</span>" not in shown
    assert f"support of this version ended on {end}" in shown

    [prepared] = api(q, "victor", "GET", Q + "/retirements")["retirements"]
    assert prepared["ref"] == "team/app@1.0.0" and prepared["state"] == "open"
    assert prepared["end_of_support"] == end
    assert "retirement is prepared for the version manager" in prepared["reason"]
    # Filed once: many reads, one request, one audit record by the server.
    filed = list(q.audit(action="quality.retirement.prepare"))
    assert len(filed) == 1, filed
    assert filed[0]["target"] == "team/app@1.0.0" and filed[0]["actor"] == "system"
    assert filed[0]["rule"] == "quality.end_of_support"
    refused = [e for e in q.audit() if e["rule"] == "quality.end_of_support"]
    assert any(e["outcome"] != "ok" for e in refused)
    # The pages say so: the overview lists the request, the archive page the withdrawal.
    sign_in_page(q, "victor")
    overview = q.client.get("/quality/").get_data(as_text=True)
    assert "Retirement requests" in overview and "team/app@1.0.0" in overview
    facts = q.client.get("/quality/archive/team/app/1.0.0").get_data(as_text=True)
    assert f"ended {end}: withdrawn, no check-out, no download" in facts
    # The archive says so; a person of another group sees nothing of it.
    archive = api(q, "bob", "GET", Q + "/archive/team/app/1.0.0")
    assert archive["past_end_of_support"] is True
    assert api(q, "dave", "GET", Q + "/retirements")["retirements"] == []

    # The version manager retires it: the request is done.
    api(q, "victor", "POST", vpath("team/app@1.0.0") + "/retire", {"reason": "end of support"})
    assert api(q, "victor", "GET", Q + "/retirements")["retirements"] == []
    [done] = api(q, "victor", "GET", Q + "/retirements?all=true")["retirements"]
    assert done["state"] == "retired" and done["retired_by"] == "victor"


def test_the_end_of_support_of_a_product_withdraws_every_version(q: World) -> None:
    make_version(q, "team/app@1.1.0")  # a draft before the first check-in: no upgrade
    released(q)
    released(q, "team/app@1.1.0", build="B-10")
    check_out(q, "team/app@1.1.0")
    day = q.clock.now().date().isoformat()
    refused = q.call("PUT", Q + "/archive/team/app", q.tokens["bob"], json={"end_of_support": day})
    assert refused.status_code == 403 and refused.json["rule"] == "quality.role"
    shown = api(q, "quinn", "PUT", Q + "/archive/team/app", {"end_of_support": day})
    assert shown == {
        "group": "team",
        "product": "app",
        "end_of_support": day,
        "past_end_of_support": True,
    }
    download = q.call("GET", vpath("team/app@1.1.0") + FILE, q.tokens["alice"])
    assert download.status_code == 403 and download.json["rule"] == "quality.end_of_support"
    past = api(q, "bob", "GET", Q + "/archive")["versions"]
    assert [v["ref"] for v in past] == ["team/app@1.0.0", "team/app@1.1.0"]
    assert {v["product_end_of_support"] for v in past} == {day}
    prepared = api(q, "victor", "GET", Q + "/retirements")["retirements"]
    assert [r["ref"] for r in prepared] == ["team/app@1.0.0", "team/app@1.1.0"]
    assert len(q.audit(action="quality.retirement.prepare")) == 2
    # Clearing the date gives the versions back.
    api(q, "quinn", "PUT", Q + "/archive/team/app", {"end_of_support": None})
    assert q.call("GET", vpath("team/app@1.1.0") + FILE, q.tokens["alice"]).status_code == 200
    bad = q.call("PUT", Q + "/archive/team/app", q.tokens["quinn"], json={"end_of_support": "x"})
    assert bad.status_code == 400 and "end_of_support" in bad.json["message"]
    hidden = q.call("GET", Q + "/archive/team/app", q.tokens["dave"])
    assert hidden.status_code == 404
