"""Service tickets: registration, the steps of their life, lists and the record.

Every change is one transaction with its row in the ticket's record
(``service_ticket_events``) and its audit record ``service.ticket.<step>``. Refusals
raise the core's errors: 400 naming the field, 403 for a pipeline token, 404 for a
ticket or version the caller may not see (as if it did not exist), 409 for a step out
of order, saying what must come first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo_server.plugin_api import (
    EVERYTHING,
    Caller,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    Page,
    PageRequest,
    PluginContext,
    fetch,
)
from repo_server.plugins.product_service import rules
from repo_server.plugins.product_service.fields import (
    EMAIL,
    PHONE,
    USERNAME,
    choice,
    date_field,
    score_field,
    text_field,
)
from repo_server.plugins.product_service.models import Ticket, TicketEvent
from repo_server.plugins.product_service.rules import Options
from repo_server.plugins.product_service.tickets import overdue_clause, ticket_json

# -- the service --------------------------------------------------------------------------


class ServiceDesk:
    """Registers tickets and records their steps (the API and the pages call this)."""

    def __init__(self, context: PluginContext, options: Options) -> None:
        self.context = context
        self.options = options

    # -- registering --------------------------------------------------------------------

    def register(self, caller: Caller, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Register a ticket against a version the caller can see."""
        self._person(caller)
        names = [text_field(fields, n, limit=100) for n in ("group", "product", "version")]
        facts = self.context.version(caller, *names)
        kind = choice(fields, "kind", rules.KINDS)
        channel = choice(fields, "channel", rules.CHANNELS)
        customer = text_field(fields, "customer")
        contact = text_field(fields, "contact")
        phone = text_field(fields, "contact_phone", limit=64, required=False)
        email = text_field(fields, "contact_email", required=False)
        if phone and not PHONE.match(phone):
            raise InvalidRequest(
                f"field 'contact_phone': {phone!r} is not a phone number", field="contact_phone"
            )
        if email and not EMAIL.match(email):
            raise InvalidRequest(
                f"field 'contact_email': {email!r} is not an e-mail address", field="contact_email"
            )
        if not phone and not email:
            raise InvalidRequest(
                "give the contact's phone ('contact_phone') or e-mail ('contact_email')",
                field="contact_phone",
            )
        description = text_field(fields, "description", limit=10000)
        now = self.context.now()
        zone = self.options.zone
        today = now.astimezone(zone).date()
        delivered = date_field(fields, "delivered_on")
        if delivered is None:
            if facts.checked_in_at is None:
                raise InvalidRequest(
                    f"missing field 'delivered_on': {facts.ref} has not been checked in, "
                    "so the date it was delivered to this customer must be given",
                    field="delivered_on",
                )
            delivered = facts.checked_in_at.astimezone(zone).date()
        if delivered > today:
            raise InvalidRequest(
                f"field 'delivered_on' ({delivered.isoformat()}) is after today",
                field="delivered_on",
            )
        ticket = Ticket(
            group_name=facts.group,
            product=facts.product,
            version=facts.version,
            kind=kind,
            channel=channel,
            customer=customer,
            contact_name=contact,
            contact_phone=phone,
            contact_email=email,
            description=description,
            delivered_on=delivered,
            charge=rules.charge_for(delivered, today, self.options.warranty_days),
            status="registered",
            registered_by=caller.username,
            registered_at=now,
            updated_at=now,
        )
        if kind == "complaint":
            ticket.response_due_at = rules.response_due(now, self.options.response_hours)
            ticket.verification_due_at = rules.add_working_days(
                now, self.options.verification_working_days, self.options.holidays, zone
            )
        with self.context.write() as session:
            session.add(ticket)
            session.flush()
            details = {
                "kind": kind,
                "channel": channel,
                "customer": customer,
                "contact": contact,
                "delivered_on": delivered.isoformat(),
                "charge": ticket.charge,
                "warranty_days": self.options.warranty_days,
            }
            text = f"{kind} registered ({channel}) for {customer}, {ticket.charge}"
            self._record(session, caller, ticket, "register", text, details, now)
            return ticket_json(ticket, now, record=True)

    # -- the steps ----------------------------------------------------------------------

    def step(
        self, caller: Caller, number: int, step: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Do ``step`` on ticket ``number`` with the step's ``fields``."""
        if step not in rules.ALLOWED_FROM:
            raise NotFound(f"no step {step!r} (steps: {', '.join(rules.ALLOWED_FROM)})")
        with self.context.write() as session:
            ticket = self._ticket(session, caller, number, lock=True)
            self._person(caller)
            refusal = rules.step_refusal(ticket.status, step)
            if refusal:
                raise Conflict(f"cannot record {rules.LABELS[step]} on {ticket.number}: {refusal}")
            now = self.context.now()
            text, details = getattr(self, f"_{step}")(ticket, fields, now)
            ticket.status = rules.STATUS_AFTER[step]
            ticket.updated_at = now
            self._record(session, caller, ticket, step, text, details, now)
            session.flush()
            return ticket_json(ticket, now, record=True)

    def _respond(
        self, t: Ticket, f: Mapping[str, Any], now: datetime
    ) -> tuple[str, dict[str, Any]]:
        note = text_field(f, "note", limit=5000, required=False)
        t.responded_at = now
        return "first response to the customer" + (f": {note}" if note else ""), {"note": note}

    def _assess(self, t: Ticket, f: Mapping[str, Any], now: datetime) -> tuple[str, dict[str, Any]]:
        nature = choice(f, "nature", rules.NATURES)
        severity = choice(f, "severity", rules.SEVERITIES)
        problem = text_field(f, "problem")
        note = text_field(f, "note", limit=5000, required=False)
        t.nature, t.severity, t.problem, t.assessed_at = nature, severity, problem, now
        details = {"nature": nature, "severity": severity, "problem": problem, "note": note}
        text = f"assessed: {nature}, {severity}: {problem}" + (f" ({note})" if note else "")
        return text, details

    def _dispatch(
        self, t: Ticket, f: Mapping[str, Any], now: datetime
    ) -> tuple[str, dict[str, Any]]:
        technician = text_field(f, "technician", limit=64)
        if not USERNAME.match(technician) or not self.context.person_exists(technician):
            raise InvalidRequest(
                f"field 'technician': {technician!r} is not an active Depot account",
                field="technician",
            )
        before, t.technician = t.technician, technician
        text = f"dispatched to {technician}" + (f" (was {before})" if before else "")
        return text, {"technician": technician, "previous": before}

    def _service(
        self, t: Ticket, f: Mapping[str, Any], now: datetime
    ) -> tuple[str, dict[str, Any]]:
        note = text_field(f, "note", limit=10000)
        return f"service: {note}", {"note": note}

    def _complete(
        self, t: Ticket, f: Mapping[str, Any], now: datetime
    ) -> tuple[str, dict[str, Any]]:
        confirmed_by = text_field(f, "confirmed_by")
        note = text_field(f, "note", limit=5000, required=False)
        t.confirmed_by, t.completed_at = confirmed_by, now
        text = f"completion confirmed by {confirmed_by}" + (f": {note}" if note else "")
        return text, {"confirmed_by": confirmed_by, "note": note}

    def _survey(self, t: Ticket, f: Mapping[str, Any], now: datetime) -> tuple[str, dict[str, Any]]:
        score = score_field(f)
        comment = text_field(f, "comment", limit=5000, required=False)
        t.satisfaction, t.survey_comment = score, comment
        text = f"satisfaction {score}/5" + (f": {comment}" if comment else "")
        return text, {"score": score, "comment": comment}

    def _follow_up(
        self, t: Ticket, f: Mapping[str, Any], now: datetime
    ) -> tuple[str, dict[str, Any]]:
        note = text_field(f, "note", limit=10000)
        t.followed_up_at = now
        return f"follow-up visit: {note}", {"note": note}

    def _close(self, t: Ticket, f: Mapping[str, Any], now: datetime) -> tuple[str, dict[str, Any]]:
        note = text_field(f, "note", limit=5000, required=False)
        t.closed_at = now
        return "closed" + (f": {note}" if note else ""), {"note": note}

    # -- reading ------------------------------------------------------------------------

    def get(self, caller: Caller, number: int) -> dict[str, Any]:
        """One ticket with its full record."""
        with self.context.read() as session:
            ticket = self._ticket(session, caller, number)
            return ticket_json(ticket, self.context.now(), record=True)

    def list(
        self,
        caller: Caller,
        *,
        group: str | None = None,
        product: str | None = None,
        version: str | None = None,
        kind: str | None = None,
        open_only: bool = False,
        overdue_only: bool = False,
        page: PageRequest = EVERYTHING,
    ) -> Page[dict[str, Any]]:
        """A page of the tickets of the groups the caller sees, newest first (only the
        overdue ones with ``overdue_only``)."""
        if kind is not None and kind not in rules.KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(rules.KINDS)}", field="kind")
        now = self.context.now()
        with self.context.read() as session:
            query = self._visible(caller, sa.select(Ticket))
            if group is not None:
                query = query.where(Ticket.group_name == group)
            if product is not None:
                query = query.where(Ticket.product == product)
            if version is not None:
                query = query.where(Ticket.version == version)
            if kind is not None:
                query = query.where(Ticket.kind == kind)
            if open_only:
                query = query.where(Ticket.status != "closed")
            if overdue_only:
                query = query.where(overdue_clause(now))
            filters = [group, product, version, kind, open_only, overdue_only]
            rows = fetch(
                session,
                query,
                (Ticket.id,),
                page,
                scope=json.dumps(["service.tickets", *filters]),
                key=lambda ticket: (ticket.id,),
                descending=True,
                scalars=True,
            )
            return rows.map(lambda ticket: ticket_json(ticket, now))

    def version_counts(
        self, caller: Caller, group: str, product: str, version: str
    ) -> dict[str, int]:
        """Open and overdue tickets of one version (for its page's panel)."""
        if not caller.can_see(group):
            return {"open": 0, "overdue": 0, "total": 0}
        now = self.context.now()
        of_version = sa.and_(
            Ticket.group_name == group, Ticket.product == product, Ticket.version == version
        )
        count = sa.select(sa.func.count(Ticket.id)).where(of_version)
        with self.context.read() as session:
            return {
                "total": session.scalar(count) or 0,
                "open": session.scalar(count.where(Ticket.status != "closed")) or 0,
                "overdue": session.scalar(count.where(overdue_clause(now))) or 0,
            }

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _visible(caller: Caller, query: Any) -> Any:
        groups = caller.visible_groups
        return query if groups is None else query.where(Ticket.group_name.in_(sorted(groups)))

    def _ticket(
        self, session: Session, caller: Caller, number: int, *, lock: bool = False
    ) -> Ticket:
        query = sa.select(Ticket).where(Ticket.id == number)
        if lock:
            query = query.with_for_update()
        ticket = session.scalars(query).first()
        if ticket is None or not caller.can_see(ticket.group_name):
            raise NotFound(f"ticket S-{number} not found")
        return ticket

    @staticmethod
    def _person(caller: Caller) -> None:
        if caller.is_pipeline:
            raise Forbidden(
                "service tickets are registered and worked by people, not with a group token",
                rule="service.people_only",
            )

    def _record(
        self,
        session: Session,
        caller: Caller,
        ticket: Ticket,
        step: str,
        text: str,
        details: dict[str, Any],
        now: datetime,
    ) -> None:
        ticket.events.append(
            TicketEvent(
                at=now,
                actor=caller.username,
                step=step,
                text=text,
                details=json.dumps(details, ensure_ascii=False, sort_keys=True),
            )
        )
        self.context.record(
            session,
            caller,
            f"service.ticket.{step}",
            target=ticket.ref,
            group=ticket.group_name,
            details={"ticket": ticket.number, **details},
        )
