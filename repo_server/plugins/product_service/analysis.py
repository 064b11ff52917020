"""The periodic analysis of service cases per product and version (投诉记录与分析):
counts, first-response times, verification working days, overdue shares, completion
times, satisfaction and the most frequent problems; and a CSV export, one row per ticket.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from repo_server.plugin_api import Caller, NotFound, PluginContext, iso
from repo_server.plugins.product_service import rules
from repo_server.plugins.product_service.fields import text_field
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


class Analysis:
    """Figures over the tickets of one product (or one version of it)."""

    def __init__(self, context: PluginContext, options: Options) -> None:
        self.context = context
        self.options = options

    def scope(self, caller: Caller, fields: dict[str, Any]) -> tuple[str, str, str | None]:
        """The product (and version) asked for, if the caller may see them; 404 otherwise."""
        group = text_field(fields, "group", limit=100)
        product = text_field(fields, "product", limit=100)
        version = text_field(fields, "version", limit=100, required=False) or None
        if caller.can_see(group):
            if version is not None:
                self.context.version(caller, group, product, version)
            else:
                self.context.product(caller, group, product)
            return group, product, version
        # A holder of a service role in the group, who is no member: the product is
        # known by its tickets, the version by the server's lookup.
        with self.context.read() as session:
            if not service_roles(session, caller.username, group):
                raise NotFound(f"group {group!r} not found")
            known = session.scalar(
                sa.select(Ticket.id).where(Ticket.group_name == group, Ticket.product == product)
            )
        if version is not None:
            if not self.context.versions_by_name([(group, product, version)]):
                raise NotFound(f"version {group}/{product}@{version} not found")
        elif known is None:
            raise NotFound(f"product {group}/{product} not found")
        return group, product, version

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

    def _tickets(self, group: str, product: str, version: str | None) -> Iterator[Ticket]:
        query = sa.select(Ticket).where(Ticket.group_name == group, Ticket.product == product)
        if version is not None:
            query = query.where(Ticket.version == version)
        with self.context.read() as session:
            yield from session.scalars(query.order_by(Ticket.id).execution_options(yield_per=500))

    def report(self, caller: Caller, fields: dict[str, Any]) -> dict[str, Any]:
        """The analysis of one product (or version)."""
        group, product, version = self.scope(caller, fields)
        now = self.context.now()
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
        for ticket in self._tickets(group, product, version):
            registered += 1
            statuses[ticket.status] += 1
            if ticket.status in rules.NOT_A_CASE:
                continue  # registered in error, or the same case as another ticket
            m = self.measures(ticket, now)
            kinds[ticket.kind] += 1
            channels[ticket.channel] += 1
            charges[ticket.charge] += 1
            versions[ticket.version] += 1
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
            "group": group,
            "product": product,
            "version": version,
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
        group, product, version = self.scope(caller, fields)
        name = f"service-{group}-{product}" + (f"-{version}" if version else "")
        name = re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".csv"
        return name, self._lines(group, product, version)

    def _lines(self, group: str, product: str, version: str | None) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")

        def line(cells: list[Any]) -> str:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([rules.safe_cell(_cell(c)) for c in cells])
            return buffer.getvalue()

        yield line(list(CSV_COLUMNS))
        now = self.context.now()
        for ticket in self._tickets(group, product, version):
            m = self.measures(ticket, now)
            yield line([m[c] for c in CSV_COLUMNS])


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value
