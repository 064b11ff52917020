"""The service module's rules, as pure functions (no I/O; the time is passed in).

The order of a ticket's steps, the complaint clocks (first response within hours, first
verification within working days, Monday to Friday without the configured holidays), the
warranty (free service within the warranty days after delivery) and the options of the
``[plugin.product_service]`` table.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

KINDS = ("service", "complaint")
CHANNELS = ("phone", "mail", "web")
NATURES = ("defect", "usage", "configuration", "enhancement", "other")
SEVERITIES = ("low", "medium", "high", "critical")
CHARGES = ("free", "chargeable")

#: The steps of a ticket, in order; ``service`` may be repeated, ``dispatch`` redone.
STEPS = (
    "register",
    "respond",
    "assess",
    "dispatch",
    "service",
    "complete",
    "survey",
    "follow_up",
    "close",
)
#: The honest ends of a ticket that is not served to the end, each with a reason, from
#: any open status: registered in error (cancel), the same case as another ticket
#: (duplicate, pointing at it), or withdrawn by the customer (withdraw).
ENDINGS = ("cancel", "duplicate", "withdraw")
#: The ticket's status once a step is done.
STATUS_AFTER = {
    "register": "registered",
    "respond": "responded",
    "assess": "assessed",
    "dispatch": "dispatched",
    "service": "in_service",
    "complete": "completed",
    "survey": "surveyed",
    "follow_up": "followed_up",
    "close": "closed",
    "cancel": "cancelled",
    "duplicate": "duplicate",
    "withdraw": "withdrawn",
}
STATUSES = tuple(STATUS_AFTER.values())
#: The statuses of a ticket that is over: nothing follows them.
ENDED = frozenset({"closed", "cancelled", "duplicate", "withdrawn"})
#: The statuses of a ticket still being worked.
OPEN_STATUSES = tuple(s for s in STATUSES if s not in ENDED)
#: Ended tickets that are no service case of their own (the analysis counts them apart).
NOT_A_CASE = frozenset({"cancelled", "duplicate"})
#: What each step is called in messages.
LABELS = {
    "register": "the registration",
    "respond": "the first response to the customer",
    "assess": "the assessment (verification)",
    "dispatch": "the dispatch to a technician",
    "service": "the service work",
    "complete": "the completion confirmed with the customer",
    "survey": "the satisfaction survey",
    "follow_up": "the follow-up visit",
    "close": "the closing",
    "cancel": "the cancellation",
    "duplicate": "the duplicate mark",
    "withdraw": "the withdrawal",
    "link": "the link to a quality issue",
    "customer": "an entry of the customer register",
    "warranty": "a warranty",
}
#: The statuses a step may be done from.
ALLOWED_FROM = {
    "respond": {"registered"},
    "assess": {"responded"},
    "dispatch": {"assessed", "dispatched", "in_service"},
    "service": {"dispatched", "in_service"},
    "complete": {"in_service"},
    "survey": {"completed"},
    "follow_up": {"surveyed"},
    "close": {"followed_up"},
    **{ending: set(OPEN_STATUSES) for ending in ENDINGS},
}
#: The step that must be done before each step.
REQUIRES = {
    "respond": "register",
    "assess": "respond",
    "dispatch": "assess",
    "service": "dispatch",
    "complete": "service",
    "survey": "complete",
    "follow_up": "survey",
    "close": "follow_up",
}


def step_refusal(status: str, step: str) -> str | None:
    """Why ``step`` cannot be done on a ticket in ``status`` (``None``: it can)."""
    if status in ENDED:
        return f"the ticket is {status}"
    if status in ALLOWED_FROM[step]:
        return None
    need = REQUIRES[step]
    if STATUSES.index(status) < STATUSES.index(STATUS_AFTER[need]):
        return f"{LABELS[need]} must come first (the ticket is {status.replace('_', ' ')})"
    return f"{LABELS[step]} is already done (the ticket is {status.replace('_', ' ')})"


def next_steps(status: str) -> list[str]:
    """The steps that may be done next on a ticket in ``status``."""
    return [step for step, allowed in ALLOWED_FROM.items() if status in allowed]


# -- service roles ----------------------------------------------------------------------

#: The service roles, granted per group by its software manager (no membership needed):
#: the clerk (受理) registers and works tickets with the customer, the technician (技术人员)
#: does the service work on the tickets dispatched to them, the supervisor (服务主管)
#: oversees and may do every step.
ROLES = ("clerk", "technician", "supervisor")
#: The roles that may do each step (a technician only on a ticket dispatched to them).
STEP_ROLES: dict[str, frozenset[str]] = {
    **{step: frozenset({"clerk", "supervisor"}) for step in STEPS},
    **{ending: frozenset({"clerk", "supervisor"}) for ending in ENDINGS},
    "link": frozenset({"clerk", "supervisor"}),
    "customer": frozenset({"clerk", "supervisor"}),
    "warranty": frozenset({"supervisor"}),
    "service": frozenset({"technician", "supervisor"}),
    "complete": frozenset({"clerk", "technician", "supervisor"}),
}
#: What each role is called in messages.
ROLE_LABELS = {
    "clerk": "a clerk (受理)",
    "technician": "a technician (技术人员)",
    "supervisor": "a supervisor (服务主管)",
}


@dataclass(frozen=True)
class Refusal:
    """Why someone may not do something: the rule named and the reason."""

    rule: str
    reason: str


def may_work(
    *,
    username: str,
    group: str,
    step: str,
    roles: frozenset[str],
    auditor: bool,
    technician: str | None = None,
) -> Refusal | None:
    """Whether ``username`` holding the service ``roles`` in ``group`` may do ``step``
    (``register`` included) on a ticket dispatched to ``technician``; ``None``: yes.
    Auditors read and never write, whatever roles they were given."""
    if auditor:
        return Refusal(
            "service.auditor", "an auditor reads the service records and changes nothing"
        )
    allowed = STEP_ROLES[step]
    held = roles & allowed
    if not held:
        who = " or ".join(ROLE_LABELS[r] for r in ROLES if r in allowed)
        return Refusal(
            "service.role",
            f"{LABELS[step]} is recorded by {who} of {group}; {username} holds no such "
            "service role there",
        )
    if held == {"technician"} and technician != username:
        return Refusal(
            "service.technician",
            f"dispatched to {technician}, not to {username}"  # after "S-12 is "
            if technician
            else f"not dispatched to {username}",
        )
    return None


def may_grant(*, username: str, group: str, manager: bool, auditor: bool) -> Refusal | None:
    """Whether ``username`` may grant and take away service roles in ``group``: its
    software manager (``manager``) does; ``None``: yes."""
    if auditor:
        return Refusal(
            "service.auditor", "an auditor reads the service records and changes nothing"
        )
    if not manager:
        return Refusal(
            "service.role_grant",
            f"only a software manager of {group} grants and takes away its service roles",
        )
    return None


# -- options ----------------------------------------------------------------------------


class OptionsError(ValueError):
    """An option of the ``[plugin.product_service]`` table is wrong."""


@dataclass(frozen=True)
class Options:
    """The module's settings (``[plugin.product_service]``)."""

    warranty_days: int = 30
    response_hours: int = 24
    verification_working_days: int = 3
    holidays: frozenset[date] = frozenset()
    timezone: str = "UTC"

    @property
    def zone(self) -> tzinfo:
        return UTC if self.timezone == "UTC" else ZoneInfo(self.timezone)


def _whole(raw: Mapping[str, Any], name: str, default: int, least: int) -> int:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise OptionsError(f"option {name!r} must be a whole number ≥ {least}, not {value!r}")
    return value


def parse_options(raw: Mapping[str, Any]) -> Options:
    """The options from the TOML table ``raw``; :class:`OptionsError` naming a bad one."""
    known = {"warranty_days", "response_hours", "verification_working_days", "holidays"}
    known.add("timezone")
    unknown = sorted(set(raw) - known)
    if unknown:
        raise OptionsError(f"unknown option {unknown[0]!r} (known: {', '.join(sorted(known))})")
    holidays = raw.get("holidays", [])
    if not isinstance(holidays, list):
        raise OptionsError("option 'holidays' must be a list of ISO dates such as '2026-10-01'")
    days: set[date] = set()
    for item in holidays:
        if isinstance(item, date) and not isinstance(item, datetime):
            days.add(item)  # a TOML date
            continue
        if not isinstance(item, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
            raise OptionsError(f"option 'holidays': {item!r} is not an ISO date (YYYY-MM-DD)")
        try:
            days.add(date.fromisoformat(item))
        except ValueError:
            raise OptionsError(f"option 'holidays': {item!r} is not a date") from None
    zone = raw.get("timezone", "UTC")
    if not isinstance(zone, str) or not zone:
        raise OptionsError(f"option 'timezone' must be a time zone name, not {zone!r}")
    if zone != "UTC":
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise OptionsError(f"option 'timezone': unknown time zone {zone!r}") from None
    return Options(
        warranty_days=_whole(raw, "warranty_days", 30, 0),
        response_hours=_whole(raw, "response_hours", 24, 1),
        verification_working_days=_whole(raw, "verification_working_days", 3, 1),
        holidays=frozenset(days),
        timezone=zone,
    )


# -- warranty ---------------------------------------------------------------------------


def charge_for(delivered_on: date, reported_on: date, warranty_days: int) -> str:
    """``free`` when reported within ``warranty_days`` of delivery (day 30 of 30 is
    free), ``chargeable`` after."""
    return "free" if (reported_on - delivered_on).days <= warranty_days else "chargeable"


# -- clocks -----------------------------------------------------------------------------


def is_working_day(day: date, holidays: Iterable[date] = ()) -> bool:
    """Monday to Friday, and not a holiday."""
    return day.weekday() < 5 and day not in set(holidays)


def response_due(registered_at: datetime, hours: int) -> datetime:
    """When the first response to a complaint is due."""
    return registered_at + timedelta(hours=hours)


def add_working_days(
    start: datetime, days: int, holidays: Iterable[date] = (), zone: tzinfo = UTC
) -> datetime:
    """The same time of day, ``days`` working days after ``start`` (counted in ``zone``):
    a complaint registered on Friday at 10:00 with 3 working days is due on Wednesday at
    10:00; one registered on Saturday is due on Wednesday too."""
    off = frozenset(holidays)
    local = start.astimezone(zone)
    day, counted = local.date(), 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, off):
            counted += 1
    return datetime.combine(day, local.time(), tzinfo=zone).astimezone(UTC)


def working_days_between(
    start: datetime, end: datetime, holidays: Iterable[date] = (), zone: tzinfo = UTC
) -> int:
    """The working days after the day of ``start`` up to the day of ``end`` (0: the same
    day or only days off in between)."""
    off = frozenset(holidays)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        if is_working_day(day, off):
            count += 1
    return count


@dataclass(frozen=True)
class Clock:
    """One clock of a complaint: which, when due, when done (``None``: not yet), and
    when it stopped without its step (the ticket ended: cancelled, a duplicate, withdrawn
    or closed)."""

    name: str
    due_at: datetime
    done_at: datetime | None
    stopped_at: datetime | None = None

    def _end(self, now: datetime) -> datetime:
        return self.done_at or self.stopped_at or now

    def overdue(self, now: datetime) -> bool:
        """Due, not done, and still running."""
        return self.done_at is None and self.stopped_at is None and now > self.due_at

    def late(self, now: datetime) -> bool:
        """Missed: done (or stopped) after the due time, or still overdue."""
        return self._end(now) > self.due_at

    def late_seconds(self, now: datetime) -> int:
        return max(0, int((self._end(now) - self.due_at).total_seconds()))


def late_text(seconds: int) -> str:
    """``2 d 3 h``, ``5 h 12 min``, ``40 min`` (at least ``1 min``)."""
    minutes = max(1, seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


# -- analysis ---------------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, Any]:
    """Count, mean, median and worst (largest) of ``values`` (``None`` when empty)."""
    if not values:
        return {"count": 0, "mean": None, "median": None, "worst": None}
    return {
        "count": len(values),
        "mean": round(statistics.fmean(values), 2),
        "median": round(statistics.median(values), 2),
        "worst": round(max(values), 2),
    }


def hours(start: datetime, end: datetime | None) -> float | None:
    """Hours from ``start`` to ``end`` (``None`` when not there)."""
    return None if end is None else round((end - start).total_seconds() / 3600, 2)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
