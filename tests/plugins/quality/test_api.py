"""The quality module's API on SQLite and PostgreSQL: reporting, roles, visibility, bad
input, the full record and the audit trail."""

from __future__ import annotations

from datetime import timedelta

from tests.plugins.quality.conftest import api, check_in, check_out, make_version, push, vpath
from tests.support import World

Q = "/api/v1/quality"
ISSUE = {"version": "team/app@1.0.0", "title": "Crash on start", "description": "core dump"}


def report(w: World, who: str = "bob", **extra: str) -> dict:  # type: ignore[type-arg]
    return api(w, who, "POST", Q + "/issues", {**ISSUE, "class": "serious", **extra}, 201)  # type: ignore[no-any-return]


def test_a_person_reports_and_the_quality_manager_decides(q: World) -> None:
    issue = report(q)
    assert (issue["number"], issue["status"], issue["class"]) == ("Q-1", "open", "serious")
    assert issue["reported_by"] == "bob" and issue["ref"] == "team/app@1.0.0"
    # A member cannot decide; the refusal is clear and audited.
    refused = q.call("POST", Q + "/issues/Q-1/confirm", q.tokens["bob"], json={})
    assert refused.status_code == 403
    assert refused.json["message"] == (
        "only a quality manager (quality_manager) may decide how a serious quality issue is handled"
    )
    # Audited as the rules' refusal, under the group (`depot audit --group team` finds it)
    # with the issue's number.
    [audited] = q.audit(action="quality.issue.confirm", group="team")
    assert (audited["outcome"], audited["rule"]) == ("refused", "quality.role")
    assert audited["details"]["issue"] == "Q-1" and audited["target"] == "team/app@1.0.0"
    # The quality manager records a handling step and dismisses it (caused by use).
    api(q, "quinn", "POST", Q + "/issues/Q-1/handle", {"note": "asked the branch for logs"})
    dismissed = api(
        q, "quinn", "POST", Q + "/issues/Q-1/dismiss", {"cause": "use", "comment": "bad config"}
    )
    assert (dismissed["status"], dismissed["cause"]) == ("dismissed", "use")
    assert dismissed["active_quarantines"] == 0 and not q.audit(action="version.quarantine")
    # Deciding twice is a conflict; closing needs the quality manager and a resolution.
    again = q.call("POST", Q + "/issues/Q-1/confirm", q.tokens["quinn"], json={})
    assert again.status_code == 409 and "already dismissed" in again.json["message"]
    alice_close = q.call(
        "POST", Q + "/issues/Q-1/close", q.tokens["alice"], json={"resolution": "x"}
    )
    assert alice_close.status_code == 403
    missing = q.call("POST", Q + "/issues/Q-1/close", q.tokens["quinn"], json={})
    assert missing.status_code == 400 and missing.json["field"] == "resolution"
    closed = api(q, "quinn", "POST", Q + "/issues/Q-1/close", {"resolution": "trained staff"})
    assert closed["status"] == "closed" and closed["closed_by"] == "quinn"
    # The full record, step by step.
    record = api(q, "bob", "GET", Q + "/issues/Q-1")
    assert [(e["actor"], e["step"]) for e in record["events"]] == [
        ("bob", "report"),
        ("quinn", "handle"),
        ("quinn", "dismiss"),
        ("quinn", "close"),
    ]
    assert record["events"][1]["text"] == "asked the branch for logs"
    actions = [e["action"] for e in q.audit() if e["action"].startswith("quality.")]
    for action in ("report", "handle", "dismiss", "close"):
        assert f"quality.issue.{action}" in actions
    handled = q.audit(action="quality.issue.handle")[0]
    assert handled["target"] == "team/app@1.0.0" and handled["details"]["issue"] == "Q-1"


def test_general_issues_are_closed_by_the_group_software_manager(q: World) -> None:
    issue = report(q, **{"class": "general"})
    decide = q.call("POST", Q + f"/issues/{issue['number']}/confirm", q.tokens["quinn"], json={})
    assert decide.status_code == 409 and "only a serious issue" in decide.json["message"]
    bob = q.call("POST", Q + "/issues/Q-1/close", q.tokens["bob"], json={"resolution": "fixed"})
    assert bob.status_code == 403 and "software manager of team" in bob.json["message"]
    assert (
        api(q, "alice", "POST", Q + "/issues/Q-1/close", {"resolution": "fixed in 1.0.1"})["status"]
        == "closed"
    )


def test_reclassifying_is_for_the_quality_manager(q: World) -> None:
    report(q, **{"class": "general"})
    member = q.call(
        "POST", Q + "/issues/Q-1/classify", q.tokens["alice"], json={"class": "serious"}
    )
    assert member.status_code == 403
    changed = api(q, "quinn", "POST", Q + "/issues/Q-1/classify", {"class": "serious"})
    assert changed["class"] == "serious"
    bad = q.call("POST", Q + "/issues/Q-1/classify", q.tokens["quinn"], json={"class": "minor"})
    assert bad.status_code == 400 and bad.json["field"] == "class"
    assert [i["class"] for i in api(q, "bob", "GET", Q + "/issues?class=serious")["issues"]] == [
        "serious"
    ]


def test_a_pipeline_cannot_report_and_outsiders_see_nothing(q: World) -> None:
    ci = q.call("POST", Q + "/issues", q.tokens["ci"], json={**ISSUE, "class": "general"})
    assert ci.status_code == 403 and "pipeline" in ci.json["message"]
    hidden = q.call("POST", Q + "/issues", q.tokens["dave"], json={**ISSUE, "class": "general"})
    nowhere = q.call(
        "POST",
        Q + "/issues",
        q.tokens["dave"],
        json={**ISSUE, "version": "nope/app@1.0.0", "class": "general"},
    )
    assert hidden.status_code == nowhere.status_code == 404
    assert hidden.json["message"] == "group 'team' not found"
    report(q)
    assert q.call("GET", Q + "/issues/Q-1", q.tokens["dave"]).status_code == 404
    assert q.call("GET", Q + "/issues/Q-99", q.tokens["bob"]).status_code == 404
    assert api(q, "dave", "GET", Q + "/issues")["issues"] == []
    assert api(q, "quinn", "GET", Q + "/issues?open=true")["issues"][0]["number"] == "Q-1"
    anonymous = q.call("GET", Q + "/issues")
    assert anonymous.status_code == 401


def test_bad_input_changes_nothing(q: World) -> None:
    api(q, "quinn", "POST", Q + "/suppliers", {"name": "Acme", "qualification": "ISO 9001"}, 201)
    cases = [
        ("POST", "/issues", "bob", {**ISSUE, "class": "minor"}, "class"),
        ("POST", "/issues", "bob", {**ISSUE, "class": "general", "supplier": "Nobody"}, "supplier"),
        ("POST", "/issues", "bob", {**ISSUE, "class": "general", "title": ""}, "title"),
        ("POST", "/issues", "bob", {**ISSUE, "class": "general", "version": "team-app"}, "version"),
        (
            "POST",
            "/suppliers/Acme/evaluations",
            "quinn",
            {"period": "2026-H1", "score": 6},
            "score",
        ),
        (
            "POST",
            "/suppliers/Acme/evaluations",
            "quinn",
            {"period": "spring", "score": 3},
            "period",
        ),
        (
            "POST",
            "/suppliers",
            "quinn",
            {"name": "B", "qualification": "x", "qualified_until": "2026-13-01"},
            "qualified_until",
        ),
        (
            "PUT",
            "/archive/team/app/1.0.0",
            "quinn",
            {"end_of_support": "31/12/2027"},
            "end_of_support",
        ),
        ("GET", "/issues?class=minor", "bob", None, "class"),
    ]
    for method, path, who, body, field in cases:
        response = q.call(method, Q + path, q.tokens[who], json=body)
        assert response.status_code == 400, (path, response.json)
        assert response.json["field"] == field, response.json
    assert api(q, "quinn", "GET", Q + "/issues")["issues"] == []
    assert [s["name"] for s in api(q, "bob", "GET", Q + "/suppliers")["suppliers"]] == ["Acme"]
    assert api(q, "bob", "GET", Q + "/suppliers/Acme")["evaluations"] == []
    assert api(q, "bob", "GET", Q + "/archive/team/app/1.0.0")["end_of_support"] is None
    assert not q.audit(action="quality.issue.report")


def test_suppliers_register_evaluations_and_linked_issues(q: World) -> None:
    body = {"name": "Acme", "qualification": "ISO 9001", "qualified_until": "2027-06-30"}
    refused = q.call("POST", Q + "/suppliers", q.tokens["alice"], json=body)
    assert refused.status_code == 403
    created = api(q, "quinn", "POST", Q + "/suppliers", {**body, "contact": "sales@acme"}, 201)
    assert created["status"] == "active" and created["qualified_until"] == "2027-06-30"
    taken = q.call("POST", Q + "/suppliers", q.tokens["quinn"], json=body)
    assert taken.status_code == 409
    api(
        q,
        "quinn",
        "POST",
        Q + "/suppliers/Acme/evaluations",
        {"period": "2026-H1", "score": 4},
        201,
    )
    twice = q.call(
        "POST",
        Q + "/suppliers/Acme/evaluations",
        q.tokens["quinn"],
        json={"period": "2026-H1", "score": 2},
    )
    assert twice.status_code == 409
    report(q, supplier="Acme")
    # dave cannot see team: the supplier page lists no issue for him.
    assert api(q, "dave", "GET", Q + "/suppliers/Acme")["issues"] == []
    seen = api(q, "bob", "GET", Q + "/suppliers/Acme")
    assert [i["number"] for i in seen["issues"]] == ["Q-1"]
    assert [(e["period"], e["score"]) for e in seen["evaluations"]] == [("2026-H1", 4)]
    suspended = api(q, "quinn", "PATCH", Q + "/suppliers/Acme", {"status": "suspended"})
    assert suspended["status"] == "suspended"
    assert {e["action"] for e in q.audit() if e["action"].startswith("quality.supplier")} == {
        "quality.supplier.create",
        "quality.supplier.evaluate",
        "quality.supplier.update",
    }
    assert q.call("GET", Q + "/suppliers", q.tokens["ci"]).status_code == 403


def test_confirming_quarantines_the_batch_and_lifting_releases_it(q: World) -> None:
    push(q, "team/app@1.0.0", "app.bin", b"app build", build_id="B-7")
    make_version(q, "team/lib@2.0.0")
    push(q, "team/lib@2.0.0", "lib.bin", b"lib build", build_id="B-7")
    make_version(q, "team/tool@3.0.0")
    push(q, "team/tool@3.0.0", "tool.bin", b"tool build", build_id="B-8")
    for ref in ("team/app@1.0.0", "team/lib@2.0.0", "team/tool@3.0.0"):
        check_in(q, ref)
    pending = check_out(q, "team/lib@2.0.0", approve=False)
    report(q)
    confirmed = api(q, "quinn", "POST", Q + "/issues/Q-1/confirm", {"comment": "bad batch"})
    assert confirmed["status"] == "confirmed" and confirmed["active_quarantines"] == 2
    refused = q.call("POST", f"/api/v1/requests/{pending}/approve", q.tokens["victor"], json={})
    assert refused.status_code == 403 and refused.json["rule"] == "quality.serious_issue"
    assert "Q-1" in refused.json["message"]
    new = q.call(
        "POST", vpath("team/app@1.0.0") + "/checkout", q.tokens["alice"], json={"purpose": "x"}
    )
    assert new.status_code == 403
    check_out(q, "team/tool@3.0.0")  # another batch: untouched
    quarantines = api(q, "bob", "GET", Q + "/quarantines")["quarantines"]
    assert sorted(x["ref"] for x in quarantines) == ["team/app@1.0.0", "team/lib@2.0.0"]
    assert all(x["batch"] == ["B-7"] for x in quarantines)
    records = q.audit(action="version.quarantine")
    assert sorted((r["target"], r["group"]) for r in records) == [
        ("team/app@1.0.0", "team"),
        ("team/lib@2.0.0", "team"),
    ]
    assert records[0]["details"]["issue"] == "Q-1" and records[0]["details"]["batch"] == ["B-7"]
    [decision] = q.audit(action="quality.issue.confirm")
    assert decision["details"]["cause"] == "product"
    assert decision["details"]["affected"] == ["team/app@1.0.0", "team/lib@2.0.0"]
    # Lifting: the quality manager, with a reason.
    assert (
        q.call("POST", Q + "/issues/Q-1/lift", q.tokens["alice"], json={"reason": "x"}).status_code
        == 403
    )
    assert q.call("POST", Q + "/issues/Q-1/lift", q.tokens["quinn"], json={}).status_code == 400
    lifted = api(q, "quinn", "POST", Q + "/issues/Q-1/lift", {"reason": "rebuilt and retested"})
    assert lifted["released"] == ["team/app@1.0.0", "team/lib@2.0.0"]
    assert sorted(r["target"] for r in q.audit(action="version.release")) == lifted["released"]
    [lift] = [e for e in q.audit(action="quality.quarantine.lift") if e["outcome"] == "ok"]
    assert lift["details"]["reason"] == "rebuilt and retested" and lift["actor"] == "quinn"
    api(q, "victor", "POST", f"/api/v1/requests/{pending}/approve", {})
    again = q.call("POST", Q + "/issues/Q-1/lift", q.tokens["quinn"], json={"reason": "again"})
    assert again.status_code == 409


def test_a_version_stays_quarantined_until_its_last_issue_is_lifted(q: World) -> None:
    report(q)
    report(q)
    api(q, "quinn", "POST", Q + "/issues/Q-1/confirm", {})
    api(q, "quinn", "POST", Q + "/issues/Q-2/confirm", {})
    first = api(q, "quinn", "POST", Q + "/issues/Q-1/lift", {"reason": "fixed"})
    assert first["released"] == [] and not q.audit(action="version.release")
    download = q.call("GET", vpath("team/app@1.0.0") + "/files/app.tar.gz", q.tokens["bob"])
    assert download.status_code == 403 and "Q-2" in download.json["message"]
    assert api(q, "quinn", "POST", Q + "/issues/Q-2/lift", {"reason": "fixed"})["released"] == [
        "team/app@1.0.0"
    ]
    assert (
        q.call("GET", vpath("team/app@1.0.0") + "/files/app.tar.gz", q.tokens["bob"]).status_code
        == 200
    )


def test_the_archive_and_end_of_support(q: World) -> None:
    push(q, "team/app@1.0.0", "app.bin", b"app build", build_id="B-9")
    check_in(q, "team/app@1.0.0")
    approved = check_out(q, "team/app@1.0.0")
    archive = api(q, "bob", "GET", Q + "/archive/team/app/1.0.0")
    assert archive["build_batch"] == ["B-9"] and archive["build_batch_source"] == "upload"
    assert archive["build_date"] == q.clock.now().date().isoformat()
    assert archive["past_end_of_support"] is False
    refused = q.call(
        "PUT", Q + "/archive/team/app/1.0.0", q.tokens["bob"], json={"end_of_support": "2030-01-01"}
    )
    assert refused.status_code == 403
    end = (q.clock.now() + timedelta(days=1)).date().isoformat()
    set_ = api(q, "alice", "PUT", Q + "/archive/team/app/1.0.0", {"end_of_support": end})
    assert set_["end_of_support"] == end and set_["updated_by"] == "alice"
    assert api(q, "bob", "GET", Q + "/archive")["versions"] == []
    q.clock.advance(days=1)  # support ends at the start of that day
    past = api(q, "bob", "GET", Q + "/archive")["versions"]
    assert [v["ref"] for v in past] == ["team/app@1.0.0"] and past[0]["past_end_of_support"]
    request = q.call(
        "POST", vpath("team/app@1.0.0") + "/checkout", q.tokens["bob"], json={"purpose": "x"}
    )
    assert request.status_code == 403 and request.json["rule"] == "quality.end_of_support"
    assert f"ended on {end}" in request.json["message"]
    # The version is withdrawn: the check-out approved before downloads no more.
    assert approved
    download = q.call("GET", vpath("team/app@1.0.0") + "/files/app.bin", q.tokens["alice"])
    assert download.status_code == 403 and download.json["rule"] == "quality.end_of_support"
    [update] = [e for e in q.audit(action="quality.archive.update") if e["outcome"] == "ok"]
    assert update["details"] == {"end_of_support": end} and update["target"] == "team/app@1.0.0"


def test_trends_count_issues_per_month_by_class(q: World) -> None:
    report(q)
    report(q, **{"class": "general"})
    months = api(q, "bob", "GET", Q + "/trends")["months"]
    assert len(months) == 12
    assert months[-1]["month"] == q.clock.now().strftime("%Y-%m")
    assert (months[-1]["serious"], months[-1]["general"], months[-1]["total"]) == (1, 1, 2)
    assert api(q, "dave", "GET", Q + "/trends")["months"][-1]["total"] == 0


def test_a_batch_reaches_into_other_groups_without_naming_them_to_outsiders(q: World) -> None:
    """The same build in another group's version (a shared component) is quarantined
    too; people of ``team`` learn that something elsewhere was stopped, not what."""
    q.group("ops", {"dave": ("member", "software_manager")})
    q.product("ops", "agent", q.tokens["dave"])
    q.version("ops", "agent", "3.1.0", q.tokens["dave"])
    push(q, "ops/agent@3.1.0", "agent.bin", b"shared build", who="dave", build_id="B-7")
    push(q, "team/app@1.0.0", "app.bin", b"app build", build_id="B-7")
    report(q)
    confirmed = api(q, "quinn", "POST", Q + "/issues/Q-1/confirm", {"comment": "bad batch"})
    assert confirmed["active_quarantines"] == 2
    seen_by_bob = api(q, "bob", "GET", Q + "/issues/Q-1")
    assert [x["ref"] for x in seen_by_bob["quarantines"]] == ["team/app@1.0.0"]
    assert seen_by_bob["quarantines_elsewhere"] == 1
    assert "ops/agent" not in str(seen_by_bob)  # not in the record either
    assert [x["ref"] for x in api(q, "bob", "GET", Q + "/quarantines")["quarantines"]] == [
        "team/app@1.0.0"
    ]
    assert [x["ref"] for x in api(q, "dave", "GET", Q + "/quarantines")["quarantines"]] == [
        "ops/agent@3.1.0"
    ]
    everything = api(q, "quinn", "GET", Q + "/issues/Q-1")
    assert sorted(x["ref"] for x in everything["quarantines"]) == [
        "ops/agent@3.1.0",
        "team/app@1.0.0",
    ]
    stopped = q.call("GET", vpath("ops/agent@3.1.0") + "/files/agent.bin", q.tokens["dave"])
    assert stopped.status_code == 403 and stopped.json["rule"] == "quality.serious_issue"


def test_issue_numbers_beyond_the_database_integer_are_a_404(q: World) -> None:
    for number in ("Q-2147483648", "99999999999", "Q-999999999999999999"):
        refused = q.call("GET", f"{Q}/issues/{number}", q.tokens["quinn"])
        assert refused.status_code == 404, refused.json
        refused = q.call(
            "POST", f"{Q}/issues/{number}/handle", q.tokens["quinn"], json={"note": "x"}
        )
        assert refused.status_code == 404, refused.json


def test_control_characters_in_a_supplier_or_title_are_a_400_naming_the_field(q: World) -> None:
    for name in ("Acme\u202e", "Acme\x1b[31m", "Acme\x07"):
        body = {"name": name, "qualification": "ISO 9001"}
        refused = q.call("POST", Q + "/suppliers", q.tokens["quinn"], json=body)
        assert refused.status_code == 400 and refused.json["field"] == "name", refused.json
    suppliers = q.call("GET", Q + "/suppliers", q.tokens["quinn"]).json["suppliers"]
    assert not [s for s in suppliers if s["name"].startswith("Acme")]
