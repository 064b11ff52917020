"""A ticket as the API and the pages show it: its clocks, what is overdue, its record;
and the query for overdue complaints."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from repo_server.plugin_api import iso
from repo_server.plugins.product_service import rules
from repo_server.plugins.product_service.models import Ticket


def clocks(ticket: Ticket) -> list[rules.Clock]:
    """The clocks of a complaint (none for a service ticket)."""
    found = []
    if ticket.response_due_at is not None:
        found.append(
            rules.Clock("response", ticket.response_due_at, ticket.responded_at, ticket.stopped_at)
        )
    if ticket.verification_due_at is not None:
        found.append(
            rules.Clock(
                "verification", ticket.verification_due_at, ticket.assessed_at, ticket.stopped_at
            )
        )
    return found


def overdue(ticket: Ticket, now: datetime) -> list[dict[str, Any]]:
    """The clocks of ``ticket`` that ran out without their step."""
    return [
        {
            "clock": clock.name,
            "due_at": iso(clock.due_at),
            "late_seconds": clock.late_seconds(now),
            "late": rules.late_text(clock.late_seconds(now)) + " late",
        }
        for clock in clocks(ticket)
        if clock.overdue(now)
    ]


def ticket_json(
    ticket: Ticket, now: datetime, *, record: bool = False, duplicates: list[str] | None = None
) -> dict[str, Any]:
    """A ticket as the API answers it (with its full record and the tickets marked as
    its duplicates when ``record``)."""
    late = overdue(ticket, now)
    info: dict[str, Any] = {
        "number": ticket.number,
        "id": ticket.id,
        "ref": ticket.ref,
        "group": ticket.group_name,
        "product": ticket.product,
        "version": ticket.version,
        "kind": ticket.kind,
        "channel": ticket.channel,
        "customer": ticket.customer,
        "customer_id": None if ticket.customer_id is None else f"C-{ticket.customer_id}",
        "warranty_days": ticket.warranty_days,
        "warranty_source": ticket.warranty_source,
        "contact": {
            "name": ticket.contact_name,
            "phone": ticket.contact_phone,
            "email": ticket.contact_email,
        },
        "description": ticket.description,
        "delivered_on": ticket.delivered_on.isoformat(),
        "charge": ticket.charge,
        "status": ticket.status,
        "open": ticket.status not in rules.ENDED,
        "registered_by": ticket.registered_by,
        "registered_at": iso(ticket.registered_at),
        "response_due_at": iso(ticket.response_due_at),
        "responded_at": iso(ticket.responded_at),
        "verification_due_at": iso(ticket.verification_due_at),
        "assessed_at": iso(ticket.assessed_at),
        "nature": ticket.nature,
        "severity": ticket.severity,
        "problem": ticket.problem,
        "technician": ticket.technician,
        "completed_at": iso(ticket.completed_at),
        "confirmed_by": ticket.confirmed_by,
        "satisfaction": ticket.satisfaction,
        "survey_comment": ticket.survey_comment,
        "followed_up_at": iso(ticket.followed_up_at),
        "closed_at": iso(ticket.closed_at),
        "ended_at": iso(ticket.ended_at),
        "end_reason": ticket.end_reason,
        "quality_issue": ticket.quality_issue,
        "duplicate_of": None if ticket.duplicate_of_id is None else f"S-{ticket.duplicate_of_id}",
        "escalations": escalations(ticket),
        "is_overdue": bool(late),
        "overdue": late,
        "next_steps": rules.next_steps(ticket.status),
    }
    if record:
        info["duplicates"] = duplicates or []
        info["record"] = [
            {
                "at": iso(e.at),
                "actor": e.actor,
                "step": e.step,
                "text": e.text,
                "details": json.loads(e.details),
            }
            for e in ticket.events
        ]
    return info


def escalations(ticket: Ticket) -> list[dict[str, Any]]:
    """The clocks of ``ticket`` escalated to the supervisors, and to whom (its record)."""
    to: dict[str, list[str]] = {}
    for event in ticket.events:
        if event.step == "escalate":
            details = json.loads(event.details)
            to[details["clock"]] = details["supervisors"]
    found = [
        ("response", ticket.response_escalated_at),
        ("verification", ticket.verification_escalated_at),
    ]
    return [
        {"clock": name, "at": iso(at), "to": to.get(name, [])}
        for name, at in found
        if at is not None
    ]


def escalation_due_clause(now: datetime) -> Any:
    """Open complaints with a clock run out that was not escalated yet."""
    return sa.and_(
        Ticket.kind == "complaint",
        Ticket.status.in_(rules.OPEN_STATUSES),
        sa.or_(
            sa.and_(
                Ticket.responded_at.is_(None),
                Ticket.response_due_at < now,
                Ticket.response_escalated_at.is_(None),
            ),
            sa.and_(
                Ticket.assessed_at.is_(None),
                Ticket.verification_due_at < now,
                Ticket.verification_escalated_at.is_(None),
            ),
        ),
    )


def escalated_clause() -> Any:
    """Open tickets with a clock escalated to the supervisors."""
    return sa.and_(
        Ticket.status.in_(rules.OPEN_STATUSES),
        sa.or_(
            Ticket.response_escalated_at.is_not(None),
            Ticket.verification_escalated_at.is_not(None),
        ),
    )


def overdue_clause(now: datetime) -> Any:
    """Complaints whose first response or first verification is overdue at ``now``."""
    return sa.and_(
        Ticket.kind == "complaint",
        Ticket.status.in_(rules.OPEN_STATUSES),
        sa.or_(
            sa.and_(Ticket.responded_at.is_(None), Ticket.response_due_at < now),
            sa.and_(Ticket.assessed_at.is_(None), Ticket.verification_due_at < now),
        ),
    )
