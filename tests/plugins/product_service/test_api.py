"""The service module through its API, on SQLite and PostgreSQL: a ticket's whole life,
the complaint clocks, visibility, bad input, the order of steps, the record and audit,
the analysis and its CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.plugins.product_service.conftest import ticket_body
from tests.support import World

API = "/api/v1/service"


def call(w: World, who: str, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    response = w.call(method, API + path, w.tokens[who], json=body if method != "GET" else None)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.json


def open_ticket(w: World, who: str = "bob", **overrides: Any) -> dict[str, Any]:
    return call(w, who, "POST", "/tickets", ticket_body(**overrides), 201)  # type: ignore[no-any-return]


def work_through(w: World, number: str, *, score: int = 4, problem: str = "batch stops") -> None:
    steps: list[tuple[str, dict[str, Any]]] = [
        ("respond", {"note": "called back, looking into it"}),
        ("assess", {"nature": "defect", "severity": "high", "problem": problem}),
        ("dispatch", {"technician": "tom"}),
        ("service", {"note": "patched the job scheduler"}),
        ("complete", {"confirmed_by": "Li Wei"}),
        ("survey", {"score": score, "comment": "quick"}),
        ("follow_up", {"note": "visited, all fine"}),
        ("close", {}),
    ]
    for step, body in steps:
        # bob is the clerk; the service work is the dispatched technician's.
        who = "tom" if step == "service" else "bob"
        call(w, who, "POST", f"/tickets/{number}/{step}", body)


def test_the_whole_life_of_a_ticket(svc: World) -> None:
    t = open_ticket(svc, kind="service", channel="mail", contact_email="li.wei@example.cn")
    assert t["number"] == "S-1" and t["status"] == "registered" and t["open"]
    assert t["delivered_on"] == "2026-11-28"  # the day of the check-in
    assert t["charge"] == "free"
    assert t["response_due_at"] is None and t["overdue"] == []  # no clocks for service
    assert t["next_steps"] == ["respond", "cancel", "duplicate", "withdraw"]
    work_through(svc, "S-1")
    t = call(svc, "alice", "GET", "/tickets/S-1")
    assert t["status"] == "closed" and not t["open"] and t["next_steps"] == []
    assert (t["nature"], t["severity"], t["problem"]) == ("defect", "high", "batch stops")
    assert (t["technician"], t["confirmed_by"], t["satisfaction"]) == ("tom", "Li Wei", 4)
    steps = [e["step"] for e in t["record"]]
    assert steps == [
        "register",
        "respond",
        "assess",
        "dispatch",
        "service",
        "complete",
        "survey",
        "follow_up",
        "close",
    ]
    assert [e["actor"] for e in t["record"]] == ["bob"] * 4 + ["tom"] + ["bob"] * 4
    assert t["record"][3]["text"] == "dispatched to tom"
    assert t["record"][6]["details"] == {"score": 4, "comment": "quick"}
    actions = [e["action"] for e in svc.audit() if e["action"].startswith("service.ticket.")]
    assert actions == [f"service.ticket.{s}" for s in steps]
    survey = svc.audit(action="service.ticket.survey")[-1]
    assert survey["actor"] == "bob" and survey["target"] == "team/app@1.0.0"
    assert survey["details"] == {"ticket": "S-1", "score": 4, "comment": "quick"}
    # Several service steps and a new dispatch are allowed while the work goes on.
    t2 = open_ticket(svc)
    for step, body in [
        ("respond", {}),
        ("assess", {"nature": "usage", "severity": "low", "problem": "manual unclear"}),
        ("dispatch", {"technician": "tom"}),
        ("service", {"note": "first visit"}),
        ("dispatch", {"technician": "ann"}),
        ("service", {"note": "second visit"}),
    ]:
        call(svc, "sue", "POST", f"/tickets/{t2['number']}/{step}", body)  # the supervisor
    shown = call(svc, "alice", "GET", f"/tickets/{t2['number']}")
    assert shown["technician"] == "ann" and shown["status"] == "in_service"
    assert shown["record"][5]["text"] == "dispatched to ann (was tom)"


def test_the_warranty_decides_the_charge(svc: World) -> None:
    # The test clock is at 2026-11-28: delivered 30 days before is free, 31 chargeable.
    assert open_ticket(svc, delivered_on="2026-10-29")["charge"] == "free"
    assert open_ticket(svc, delivered_on="2026-10-28")["charge"] == "chargeable"
    # A draft never checked in has no delivery date of its own: it must be given.
    missing = call(
        svc,
        "dave",
        "POST",
        "/tickets",
        ticket_body(group="other", product="tool", version="2.0.0"),
        400,
    )
    assert missing["field"] == "delivered_on"
    assert "has not been checked in" in missing["message"]


def test_complaints_run_on_clocks(svc: World) -> None:
    # Registered on Saturday 2026-11-28 09:00; Tuesday 1 December is a holiday.
    t = open_ticket(svc)
    assert t["response_due_at"] == "2026-11-29T09:00:00Z"
    assert t["verification_due_at"] == "2026-12-03T09:00:00Z"  # Mon, (Tue off), Wed, Thu
    service = open_ticket(svc, kind="service")
    svc.clock.advance(hours=24)
    assert call(svc, "bob", "GET", "/tickets?overdue=1")["tickets"] == []
    svc.clock.advance(hours=2)
    late = call(svc, "bob", "GET", "/tickets?overdue=1")["tickets"]
    assert [x["number"] for x in late] == [t["number"]]
    assert late[0]["overdue"] == [
        {
            "clock": "response",
            "due_at": "2026-11-29T09:00:00Z",
            "late_seconds": 7200,
            "late": "2 h 0 min late",
        }
    ]
    listed = {x["number"]: x["is_overdue"] for x in call(svc, "bob", "GET", "/tickets")["tickets"]}
    assert listed == {t["number"]: True, service["number"]: False}
    # A late response stops that clock; the verification clock runs on.
    call(svc, "bob", "POST", f"/tickets/{t['number']}/respond", {"note": "sorry for the wait"})
    assert call(svc, "bob", "GET", "/tickets?overdue=1")["tickets"] == []
    svc.clock.advance(days=4)  # Thursday 11:00, after 09:00
    late = call(svc, "bob", "GET", "/tickets?overdue=1&open=1")["tickets"]
    assert late[0]["overdue"][0]["clock"] == "verification"
    assert late[0]["overdue"][0]["late"] == "2 h 0 min late"
    call(
        svc,
        "bob",
        "POST",
        f"/tickets/{t['number']}/assess",
        {"nature": "defect", "severity": "critical", "problem": "batch stops"},
    )
    assert call(svc, "bob", "GET", "/tickets?overdue=1")["tickets"] == []


def test_visibility(svc: World) -> None:
    t = open_ticket(svc)
    other = call(
        svc,
        "dave",
        "POST",
        "/tickets",
        ticket_body(group="other", product="tool", version="2.0.0", delivered_on="2026-11-20"),
        201,
    )
    assert call(svc, "dave", "GET", f"/tickets/{t['number']}", status=404)["message"] == (
        "ticket S-1 not found"
    )
    assert (
        call(svc, "dave", "GET", "/tickets/S-99", status=404)["message"] == "ticket S-99 not found"
    )
    call(svc, "dave", "POST", f"/tickets/{t['number']}/respond", {}, 404)
    assert [x["number"] for x in call(svc, "dave", "GET", "/tickets")["tickets"]] == [
        other["number"]
    ]
    assert [x["number"] for x in call(svc, "bob", "GET", "/tickets")["tickets"]] == [t["number"]]
    # The version manager sees the whole library.
    assert len(call(svc, "victor", "GET", "/tickets")["tickets"]) == 2
    # A version of a group dave cannot see is not there for him.
    refused = call(svc, "dave", "POST", "/tickets", ticket_body(), 404)
    assert refused["message"] == "group 'team' not found"
    call(svc, "dave", "GET", "/analysis?group=team&product=app", status=404)
    call(svc, "dave", "GET", "/analysis.csv?group=team&product=app", status=404)
    missing = call(svc, "carol", "GET", "/analysis?group=team&product=nope", status=404)
    assert missing["message"] == "product team/nope not found"
    call(svc, "bob", "POST", "/tickets", ticket_body(version="9.9"), 404)
    assert svc.call("GET", API + "/tickets").status_code == 401


def test_bad_input_changes_nothing(svc: World) -> None:
    before = len(svc.audit())
    cases = [
        ({"kind": "praise"}, "kind"),
        ({"channel": "fax"}, "channel"),
        ({"customer": ""}, "customer"),
        ({"customer": 7}, "customer"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"contact_phone": None}, "contact_phone"),
        ({"contact_email": "nobody"}, "contact_email"),
        ({"description": "   "}, "description"),
        ({"delivered_on": "28/11/2026"}, "delivered_on"),
        ({"delivered_on": "2026-12-24"}, "delivered_on"),
    ]
    for overrides, name in cases:
        answer = call(svc, "bob", "POST", "/tickets", ticket_body(**overrides), 400)
        assert answer["field"] == name, answer
        assert name in answer["message"] or name == "contact_phone"
    t = open_ticket(svc)
    call(svc, "bob", "POST", f"/tickets/{t['number']}/respond", {})
    for body, name in [
        ({"nature": "bad luck", "severity": "high", "problem": "x"}, "nature"),
        ({"nature": "defect", "severity": "urgent", "problem": "x"}, "severity"),
        ({"nature": "defect", "severity": "high"}, "problem"),
    ]:
        assert (
            call(svc, "bob", "POST", f"/tickets/{t['number']}/assess", body, 400)["field"] == name
        )
    shown = call(svc, "bob", "GET", f"/tickets/{t['number']}")
    assert shown["status"] == "responded" and shown["nature"] is None
    assert len(shown["record"]) == 2
    assert len([e for e in svc.audit() if e["action"].startswith("service.ticket.")]) == 2
    assert len(svc.audit()) == before + 3  # the customer entered in the register, too
    call(
        svc,
        "bob",
        "POST",
        f"/tickets/{t['number']}/assess",
        {"nature": "defect", "severity": "high", "problem": "x"},
    )
    call(svc, "bob", "POST", f"/tickets/{t['number']}/dispatch", {"technician": "not a name"}, 400)
    unknown = call(
        svc, "bob", "POST", f"/tickets/{t['number']}/dispatch", {"technician": "nobody"}, 400
    )
    assert unknown["message"] == "field 'technician': 'nobody' is not an active Depot account"
    call(svc, "bob", "POST", f"/tickets/{t['number']}/dispatch", {"technician": "tom"})
    call(svc, "tom", "POST", f"/tickets/{t['number']}/service", {"note": ""}, 400)
    call(svc, "tom", "POST", f"/tickets/{t['number']}/service", {"note": "done"})
    call(svc, "bob", "POST", f"/tickets/{t['number']}/complete", {"confirmed_by": "Li"})
    for score in (0, 6, "five", True, None):
        assert (
            call(svc, "bob", "POST", f"/tickets/{t['number']}/survey", {"score": score}, 400)[
                "field"
            ]
            == "score"
        )
    assert call(svc, "bob", "GET", f"/tickets/{t['number']}")["satisfaction"] is None
    assert call(svc, "bob", "GET", "/tickets?overdue=maybe", status=400)["field"] == "overdue"


def test_the_order_of_steps_is_enforced(svc: World) -> None:
    t = open_ticket(svc)
    n = t["number"]
    refused = call(
        svc,
        "bob",
        "POST",
        f"/tickets/{n}/assess",
        {"nature": "defect", "severity": "high", "problem": "x"},
        409,
    )
    assert refused["message"] == (
        f"cannot record the assessment (verification) on {n}: the first response to the "
        "customer must come first (the ticket is registered)"
    )
    refused = call(svc, "bob", "POST", f"/tickets/{n}/close", {}, 409)
    assert "the follow-up visit must come first" in refused["message"]
    call(svc, "bob", "POST", f"/tickets/{n}/respond", {})
    again = call(svc, "bob", "POST", f"/tickets/{n}/respond", {}, 409)
    assert "the first response to the customer is already done" in again["message"]
    call(svc, "bob", "POST", f"/tickets/{n}/complete", {"confirmed_by": "Li"}, 409)
    call(svc, "bob", "POST", f"/tickets/{n}/launch", {}, 404)
    assert call(svc, "bob", "GET", f"/tickets/{n}")["status"] == "responded"
    work_through_rest = [
        ("assess", {"nature": "defect", "severity": "high", "problem": "x"}),
        ("dispatch", {"technician": "tom"}),
        ("service", {"note": "fixed"}),
        ("complete", {"confirmed_by": "Li"}),
        ("survey", {"score": 5}),
        ("follow_up", {"note": "fine"}),
        ("close", {}),
    ]
    for step, body in work_through_rest:
        call(svc, "tom" if step == "service" else "bob", "POST", f"/tickets/{n}/{step}", body)
    closed = call(svc, "tom", "POST", f"/tickets/{n}/service", {"note": "more"}, 409)
    assert closed["message"].endswith("the ticket is closed")


def test_analysis_and_csv(svc: World) -> None:
    a = open_ticket(svc, customer="=cmd|' /C calc'!A0")  # a formula as a customer name
    svc.clock.advance(hours=2)
    work_through(svc, a["number"], score=5, problem="Batch stops")
    b = open_ticket(svc, kind="service", channel="web", delivered_on="2026-09-01")
    svc.clock.advance(hours=6)
    work_through(svc, b["number"], score=3, problem="batch  stops")
    c = open_ticket(svc, channel="mail")
    svc.clock.advance(days=2)  # c: no response after 48 hours
    report = call(svc, "carol", "GET", "/analysis?group=team&product=app")
    assert report["tickets"] == 3
    assert report["by_kind"] == {"service": 1, "complaint": 2}
    assert report["by_channel"] == {"phone": 1, "mail": 1, "web": 1}
    assert report["by_charge"] == {"free": 2, "chargeable": 1}
    assert report["by_status"] == {"registered": 1, "closed": 2}
    assert report["by_version"] == {"1.0.0": 3}
    # a answered after 2 hours, b after 6 (each step at once after the first response).
    assert report["first_response_hours"] == {"count": 2, "mean": 4.0, "median": 4.0, "worst": 6.0}
    assert report["completion_hours"] == report["first_response_hours"]
    assert report["verification_working_days"]["worst"] == 0  # the same Saturday
    assert report["complaints"] == {"count": 2, "overdue_now": 1, "late": 1, "share_late": 0.5}
    assert report["satisfaction"]["mean"] == 4.0
    assert report["satisfaction"]["distribution"] == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}
    assert report["top_problems"][0]["count"] == 2
    assert report["top_problems"][0]["problem"] == "Batch stops"
    assert report["top_problems"][0]["nature"] == "defect"
    version = call(svc, "carol", "GET", "/analysis?group=team&product=app&version=1.0.0")
    assert version["version"] == "1.0.0" and version["tickets"] == 3
    assert call(svc, "carol", "GET", "/analysis?group=team")["tickets"] == 3  # group-wide
    response = svc.call("GET", API + "/analysis.csv?group=team&product=app", svc.tokens["carol"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="service-team-app.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["number"] for r in rows] == [a["number"], b["number"], c["number"]]
    assert rows[0]["customer"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["satisfaction"] == "5" and rows[0]["response_late"] == "no"
    assert rows[1]["charge"] == "chargeable" and rows[1]["response_late"] == ""
    assert rows[2]["overdue_now"] == "yes" and rows[2]["first_response_hours"] == ""


def test_ticket_numbers_beyond_the_database_integer_are_a_404(svc: World) -> None:
    for number in ("S-2147483648", "99999999999", "S-999999999999", "S-0"):
        refused = call(svc, "bob", "GET", f"/tickets/{number}", status=404)
        assert refused["error"] == "not_found"
        call(svc, "bob", "POST", f"/tickets/{number}/respond", {"note": "x"}, status=404)


def test_control_characters_in_a_customer_or_contact_are_a_400_naming_the_field(
    svc: World,
) -> None:
    for field in ("customer", "contact"):
        refused = call(svc, "bob", "POST", "/tickets", ticket_body(**{field: "Bank\u202e"}), 400)
        assert refused["field"] == field, refused
