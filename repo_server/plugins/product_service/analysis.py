"""The periodic analysis of service cases per product and version (投诉记录与分析):
counts, first-response times, verification working days, overdue shares, completion
times, satisfaction and the most frequent problems; and a CSV export, one row per ticket.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from repo_server.plugin_api import Caller, InvalidRequest, NotFound, PluginContext, iso
from repo_server.plugins.product_service import rules
from repo_server.plugins.product_service.fields import date_field, text_field
from repo_server.plugins.product_service.models import Ticket
from repo_server.plugins.product_service.rules import Options
from repo_server.plugins.product_service.services import service_roles
from repo_server.plugins.product_service.tickets import clocks

CSV_COLUMNS = (
    "number",
    "group",
    "product",
    "version",
    "kind",
    "channel",
    "customer",
    "charge",
    "status",
    "registered_at",
    "first_response_hours",
    "response_late",
    "verification_working_days",
    "verification_late",
    "overdue_now",
    "nature",
    "severity",
    "problem",
    "technician",
    "completion_hours",
    "satisfaction",
    "duplicate_of",
    "end_reason",
)


@dataclass(frozen=True)
class Scope:
    """What the analysis covers: a group, or one product (or version) of it, and the
    tickets registered from ``since`` to ``until`` (days, both included)."""

    group: str
    product: str | None
    version: str | None
    since: date | None
    until: date | None


class Analysis:
    """Figures over the tickets of one product (or one version of it)."""

    def __init__(self, context: PluginContext, options: Options) -> None:
        self.context = context
        self.options = options

    def scope(self, caller: Caller, fields: dict[str, Any]) -> Scope:
        """The group, product (or version) and period asked for, if the caller may see
        them; 404 otherwise, 400 naming a bad field."""
        group = text_field(fields, "group", limit=100)
        product = text_field(fields, "product", limit=100, required=False) or None
        version = text_field(fields, "version", limit=100, required=False) or None
        since, until = date_field(fields, "since"), date_field(fields, "until")
        if version is not None and product is None:
            raise InvalidRequest("a version needs its product ('product')", field="product")
        if since is not None and until is not None and until < since:
            raise InvalidRequest(
                f"field 'until' ({until.isoformat()}) is before 'since' ({since.isoformat()})",
                field="until",
            )
        scope = Scope(group, product, version, since, until)
        if caller.can_see(group):
            if version is not None and product is not None:
                self.context.version(caller, group, product, version)
            elif product is not None:
                self.context.product(caller, group, product)
            return scope
        # A holder of a service role in the group, who is no member: the product is
        # known by its tickets, the version by the server's lookup.
        with self.context.read() as session:
            if not service_roles(session, caller.username, group):
                raise NotFound(f"group {group!r} not found")
            known = session.scalar(
                sa.select(Ticket.id).where(Ticket.group_name == group, Ticket.product == product)
            )
        if version is not None and product is not None:
            if not self.context.versions_by_name([(group, product, version)]):
                raise NotFound(f"version {group}/{product}@{version} not found")
        elif product is not None and known is None:
            raise NotFound(f"product {group}/{product} not found")
        return scope

    def measures(self, ticket: Ticket, now: datetime) -> dict[str, Any]:
        """One ticket's figures (the CSV row and what the report sums)."""
        by_name = {c.name: c for c in clocks(ticket)}
        response, verification = by_name.get("response"), by_name.get("verification")
        verified = (
            None
            if ticket.assessed_at is None
            else rules.working_days_between(
                ticket.registered_at,
                ticket.assessed_at,
                self.options.holidays,
                self.options.zone,
            )
        )
        return {
            "number": ticket.number,
            "group": ticket.group_name,
            "product": ticket.product,
            "version": ticket.version,
            "kind": ticket.kind,
            "channel": ticket.channel,
            "customer": ticket.customer,
            "charge": ticket.charge,
            "status": ticket.status,
            "registered_at": iso(ticket.registered_at),
            "first_response_hours": rules.hours(ticket.registered_at, ticket.responded_at),
            "response_late": None if response is None else response.late(now),
            "verification_working_days": verified,
            "verification_late": None if verification is None else verification.late(now),
            "overdue_now": any(c.overdue(now) for c in clocks(ticket)),
            "nature": ticket.nature,
            "severity": ticket.severity,
            "problem": ticket.problem,
            "technician": ticket.technician,
            "completion_hours": rules.hours(ticket.registered_at, ticket.completed_at),
            "satisfaction": ticket.satisfaction,
            "duplicate_of": None
            if ticket.duplicate_of_id is None
            else f"S-{ticket.duplicate_of_id}",
            "end_reason": ticket.end_reason,
        }

    def _tickets(self, scope: Scope, *, events: bool = False) -> Iterator[Ticket]:
        query = sa.select(Ticket).where(Ticket.group_name == scope.group)
        if scope.product is not None:
            query = query.where(Ticket.product == scope.product)
        if scope.version is not None:
            query = query.where(Ticket.version == scope.version)
        zone = self.options.zone
        if scope.since is not None:
            start = datetime.combine(scope.since, time(), tzinfo=zone)
            query = query.where(Ticket.registered_at >= start)
        if scope.until is not None:
            end = datetime.combine(scope.until + timedelta(days=1), time(), tzinfo=zone)
            query = query.where(Ticket.registered_at < end)
        if events:
            query = query.options(selectinload(Ticket.events))
        with self.context.read() as session:
            yield from session.scalars(query.order_by(Ticket.id).execution_options(yield_per=500))

    def report(self, caller: Caller, fields: dict[str, Any]) -> dict[str, Any]:
        """The analysis of one product (or version)."""
        scope = self.scope(caller, fields)
        now = self.context.now()
        products: Counter[str] = Counter()
        technicians: dict[str, dict[str, Any]] = {}
        kinds: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        channels: Counter[str] = Counter()
        charges: Counter[str] = Counter()
        versions: Counter[str] = Counter()
        problems: Counter[str] = Counter()
        natures: dict[str, Counter[str]] = {}
        spelled: dict[str, str] = {}
        response: list[float] = []
        verification: list[float] = []
        completion: list[float] = []
        scores: list[int] = []
        complaints = late = overdue_now = registered = 0
        for ticket in self._tickets(scope, events=True):
            registered += 1
            statuses[ticket.status] += 1
            if ticket.status in rules.NOT_A_CASE:
                continue  # registered in error, or the same case as another ticket
            m = self.measures(ticket, now)
            kinds[ticket.kind] += 1
            channels[ticket.channel] += 1
            charges[ticket.charge] += 1
            versions[ticket.version] += 1
            products[ticket.product] += 1
            if ticket.technician:
                _count_technician(technicians.setdefault(ticket.technician, {}), ticket)
            if m["first_response_hours"] is not None:
                response.append(m["first_response_hours"])
            if m["verification_working_days"] is not None:
                verification.append(m["verification_working_days"])
            if m["completion_hours"] is not None:
                completion.append(m["completion_hours"])
            if ticket.satisfaction is not None:
                scores.append(ticket.satisfaction)
            if ticket.kind == "complaint":
                complaints += 1
                late += bool(m["response_late"] or m["verification_late"])
                overdue_now += bool(m["overdue_now"])
            if ticket.problem:
                key = " ".join(ticket.problem.split()).casefold()
                spelled.setdefault(key, ticket.problem)
                problems[key] += 1
                natures.setdefault(key, Counter())[ticket.nature or "other"] += 1
        total = sum(kinds.values())
        top = sorted(problems.items(), key=lambda item: (-item[1], item[0]))[:10]
        return {
            "group": scope.group,
            "product": scope.product,
            "version": scope.version,
            "since": None if scope.since is None else scope.since.isoformat(),
            "until": None if scope.until is None else scope.until.isoformat(),
            "at": iso(now),
            "tickets": registered,
            "cases": total,
            "ended": {
                rules.STATUS_AFTER[e]: statuses[rules.STATUS_AFTER[e]] for e in rules.ENDINGS
            },
            "by_kind": {k: kinds[k] for k in rules.KINDS},
            "by_status": {s: statuses[s] for s in rules.STATUSES if statuses[s]},
            "by_channel": {c: channels[c] for c in rules.CHANNELS},
            "by_charge": {c: charges[c] for c in rules.CHARGES},
            "by_version": dict(sorted(versions.items())),
            "by_product": dict(sorted(products.items())),
            "by_technician": {
                name: _technician_figures(figures) for name, figures in sorted(technicians.items())
            },
            "first_response_hours": rules.summary(response),
            "verification_working_days": rules.summary(verification),
            "completion_hours": rules.summary(completion),
            "complaints": {
                "count": complaints,
                "overdue_now": overdue_now,
                "late": late,
                "share_late": round(late / complaints, 3) if complaints else None,
            },
            "satisfaction": {
                "count": len(scores),
                "mean": round(sum(scores) / len(scores), 2) if scores else None,
                "distribution": {str(n): scores.count(n) for n in range(1, 6)},
            },
            "top_problems": [
                {
                    "problem": spelled[key],
                    "count": count,
                    "nature": natures[key].most_common(1)[0][0],
                    "natures": dict(natures[key]),
                }
                for key, count in top
            ],
        }

    def csv(self, caller: Caller, fields: dict[str, Any]) -> tuple[str, Iterator[str]]:
        """A file name and the CSV lines (streamed), one row per ticket; cells that a
        spreadsheet would run as a formula are prefixed with ``'``. The scope is checked
        before the first line."""
        scope = self.scope(caller, fields)
        parts = [scope.group, scope.product, scope.version]
        name = "service-" + "-".join(p for p in parts if p)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".csv"
        return name, self._lines(scope)

    def _lines(self, scope: Scope) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")

        def line(cells: list[Any]) -> str:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([rules.safe_cell(_cell(c)) for c in cells])
            return buffer.getvalue()

        yield line(list(CSV_COLUMNS))
        now = self.context.now()
        for ticket in self._tickets(scope):
            m = self.measures(ticket, now)
            yield line([m[c] for c in CSV_COLUMNS])


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _count_technician(figures: dict[str, Any], ticket: Ticket) -> None:
    """Add ``ticket`` to its technician's figures: the response (from the dispatch to
    them to their first service work), the resolution (from registration to the
    completion) and the satisfaction."""
    figures.setdefault("tickets", 0)
    figures.setdefault("completed", 0)
    for key in ("response", "resolution", "scores"):
        figures.setdefault(key, [])
    figures["tickets"] += 1
    dispatched = None
    for event in ticket.events:
        to = json.loads(event.details).get("technician") if event.step == "dispatch" else None
        if to is not None and to == ticket.technician:
            dispatched = event.at
        elif event.step == "service" and dispatched is not None:
            figures["response"].append(rules.hours(dispatched, event.at))
            dispatched = None
            break
    if ticket.completed_at is not None:
        figures["completed"] += 1
        figures["resolution"].append(rules.hours(ticket.registered_at, ticket.completed_at))
    if ticket.satisfaction is not None:
        figures["scores"].append(ticket.satisfaction)


def _technician_figures(figures: dict[str, Any]) -> dict[str, Any]:
    scores = figures["scores"]
    return {
        "tickets": figures["tickets"],
        "completed": figures["completed"],
        "response_hours": rules.summary(figures["response"]),
        "resolution_hours": rules.summary(figures["resolution"]),
        "satisfaction": {
            "count": len(scores),
            "mean": round(sum(scores) / len(scores), 2) if scores else None,
        },
    }
