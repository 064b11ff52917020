"""The quality module's rules, pure: who may do what to an issue, which transitions are
allowed, end of support, input checks and trends. No I/O; the time is passed in.

The services ask these functions and raise what they answer; every answer is a
:class:`Verdict` (allowed, or the HTTP kind of refusal and a message for people).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

QUALITY_MANAGER = "quality_manager"
VERSION_MANAGER = "version_manager"
SOFTWARE_MANAGER = "software_manager"
AUDITOR = "auditor"

CLASSES = ("general", "serious")
CLASS_NAMES = {"general": "general (一般)", "serious": "serious (严重)"}
#: ``product``: not caused by use or maintenance (the issue is confirmed);
#: ``use``/``maintenance``: the issue is dismissed.
CAUSES = ("product", "use", "maintenance")
DISMISS_CAUSES = ("use", "maintenance")
STATUSES = ("open", "confirmed", "dismissed", "closed")
SUPPLIER_STATUSES = ("active", "suspended")
SCORES = range(1, 6)

SERIOUS_RULE = "quality.serious_issue"
END_OF_SUPPORT_RULE = "quality.end_of_support"

#: The largest issue id (the database's integer column): a larger number names no issue.
MAX_ID = 2**31 - 1
_NUMBER = re.compile(r"^(?:[Qq]-)?([1-9][0-9]{0,17})$")
_PERIOD = re.compile(r"^[0-9]{4}-(?:H[12]|Q[1-4]|(?:0[1-9]|1[0-2]))$|^[0-9]{4}$")


@dataclass(frozen=True)
class Who:
    """The facts about a caller that the rules need."""

    username: str
    global_roles: frozenset[str]
    groups: Mapping[str, frozenset[str]]
    is_pipeline: bool = False

    def has(self, role: str) -> bool:
        return role in self.global_roles and not self.is_pipeline

    def software_manager_of(self, group: str) -> bool:
        return not self.is_pipeline and SOFTWARE_MANAGER in self.groups.get(group, frozenset())


@dataclass(frozen=True)
class Verdict:
    """A rule's answer: ``kind`` is ``ok``, ``forbidden`` (403) or ``conflict`` (409)."""

    kind: str = "ok"
    message: str = ""

    @property
    def allowed(self) -> bool:
        return self.kind == "ok"


OK = Verdict()


def forbidden(message: str) -> Verdict:
    return Verdict("forbidden", message)


def conflict(message: str) -> Verdict:
    return Verdict("conflict", message)


def _need_quality_manager(who: Who, what: str) -> Verdict:
    if who.has(QUALITY_MANAGER):
        return OK
    return forbidden(f"only a quality manager ({QUALITY_MANAGER}) may {what}")


# -- issues ------------------------------------------------------------------------------


def may_report(who: Who) -> Verdict:
    """A person who can see the version reports; a pipeline token does not."""
    if who.is_pipeline:
        return forbidden("a pipeline token cannot report a quality issue: a person reports it")
    return OK


def may_classify(who: Who, status: str, current: str, wanted: str) -> Verdict:
    refusal = _need_quality_manager(who, "classify a quality issue")
    if not refusal.allowed:
        return refusal
    if status != "open":
        return conflict(f"the issue is {status}: only an open issue can be reclassified")
    if current == wanted:
        return conflict(f"the issue is already {wanted}")
    return OK


def may_decide(who: Who, status: str, issue_class: str) -> Verdict:
    """Confirm or dismiss: the quality manager, on an open serious issue."""
    refusal = _need_quality_manager(who, "decide how a serious quality issue is handled")
    if not refusal.allowed:
        return refusal
    if issue_class != "serious":
        return conflict("only a serious issue is confirmed or dismissed; close a general issue")
    if status != "open":
        return conflict(f"the issue is already {status}")
    return OK


def may_handle(who: Who, status: str) -> Verdict:
    refusal = _need_quality_manager(who, "record how a quality issue is handled")
    if not refusal.allowed:
        return refusal
    if status == "closed":
        return conflict("the issue is closed")
    return OK


def may_lift(who: Who, active_quarantines: int) -> Verdict:
    refusal = _need_quality_manager(who, "lift a quarantine")
    if not refusal.allowed:
        return refusal
    if active_quarantines == 0:
        return conflict("the issue has no active quarantine to lift")
    return OK


def may_close(who: Who, status: str, issue_class: str, group: str) -> Verdict:
    """A serious issue: the quality manager, once confirmed or dismissed. A general one:
    the quality manager or the group's software manager, while open."""
    if status == "closed":
        return conflict("the issue is already closed")
    if issue_class == "serious":
        refusal = _need_quality_manager(who, "close a serious quality issue")
        if not refusal.allowed:
            return refusal
        if status == "open":
            return conflict("confirm or dismiss the serious issue before closing it")
        return OK
    if who.has(QUALITY_MANAGER) or who.software_manager_of(group):
        return OK
    return forbidden(
        f"only a quality manager or a software manager of {group} may close a general issue"
    )


def may_set_archive(who: Who, group: str) -> Verdict:
    if who.has(QUALITY_MANAGER) or who.has(VERSION_MANAGER) or who.software_manager_of(group):
        return OK
    return forbidden(
        "only a quality manager, a version manager or a software manager of "
        f"{group} may change the quality archive"
    )


def may_read_recall(who: Who) -> Verdict:
    """Who took a batch out names people and addresses: the quality manager, a version
    manager and an auditor read it."""
    if who.has(QUALITY_MANAGER) or who.has(VERSION_MANAGER) or who.has(AUDITOR):
        return OK
    return forbidden(
        "only a quality manager, a version manager or an auditor may read a recall list"
    )


def may_manage_suppliers(who: Who) -> Verdict:
    return _need_quality_manager(who, "change the supplier register")


# -- end of support ----------------------------------------------------------------------


def past_end_of_support(end_of_support: date | None, now: datetime) -> bool:
    """Support ends at the start of ``end_of_support`` (UTC): from that day on, the
    version is past its end of support."""
    return end_of_support is not None and now.date() >= end_of_support


def earliest(*days: date | None) -> date | None:
    """The earliest of the dates given (a version's own end of support, its product's)."""
    known = [d for d in days if d is not None]
    return min(known) if known else None


def withdrawn_reason(end_of_support: date) -> str:
    return (
        f"support of this version ended on {end_of_support.isoformat()}: it is withdrawn "
        "(no check-out, no download) and its retirement is prepared for the version manager"
    )


# -- suppliers ---------------------------------------------------------------------------

SUPPLIER_RULE = "quality.supplier_suspended"
#: How often a supplier is evaluated when the register does not say (months).
EVALUATION_MONTHS = 12


def add_months(start: date, months: int) -> date:
    """``start`` moved on by ``months`` calendar months (the 31st becomes the month's last)."""
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    return date(year, month + 1, min(start.day, calendar.monthrange(year, month + 1)[1]))


def evaluation_due_on(last: datetime | None, created: datetime, months: int | None) -> date:
    """When a supplier's next evaluation is due: ``months`` (default 12) after its last
    one; a supplier never evaluated is due from the day it entered the register."""
    if last is None:
        return created.date()
    return add_months(last.date(), months or EVALUATION_MONTHS)


def suspended_reason(supplier: str) -> str:
    return (
        f"the supplier {supplier} of this purchased product is suspended in the supplier "
        "register: no new check-in of its products (the library's versions stay)"
    )


def serious_reason(numbers: Iterable[str]) -> str:
    listed = ", ".join(sorted(set(numbers), key=lambda n: int(n.split("-")[1])))
    return f"serious quality issue {listed} confirmed: the build batch is quarantined"


# -- input -------------------------------------------------------------------------------


def issue_id(number: str) -> int | None:
    """``Q-17`` (or ``17``) as 17; ``None`` when it is not an issue number."""
    match = _NUMBER.match(number.strip())
    found = int(match.group(1)) if match else None
    return found if found is not None and found <= MAX_ID else None


def parse_date(value: str) -> date | None:
    """``YYYY-MM-DD`` as a date; ``None`` when it is not one."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def valid_period(period: str) -> bool:
    """``2026``, ``2026-H1``, ``2026-Q3`` or ``2026-07``."""
    return bool(_PERIOD.match(period))


def parse_ref(ref: str) -> tuple[str, str, str] | None:
    """``group/product@version`` as its three names; ``None`` when malformed."""
    group, slash, rest = ref.strip().partition("/")
    product, at, version = rest.partition("@")
    if not (slash and at and group and product and version) or "/" in product:
        return None
    return group, product, version


# -- trends ------------------------------------------------------------------------------


def last_months(now: datetime, count: int = 12) -> list[str]:
    """The ``count`` months up to ``now``'s, oldest first, as ``YYYY-MM``."""
    year, month = now.year, now.month
    found: list[str] = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


def trends(reported: Iterable[tuple[datetime, str]], now: datetime) -> list[dict[str, object]]:
    """Issues reported per month by class over the last 12 months, oldest first."""
    months = last_months(now)
    counts = {m: dict.fromkeys(CLASSES, 0) for m in months}
    for at, issue_class in reported:
        key = f"{at.year:04d}-{at.month:02d}"
        if key in counts and issue_class in counts[key]:
            counts[key][issue_class] += 1
    return [{"month": m, **counts[m], "total": sum(counts[m].values())} for m in months]


def first_of_window(now: datetime) -> datetime:
    """The first moment of the oldest month :func:`trends` counts."""
    oldest = last_months(now)[0]
    return now.replace(
        year=int(oldest[:4]),
        month=int(oldest[5:]),
        day=1,
        hour=0,
        minute=0,
        second=0,
        microsecond=0,
    )
