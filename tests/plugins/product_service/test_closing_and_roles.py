"""Tickets that can be closed honestly and the service roles, through the API, on SQLite
and PostgreSQL: cancel, duplicate-of and withdrawn with a reason from any open state,
audited and counted apart in the analysis; clerk, technician and supervisor granted per
group by its software manager without membership of the storage area; dispatch only to
the group's technicians; a technician's own tickets; auditors read and never write."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.product_service.conftest import grant, ticket_body
from tests.plugins.product_service.test_api import call, open_ticket
from tests.support import World

#: The main path up to each open status: (status reached, who, step, body).
PATH: list[tuple[str, str, str, dict[str, Any]]] = [
    ("responded", "bob", "respond", {}),
    ("assessed", "bob", "assess", {"nature": "defect", "severity": "high", "problem": "x"}),
    ("dispatched", "bob", "dispatch", {"technician": "tom"}),
    ("in_service", "tom", "service", {"note": "on it"}),
    ("completed", "tom", "complete", {"confirmed_by": "Li Wei"}),
    ("surveyed", "bob", "survey", {"score": 4}),
    ("followed_up", "bob", "follow_up", {"note": "fine"}),
]


def audits(w: World, action: str, outcome: str) -> list[dict[str, Any]]:
    """The audit records of ``action`` with ``outcome``."""
    return [e for e in w.audit(action=action) if e["outcome"] == outcome]


def walk(w: World, number: str, status: str) -> None:
    """Take ticket ``number`` along the main path until it is in ``status``."""
    if status == "registered":
        return
    for reached, who, step, body in PATH:
        call(w, who, "POST", f"/tickets/{number}/{step}", body)
        if reached == status:
            return


@pytest.mark.parametrize("ending", ["cancel", "withdraw"])
def test_a_ticket_ends_with_a_reason_from_any_open_state(svc: World, ending: str) -> None:
    status = {"cancel": "cancelled", "withdraw": "withdrawn"}[ending]
    for state in ["registered", *(reached for reached, *_ in PATH)]:
        n = open_ticket(svc)["number"]
        walk(svc, n, state)
        refused = call(svc, "bob", "POST", f"/tickets/{n}/{ending}", {}, 400)
        assert refused["field"] == "reason"
        assert call(svc, "bob", "GET", f"/tickets/{n}")["status"] == state
        ended = call(svc, "bob", "POST", f"/tickets/{n}/{ending}", {"reason": "customer said so"})
        assert (ended["status"], ended["open"], ended["next_steps"]) == (status, False, [])
        assert ended["end_reason"] == "customer said so" and ended["ended_at"]
        assert ended["record"][-1]["step"] == ending
        assert ended["record"][-1]["details"] == {"reason": "customer said so", "from": state}
        audited = svc.audit(action=f"service.ticket.{ending}")[-1]
        assert audited["details"]["ticket"] == n and audited["group"] == "team"
        # Nothing follows an ended ticket, not even another ending.
        again = call(svc, "bob", "POST", f"/tickets/{n}/cancel", {"reason": "again"}, 409)
        assert again["message"].endswith(f"the ticket is {status}")
        call(svc, "bob", "POST", f"/tickets/{n}/respond", {}, 409)
    # A closed ticket is not withdrawn or cancelled afterwards.
    n = open_ticket(svc)["number"]
    walk(svc, n, "followed_up")
    call(svc, "bob", "POST", f"/tickets/{n}/close", {})
    closed = call(svc, "bob", "POST", f"/tickets/{n}/{ending}", {"reason": "late"}, 409)
    assert closed["message"].endswith("the ticket is closed")
    open_only = call(svc, "bob", "GET", "/tickets?open=1")["tickets"]
    assert open_only == []


def test_a_duplicate_points_at_another_ticket(svc: World) -> None:
    first = open_ticket(svc)["number"]
    second = open_ticket(svc)["number"]
    third = open_ticket(svc)["number"]
    elsewhere = call(
        svc,
        "dave",
        "POST",
        "/tickets",
        ticket_body(group="other", product="tool", version="2.0.0", delivered_on="2026-11-20"),
        201,
    )["number"]
    before = len(svc.audit())
    for body, field in [
        ({"reason": "same call"}, "of"),
        ({"of": first}, "reason"),
        ({"of": second, "reason": "same call"}, "of"),  # itself
        ({"of": "S-99", "reason": "same call"}, "of"),
        ({"of": elsewhere, "reason": "same call"}, "of"),  # a ticket bob may not see
        ({"of": "twelve", "reason": "same call"}, "of"),
    ]:
        refused = call(svc, "bob", "POST", f"/tickets/{second}/duplicate", body, 400)
        assert refused["field"] == field, refused
    assert (
        call(
            svc,
            "bob",
            "POST",
            f"/tickets/{second}/duplicate",
            {"of": elsewhere, "reason": "x"},
            400,
        )["message"]
        == f"field 'of': ticket {elsewhere} not found"
    )
    assert len(svc.audit()) == before
    done = call(
        svc, "bob", "POST", f"/tickets/{second}/duplicate", {"of": first, "reason": "same call"}
    )
    assert (done["status"], done["duplicate_of"], done["open"]) == ("duplicate", first, False)
    assert done["record"][-1]["text"] == f"duplicate of {first}: same call"
    assert svc.audit(action="service.ticket.duplicate")[-1]["details"]["of"] == first
    # A duplicate of a duplicate names the ticket to point at.
    chained = call(
        svc, "bob", "POST", f"/tickets/{third}/duplicate", {"of": second, "reason": "x"}, 400
    )
    assert chained["message"] == (
        f"field 'of': {second} is itself a duplicate of {first}: point at {first}"
    )
    shown = call(svc, "bob", "GET", f"/tickets/{first}")
    assert shown["duplicates"] == [second] and shown["open"]


def test_the_analysis_counts_ended_tickets_apart(svc: World) -> None:
    real = open_ticket(svc)["number"]
    svc.clock.advance(hours=2)
    walk(svc, real, "followed_up")
    call(svc, "bob", "POST", f"/tickets/{real}/close", {})
    mistake = open_ticket(svc, channel="web")["number"]
    call(
        svc, "bob", "POST", f"/tickets/{mistake}/cancel", {"reason": "registered twice by mistake"}
    )
    again = open_ticket(svc, channel="mail")["number"]
    call(svc, "bob", "POST", f"/tickets/{again}/respond", {})
    call(svc, "bob", "POST", f"/tickets/{again}/duplicate", {"of": real, "reason": "same batch"})
    withdrawn = open_ticket(svc, kind="complaint")["number"]
    svc.clock.advance(hours=30)  # its first response ran out, then the customer withdrew
    call(svc, "bob", "POST", f"/tickets/{withdrawn}/withdraw", {"reason": "solved it themselves"})
    svc.clock.advance(hours=100)  # past its verification's due time too
    report = call(svc, "carol", "GET", "/analysis?group=team&product=app")
    assert report["tickets"] == 4
    assert report["cases"] == 2  # a cancelled ticket and a duplicate are no cases
    assert report["ended"] == {"cancelled": 1, "duplicate": 1, "withdrawn": 1}
    assert report["by_status"] == {"closed": 1, "cancelled": 1, "duplicate": 1, "withdrawn": 1}
    assert report["by_channel"] == {"phone": 2, "mail": 0, "web": 0}
    assert report["by_kind"] == {"service": 0, "complaint": 2}
    # Only the case worked through has a response and a completion time.
    assert report["first_response_hours"]["count"] == 1
    assert report["completion_hours"]["count"] == 1
    # The withdrawn complaint missed its first response before it was withdrawn; it is
    # not overdue now (its clocks stopped), and its verification clock never ran out.
    assert report["complaints"] == {"count": 2, "overdue_now": 0, "late": 1, "share_late": 0.5}
    assert [p["count"] for p in report["top_problems"]] == [1]
    assert call(svc, "bob", "GET", "/tickets?overdue=1")["tickets"] == []


def test_service_roles_need_no_membership(svc: World) -> None:
    number = open_ticket(svc)["number"]
    # kim has no role: the group's tickets are not there for her.
    call(svc, "kim", "GET", f"/tickets/{number}", status=404)
    assert call(svc, "kim", "POST", "/tickets", ticket_body(), 404)["message"] == (
        "group 'team' not found"
    )
    granted = grant(svc, "alice", "team", "kim", "clerk")
    assert granted == {
        "group": "team",
        "username": "kim",
        "role": "clerk",
        "granted_by": "alice",
        "granted_at": "2026-11-28T09:00:00Z",
    }
    audited = svc.audit(action="service.role.grant")[-1]
    assert (audited["actor"], audited["group"], audited["details"]) == (
        "alice",
        "team",
        {"username": "kim", "role": "clerk"},
    )
    # As a clerk she registers and works the group's tickets, and sees them listed...
    mine = call(svc, "kim", "POST", "/tickets", ticket_body(), 201)
    assert mine["registered_by"] == "kim"
    call(svc, "kim", "POST", f"/tickets/{number}/respond", {"note": "called back"})
    listed = {t["number"] for t in call(svc, "kim", "GET", "/tickets")["tickets"]}
    assert listed == {number, mine["number"]}
    # ...but she is no member of the storage area: she cannot see nor upload there.
    assert svc.call("GET", "/api/v1/groups/team/products", svc.tokens["kim"]).status_code == 404
    upload = svc.upload("team/app@1.0.0", "extra.txt", b"x", svc.tokens["kim"])
    assert upload.status_code == 404
    # The roles of the group, a page at a time.
    roles = call(svc, "bob", "GET", "/roles/team?limit=2")
    assert len(roles["roles"]) == 2 and roles["next"]
    everyone = call(svc, "sue", "GET", "/roles/team?limit=100")["roles"]
    assert {(r["username"], r["role"]) for r in everyone} == {
        ("bob", "clerk"),
        ("tom", "technician"),
        ("ann", "technician"),
        ("sue", "supervisor"),
        ("kim", "clerk"),
    }
    # Taken away again: she is an outsider once more.
    revoked = call(svc, "alice", "DELETE", "/roles/team/kim/clerk")
    assert revoked == {"removed": True, "group": "team", "username": "kim", "role": "clerk"}
    assert svc.audit(action="service.role.revoke")[-1]["details"] == {
        "username": "kim",
        "role": "clerk",
    }
    call(svc, "kim", "GET", f"/tickets/{number}", status=404)


def test_only_the_groups_software_manager_grants_service_roles(svc: World) -> None:
    before = len(svc.audit(action="service.role.grant"))
    refused = grant(svc, "bob", "team", "kim", "clerk", 403)
    assert refused["rule"] == "service.role_grant"
    assert "only a software manager of team" in refused["message"]
    refusal = audits(svc, "service.role.grant", "refused")[-1]
    assert (refusal["actor"], refusal["rule"], refusal["group"]) == (
        "bob",
        "service.role_grant",
        "team",
    )
    assert grant(svc, "dave", "team", "kim", "clerk", 404)["message"] == "group 'team' not found"
    assert grant(svc, "alice", "team", "kim", "boss", 400)["field"] == "role"
    assert grant(svc, "alice", "team", "nobody", "clerk", 400)["field"] == "username"
    again = grant(svc, "alice", "team", "bob", "clerk", 409)
    assert again["message"] == "bob already holds the service role clerk in team"
    call(svc, "alice", "DELETE", "/roles/team/kim/clerk", status=404)
    call(svc, "bob", "DELETE", "/roles/team/tom/technician", status=403)
    assert len(audits(svc, "service.role.grant", "ok")) == before


def test_each_role_does_its_part(svc: World) -> None:
    number = open_ticket(svc)["number"]
    # A member of the group without a service role reads, and works nothing.
    assert call(svc, "carol", "GET", f"/tickets/{number}")["number"] == number
    refused = call(svc, "carol", "POST", f"/tickets/{number}/respond", {}, 403)
    assert refused["rule"] == "service.role"
    assert call(svc, "carol", "POST", "/tickets", ticket_body(), 403)["rule"] == "service.role"
    audited = audits(svc, "service.ticket.respond", "refused")[-1]
    assert (audited["actor"], audited["rule"], audited["group"]) == (
        "carol",
        "service.role",
        "team",
    )
    assert audited["details"]["ticket"] == number
    # A technician neither registers nor answers the customer.
    assert call(svc, "tom", "POST", "/tickets", ticket_body(), 403)["rule"] == "service.role"
    call(svc, "tom", "POST", f"/tickets/{number}/respond", {}, 403)
    call(svc, "bob", "POST", f"/tickets/{number}/respond", {})
    call(
        svc,
        "bob",
        "POST",
        f"/tickets/{number}/assess",
        {"nature": "defect", "severity": "high", "problem": "x"},
    )
    # Dispatch goes to the group's technicians only.
    for who in ("carol", "bob", "kim"):
        wrong = call(svc, "bob", "POST", f"/tickets/{number}/dispatch", {"technician": who}, 400)
        assert wrong["field"] == "technician"
        assert wrong["message"] == (
            f"field 'technician': {who} is not a technician of team "
            "(the group's software manager grants the role)"
        )
    call(svc, "bob", "POST", f"/tickets/{number}/dispatch", {"technician": "tom"})
    # The work is the dispatched technician's (or the supervisor's).
    other = call(svc, "ann", "POST", f"/tickets/{number}/service", {"note": "me too"}, 403)
    assert other["rule"] == "service.technician"
    assert other["message"] == f"{number} is dispatched to tom, not to ann"
    call(svc, "bob", "POST", f"/tickets/{number}/service", {"note": "clerk's work"}, 403)
    call(svc, "tom", "POST", f"/tickets/{number}/service", {"note": "patched"})
    call(svc, "sue", "POST", f"/tickets/{number}/service", {"note": "checked the patch"})
    # tom's own tickets.
    second = open_ticket(svc)["number"]
    mine = call(svc, "tom", "GET", "/tickets?mine=1")["tickets"]
    assert [t["number"] for t in mine] == [number]
    assert {t["number"] for t in call(svc, "tom", "GET", "/tickets")["tickets"]} == {number, second}
    assert call(svc, "ann", "GET", "/tickets?mine=1")["tickets"] == []
    # The version manager sees the whole library and works no ticket without a role.
    assert call(svc, "victor", "POST", f"/tickets/{second}/respond", {}, 403)["rule"] == (
        "service.role"
    )


def test_auditors_read_and_never_write(svc: World) -> None:
    number = open_ticket(svc)["number"]
    assert call(svc, "audrey", "GET", f"/tickets/{number}")["number"] == number
    assert len(call(svc, "audrey", "GET", "/tickets")["tickets"]) == 1
    call(svc, "audrey", "GET", "/analysis?group=team&product=app")
    call(svc, "audrey", "GET", "/roles/team")
    # Even with a role granted, an auditor changes nothing.
    grant(svc, "alice", "team", "audrey", "supervisor")
    for method, path, body in [
        ("POST", "/tickets", ticket_body()),
        ("POST", f"/tickets/{number}/respond", {}),
        ("POST", f"/tickets/{number}/cancel", {"reason": "x"}),
        ("POST", "/roles/team", {"username": "kim", "role": "clerk"}),
    ]:
        refused = call(svc, "audrey", method, path, body, 403)
        assert refused["rule"] == "service.auditor", path
    assert call(svc, "bob", "GET", f"/tickets/{number}")["status"] == "registered"
    assert len([e for e in svc.audit() if e["rule"] == "service.auditor"]) == 4


def test_figures_per_technician_period_and_group(svc: World) -> None:
    # Saturday 28 November: one ticket for tom, served in 3 hours, satisfaction 5.
    a = open_ticket(svc)["number"]
    walk(svc, a, "dispatched")
    svc.clock.advance(hours=1)
    call(svc, "tom", "POST", f"/tickets/{a}/service", {"note": "on site"})
    svc.clock.advance(hours=2)
    call(svc, "tom", "POST", f"/tickets/{a}/complete", {"confirmed_by": "Li Wei"})
    call(svc, "bob", "POST", f"/tickets/{a}/survey", {"score": 5})
    # Sunday 29 November: one for ann, served the next hour, satisfaction 3.
    svc.clock.advance(hours=21)
    b = open_ticket(svc)["number"]
    walk(svc, b, "assessed")
    call(svc, "bob", "POST", f"/tickets/{b}/dispatch", {"technician": "ann"})
    svc.clock.advance(minutes=30)
    call(svc, "ann", "POST", f"/tickets/{b}/service", {"note": "remote"})
    svc.clock.advance(minutes=30)
    call(svc, "ann", "POST", f"/tickets/{b}/complete", {"confirmed_by": "Li Wei"})
    call(svc, "bob", "POST", f"/tickets/{b}/survey", {"score": 3})
    report = call(svc, "sue", "GET", "/analysis?group=team&product=app")
    assert report["by_technician"] == {
        "ann": {
            "tickets": 1,
            "completed": 1,
            "response_hours": {"count": 1, "mean": 0.5, "median": 0.5, "worst": 0.5},
            "resolution_hours": {"count": 1, "mean": 1.0, "median": 1.0, "worst": 1.0},
            "satisfaction": {"count": 1, "mean": 3.0},
        },
        "tom": {
            "tickets": 1,
            "completed": 1,
            "response_hours": {"count": 1, "mean": 1.0, "median": 1.0, "worst": 1.0},
            "resolution_hours": {"count": 1, "mean": 3.0, "median": 3.0, "worst": 3.0},
            "satisfaction": {"count": 1, "mean": 5.0},
        },
    }
    # A period: the tickets registered from one day to another (both included).
    sunday = call(svc, "sue", "GET", "/analysis?group=team&product=app&since=2026-11-29")
    assert (sunday["tickets"], sunday["since"], sunday["until"]) == (1, "2026-11-29", None)
    assert list(sunday["by_technician"]) == ["ann"]
    saturday = call(svc, "sue", "GET", "/analysis?group=team&until=2026-11-28")
    assert saturday["tickets"] == 1 and list(saturday["by_technician"]) == ["tom"]
    wrong = call(
        svc, "sue", "GET", "/analysis?group=team&since=2026-12-02&until=2026-12-01", status=400
    )
    assert wrong["field"] == "until"
    # The group-wide view: every product of the group (sue is no member: she holds a role).
    svc.product("team", "batch", svc.tokens["alice"])
    svc.version("team", "batch", "0.1.0", svc.tokens["alice"])
    call(
        svc,
        "bob",
        "POST",
        "/tickets",
        ticket_body(product="batch", version="0.1.0", delivered_on="2026-11-20"),
        201,
    )
    group = call(svc, "sue", "GET", "/analysis?group=team")
    assert (group["product"], group["tickets"]) == (None, 3)
    assert group["by_product"] == {"app": 2, "batch": 1}
    call(svc, "kim", "GET", "/analysis?group=team", status=404)
    call(svc, "sue", "GET", "/analysis?group=team&version=1.0.0", status=400)
    rows = svc.call(
        "GET", "/api/v1/service/analysis.csv?group=team&since=2026-11-29", svc.tokens["sue"]
    )
    assert rows.status_code == 200
    assert len(rows.get_data(as_text=True).splitlines()) == 3  # the header and two tickets


def test_overdue_complaints_are_escalated_to_the_supervisor(svc: World) -> None:
    complaint = open_ticket(svc)["number"]  # Saturday 09:00: response due Sunday 09:00
    open_ticket(svc, kind="service")  # no clocks, never escalated
    svc.clock.advance(hours=24)
    assert call(svc, "sue", "GET", "/tickets?escalated=1")["tickets"] == []
    svc.clock.advance(minutes=1)  # the clock moved past the first response's due time
    escalated = call(svc, "sue", "GET", "/tickets?escalated=1")["tickets"]
    assert [t["number"] for t in escalated] == [complaint]
    assert escalated[0]["escalations"] == [
        {"clock": "response", "at": "2026-11-29T09:01:00Z", "to": ["sue"]}
    ]
    shown = call(svc, "bob", "GET", f"/tickets/{complaint}")
    assert shown["record"][-1]["step"] == "escalate"
    assert shown["record"][-1]["actor"] == "depot"
    assert shown["record"][-1]["text"] == (
        "first response overdue (due 2026-11-29 09:00 UTC): escalated to sue"
    )
    audited = svc.audit(action="service.ticket.escalate")
    assert len(audited) == 1 and audited[0]["group"] == "team"
    assert audited[0]["details"] == {
        "ticket": complaint,
        "clock": "response",
        "due_at": "2026-11-29T09:00:00Z",
        "supervisors": ["sue"],
    }
    # Once per clock: looking again records nothing more.
    call(svc, "sue", "GET", "/tickets?escalated=1")
    assert len(svc.audit(action="service.ticket.escalate")) == 1
    # The verification clock runs out too (Thursday 09:00, Tuesday being a holiday).
    call(svc, "bob", "POST", f"/tickets/{complaint}/respond", {})
    svc.clock.advance(days=4)
    shown = call(svc, "sue", "GET", f"/tickets/{complaint}")
    assert [e["clock"] for e in shown["escalations"]] == ["response", "verification"]
    assert len(svc.audit(action="service.ticket.escalate")) == 2
    # An ended ticket is no longer among the escalated ones.
    call(svc, "bob", "POST", f"/tickets/{complaint}/withdraw", {"reason": "solved"})
    assert call(svc, "sue", "GET", "/tickets?escalated=1")["tickets"] == []


def test_a_complaint_links_to_a_quality_issue(svc: World) -> None:
    # The quality module is not even enabled: the number is kept as a reference.
    complaint = open_ticket(svc)["number"]
    service = open_ticket(svc, kind="service")["number"]
    path = f"/tickets/{complaint}/quality-issue"
    for issue in ("7", "Q7x", "", "Q-0x"):
        assert call(svc, "bob", "POST", path, {"issue": issue}, 400)["field"] == "issue"
    refused = call(svc, "tom", "POST", path, {"issue": "Q-7"}, 403)
    assert refused["rule"] == "service.role"
    wrong = call(svc, "bob", "POST", f"/tickets/{service}/quality-issue", {"issue": "Q-7"}, 400)
    assert (
        wrong["message"]
        == f"{service} is a service request: only a complaint is linked to a quality issue"
    )
    linked = call(svc, "bob", "POST", path, {"issue": "q-7"})
    assert linked["quality_issue"] == "Q-7" and linked["status"] == "registered"
    assert linked["record"][-1]["step"] == "link"
    assert linked["record"][-1]["text"] == "linked to quality issue Q-7"
    relinked = call(svc, "sue", "POST", path, {"issue": "Q-8"})
    assert relinked["record"][-1]["text"] == "linked to quality issue Q-8 (was Q-7)"
    audited = audits(svc, "service.ticket.link_quality", "ok")
    assert [e["details"]["issue"] for e in audited] == ["Q-7", "Q-8"]
    assert audits(svc, "service.ticket.link_quality", "refused")[0]["actor"] == "tom"
    assert call(svc, "bob", "GET", "/tickets")["tickets"][-1]["quality_issue"] == "Q-8"


def test_the_customer_register_and_warranties(svc: World) -> None:
    # Registered once, a customer is the same entry whatever the spelling.
    first = open_ticket(svc, delivered_on="2026-10-01")  # 58 days: past the default 30
    assert (first["customer_id"], first["charge"]) == ("C-1", "chargeable")
    assert (first["warranty_days"], first["warranty_source"]) == (30, "default")
    again = open_ticket(svc, customer="bank of example,  SHANGHAI branch")
    assert again["customer_id"] == "C-1" and again["customer"] == "Bank of Example, Shanghai branch"
    register = call(svc, "bob", "GET", "/customers/team")["customers"]
    assert [(c["number"], c["name"], c["tickets"]) for c in register] == [
        ("C-1", "Bank of Example, Shanghai branch", 2)
    ]
    assert svc.audit(action="service.customer.register")[-1]["details"]["customer"] == "C-1"
    # An entry made beforehand, with its contract's own warranty.
    made = call(
        svc,
        "bob",
        "POST",
        "/customers/team",
        {"name": "Example Leasing", "contact": "Zhang San", "contact_email": "z@example.cn"},
        201,
    )
    assert made["number"] == "C-2" and made["warranty_days"] is None
    call(svc, "bob", "POST", "/customers/team", {"name": "example  leasing"}, 409)
    # The contract's warranty is the supervisor's to set.
    body = {"contract": "HT-2026-001", "warranty_days": 90}
    assert call(svc, "bob", "PUT", "/customers/team/C-2/warranty", body, 403)["rule"] == (
        "service.role"
    )
    contract = call(svc, "sue", "PUT", "/customers/team/C-2/warranty", body)
    assert (contract["contract"], contract["warranty_days"]) == ("HT-2026-001", 90)
    leased = open_ticket(svc, customer="Example Leasing", delivered_on="2026-10-01")
    assert (leased["charge"], leased["warranty_days"], leased["warranty_source"]) == (
        "free",
        90,
        "contract",
    )
    # A product's own warranty, for customers without a contract of their own.
    product = call(svc, "sue", "PUT", "/warranties/team/app", {"warranty_days": 60})
    assert product == {"group": "team", "product": "app", "warranty_days": 60, "set_by": "sue"}
    call(svc, "sue", "PUT", "/warranties/team/nope", {"warranty_days": 60}, 404)
    call(svc, "sue", "PUT", "/warranties/team/app", {"warranty_days": -1}, 400)
    bank = open_ticket(svc, delivered_on="2026-10-01")
    assert (bank["charge"], bank["warranty_source"]) == ("free", "product")
    assert svc.audit(action="service.warranty.product")[-1]["details"] == {
        "product": "app",
        "warranty_days": 60,
        "previous": None,
    }
    # Other groups' registers are not there.
    call(svc, "dave", "GET", "/customers/team", status=404)
    call(svc, "kim", "POST", "/customers/team", {"name": "X"}, 404)
