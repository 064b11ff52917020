"""The module's pure rules: working days, the 24-hour boundary, the warranty, options."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from repo_server.plugins.product_service import rules

SAT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
FRI = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_working_days_skip_weekends() -> None:
    assert rules.add_working_days(FRI, 3) == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # Wed
    assert rules.add_working_days(SAT, 3) == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Wed
    assert rules.add_working_days(datetime(2026, 11, 30, 8, tzinfo=UTC), 3) == datetime(
        2026, 12, 3, 8, tzinfo=UTC
    )  # Mon -> Thu


def test_working_days_skip_holidays() -> None:
    holidays = [date(2026, 12, 1), date(2026, 12, 2)]
    assert rules.add_working_days(FRI, 3, holidays) == datetime(2026, 12, 4, 10, tzinfo=UTC)
    # The National Day week: 1-7 October 2026 off, Thursday 30 September registered.
    golden = [date(2026, 10, d) for d in range(1, 8)]
    start = datetime(2026, 9, 30, 15, tzinfo=UTC)
    assert rules.add_working_days(start, 3, golden) == datetime(2026, 10, 12, 15, tzinfo=UTC)


def test_working_days_in_a_time_zone() -> None:
    # Friday 23:00 in Shanghai is Friday 15:00 UTC: counted from Friday, not Saturday.
    shanghai = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    due = rules.add_working_days(start, 1, (), shanghai)
    assert due == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # Monday 23:00 Shanghai


def test_working_days_between() -> None:
    assert rules.working_days_between(FRI, FRI + timedelta(hours=5)) == 0
    assert rules.working_days_between(FRI, FRI + timedelta(days=3)) == 1  # Sat, Sun, Mon
    assert rules.working_days_between(FRI, FRI + timedelta(days=4), [date(2026, 11, 30)]) == 1


def test_the_24_hour_boundary() -> None:
    due = rules.response_due(SAT, 24)
    clock = rules.Clock("response", due, None)
    assert not clock.overdue(SAT + timedelta(hours=24))
    assert clock.overdue(SAT + timedelta(hours=24, seconds=1))
    answered = rules.Clock("response", due, SAT + timedelta(hours=24))
    assert not answered.late(SAT + timedelta(days=9)) and not answered.overdue(
        SAT + timedelta(days=9)
    )
    late = rules.Clock("response", due, SAT + timedelta(hours=30))
    assert late.late(SAT + timedelta(days=9)) and not late.overdue(SAT + timedelta(days=9))
    assert rules.late_text(6 * 3600 + 120) == "6 h 2 min"
    assert rules.late_text(2 * 86400 + 3600) == "2 d 1 h"
    assert rules.late_text(1) == "1 min"


def test_the_warranty_boundary() -> None:
    delivered = date(2026, 11, 1)
    assert rules.charge_for(delivered, date(2026, 11, 1), 30) == "free"
    assert rules.charge_for(delivered, date(2026, 12, 1), 30) == "free"  # day 30
    assert rules.charge_for(delivered, date(2026, 12, 2), 30) == "chargeable"  # day 31
    assert rules.charge_for(delivered, date(2026, 12, 2), 90) == "free"


def test_step_order() -> None:
    assert rules.step_refusal("registered", "respond") is None
    assert rules.step_refusal("registered", "assess") == (
        "the first response to the customer must come first (the ticket is registered)"
    )
    assert "already done" in (rules.step_refusal("assessed", "respond") or "")
    assert rules.step_refusal("in_service", "service") is None
    assert rules.step_refusal("in_service", "dispatch") is None
    assert rules.step_refusal("closed", "close") == "the ticket is closed"
    assert rules.next_steps("in_service") == [
        "dispatch",
        "service",
        "complete",
        "cancel",
        "duplicate",
        "withdraw",
    ]
    # The honest ends: from any open status, never after another end.
    for status in rules.OPEN_STATUSES:
        assert all(rules.step_refusal(status, e) is None for e in rules.ENDINGS)
    for status in ("cancelled", "duplicate", "withdrawn", "closed"):
        assert rules.step_refusal(status, "withdraw") == f"the ticket is {status}"
        assert rules.next_steps(status) == []


def test_who_may_work_a_ticket() -> None:
    def may(step: str, roles: set[str], **kw: object) -> str | None:
        found = rules.may_work(
            username="tom",
            group="team",
            step=step,
            roles=frozenset(roles),
            auditor=bool(kw.get("auditor")),
            technician=kw.get("technician"),  # type: ignore[arg-type]
        )
        return None if found is None else found.rule

    assert may("register", {"clerk"}) is None
    assert may("register", {"technician"}) == "service.role"
    assert may("register", set()) == "service.role"
    assert may("register", {"clerk"}, auditor=True) == "service.auditor"
    assert may("service", {"technician"}, technician="tom") is None
    assert may("service", {"technician"}, technician="ann") == "service.technician"
    assert may("service", {"technician"}) == "service.technician"
    assert may("service", {"supervisor"}, technician="ann") is None
    assert may("service", {"clerk"}, technician="tom") == "service.role"
    assert may("complete", {"clerk"}, technician="ann") is None
    assert may("cancel", {"supervisor"}) is None
    refusal = rules.may_work(
        username="tom",
        group="team",
        step="service",
        roles=frozenset({"technician"}),
        auditor=False,
    )
    assert refusal is not None and refusal.reason == "not dispatched to tom"
    assert rules.may_grant(username="a", group="team", manager=True, auditor=False) is None
    assert rules.may_grant(username="a", group="team", manager=False, auditor=False) == (
        rules.Refusal(
            "service.role_grant",
            "only a software manager of team grants and takes away its service roles",
        )
    )
    assert rules.may_grant(username="a", group="team", manager=True, auditor=True) is not None


def test_a_stopped_clock_is_not_overdue() -> None:
    due = datetime(2026, 11, 29, 9, tzinfo=UTC)
    stopped = rules.Clock("response", due, None, due + timedelta(hours=2))
    later = due + timedelta(days=3)
    assert not stopped.overdue(later) and stopped.late(later)
    assert stopped.late_seconds(later) == 7200
    early = rules.Clock("response", due, None, due - timedelta(hours=1))
    assert not early.late(later) and early.late_seconds(later) == 0


def test_options() -> None:
    options = rules.parse_options({})
    assert (options.warranty_days, options.response_hours, options.verification_working_days) == (
        30,
        24,
        3,
    )
    options = rules.parse_options(
        {
            "warranty_days": 90,
            "holidays": ["2026-10-01", date(2026, 10, 2)],
            "timezone": "Asia/Shanghai",
        }
    )
    assert options.holidays == {date(2026, 10, 1), date(2026, 10, 2)}
    assert options.warranty_days == 90


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"warranty_days": -1}, "option 'warranty_days' must be a whole number ≥ 0, not -1"),
        ({"warranty_days": "30"}, "option 'warranty_days' must be a whole number ≥ 0, not '30'"),
        ({"response_hours": 0}, "option 'response_hours' must be a whole number ≥ 1"),
        ({"verification_working_days": True}, "'verification_working_days' must be a whole"),
        ({"holidays": "2026-10-01"}, "option 'holidays' must be a list of ISO dates"),
        ({"holidays": ["1 Oct"]}, "option 'holidays': '1 Oct' is not an ISO date"),
        ({"holidays": ["2026-02-30"]}, "option 'holidays': '2026-02-30' is not a date"),
        ({"timezone": "Mars/Base"}, "option 'timezone': unknown time zone 'Mars/Base'"),
        ({"warranty": 30}, "unknown option 'warranty'"),
    ],
)
def test_bad_options_are_named(raw: dict[str, object], message: str) -> None:
    with pytest.raises(rules.OptionsError) as error:
        rules.parse_options(raw)
    assert message in str(error.value)


def test_csv_cells_are_not_formulas() -> None:
    assert rules.safe_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert [rules.safe_cell(v) for v in ("+1", "-1", "@SUM", "ok", None, 3)] == [
        "'+1",
        "'-1",
        "'@SUM",
        "ok",
        "",
        "3",
    ]
