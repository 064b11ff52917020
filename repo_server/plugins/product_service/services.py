"""Service tickets: registration, the steps of their life, lists and the record; and the
service roles granted per group.

Every change is one transaction with its row in the ticket's record
(``service_ticket_events``) and its audit record ``service.ticket.<step>``. Refusals
raise the core's errors: 400 naming the field, 403 for a pipeline token or a step the
caller's service role does not do (audited, with the rule and the group), 404 for a
ticket or version the caller may not see (as if it did not exist), 409 for a step out
of order, saying what must come first.

Who sees a group's tickets: whoever sees the group (its members, the library-wide roles)
and whoever holds a service role in it. Who works them: the holders of a service role
(:data:`rules.STEP_ROLES`); auditors never.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo_server.plugin_api import (
    EVERYTHING,
    N_,
    Caller,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    Page,
    PageRequest,
    PluginContext,
    VersionFacts,
    by_id,
    iso,
)
from repo_server.plugins.product_service import rules
from repo_server.plugins.product_service.fields import (
    EMAIL,
    NUMBER,
    PHONE,
    USERNAME,
    choice,
    date_field,
    score_field,
    text_field,
)
from repo_server.plugins.product_service.models import (
    Customer,
    ProductWarranty,
    ServiceRole,
    Ticket,
    TicketEvent,
)
from repo_server.plugins.product_service.rules import Options, Refusal
from repo_server.plugins.product_service.tickets import (
    clocks,
    escalated_clause,
    escalation_due_clause,
    overdue_clause,
    ticket_json,
)

#: A customer's number in the register.
CUSTOMER = re.compile(r"(?i)^c-?(\d{1,12})$")
#: A quality issue's number in the quality module.
QUALITY_ISSUE = re.compile(r"(?i)^q-(\d{1,12})$")
#: Who records what the server does by itself (escalations) in a ticket's record.
SERVER = "depot"

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
        facts = self._version(caller, *names)
        self._allow(caller, "register", facts.group, target=str(facts.ref))
        kind = choice(fields, "kind", rules.KINDS)
        channel = choice(fields, "channel", rules.CHANNELS)
        customer = text_field(fields, "customer")
        contact = text_field(fields, "contact")
        phone = text_field(fields, "contact_phone", limit=64, required=False)
        email = text_field(fields, "contact_email", required=False)
        if phone and not PHONE.match(phone):
            raise InvalidRequest(
                N_("field 'contact_phone': %(phone)r is not a phone number", phone=phone),
                field="contact_phone",
            )
        if email and not EMAIL.match(email):
            raise InvalidRequest(
                N_("field 'contact_email': %(email)r is not an e-mail address", email=email),
                field="contact_email",
            )
        if not phone and not email:
            raise InvalidRequest(
                N_("give the contact's phone ('contact_phone') or e-mail ('contact_email')"),
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
                    N_(
                        "missing field 'delivered_on': %(ref)s has not been checked in, "
                        "so the date it was delivered to this customer must be given",
                        ref=str(facts.ref),
                    ),
                    field="delivered_on",
                )
            delivered = facts.checked_in_at.astimezone(zone).date()
        if delivered > today:
            raise InvalidRequest(
                N_("field 'delivered_on' (%(day)s) is after today", day=delivered.isoformat()),
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
            charge="free",  # decided below, with the warranty of the contract or product
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
            entry = self._customer_entry(session, caller, facts.group, customer, contact, now)
            entry_fill(entry, contact, phone, email)
            days, source = self._warranty(session, entry, facts.group, facts.product)
            ticket.customer, ticket.customer_id = entry.name, entry.id
            ticket.warranty_days, ticket.warranty_source = days, source
            ticket.charge = rules.charge_for(delivered, today, days)
            session.add(ticket)
            session.flush()
            details = {
                "kind": kind,
                "channel": channel,
                "customer": entry.name,
                "customer_id": entry.number,
                "contact": contact,
                "delivered_on": delivered.isoformat(),
                "charge": ticket.charge,
                "warranty_days": days,
                "warranty_source": source,
            }
            text = f"{kind} registered ({channel}) for {entry.name}, {ticket.charge}"
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
            refused = rules.may_work(
                username=caller.username,
                group=ticket.group_name,
                step=step,
                roles=self._roles(session, caller.username, ticket.group_name),
                auditor=caller.has_role("auditor"),
                technician=ticket.technician,
            )
            if refused is None:
                refusal = rules.step_refusal(ticket.status, step)
                if refusal:
                    raise Conflict(
                        f"cannot record {rules.LABELS[step]} on {ticket.number}: {refusal}"
                    )
                now = self.context.now()
                if step == "duplicate":
                    text, details = self._duplicate(session, caller, ticket, fields, now)
                elif step == "dispatch":
                    text, details = self._dispatch(session, ticket, fields)
                else:
                    text, details = getattr(self, f"_{step}")(ticket, fields, now)
                ticket.status = rules.STATUS_AFTER[step]
                ticket.updated_at = now
                self._record(session, caller, ticket, step, text, details, now)
                session.flush()
                return ticket_json(
                    ticket, now, record=True, duplicates=duplicates_of(session, ticket)
                )
            target, group = ticket.ref, ticket.group_name
        if refused.rule == "service.technician":
            refused = Refusal(refused.rule, f"S-{number} is {refused.reason}")
        self._refuse(
            caller, f"service.ticket.{step}", refused, target, group, {"ticket": f"S-{number}"}
        )

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
        self, session: Session, t: Ticket, f: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        technician = text_field(f, "technician", limit=64)
        if not USERNAME.match(technician) or not self.context.person_exists(technician):
            raise InvalidRequest(
                N_("field 'technician': %(name)r is not an active Depot account", name=technician),
                field="technician",
            )
        if "technician" not in self._roles(session, technician, t.group_name):
            raise InvalidRequest(
                N_(
                    "field 'technician': %(name)s is not a technician of %(group)s "
                    "(the group's software manager grants the role)",
                    name=technician,
                    group=t.group_name,
                ),
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

    def _end(
        self, t: Ticket, f: Mapping[str, Any], now: datetime, text: str
    ) -> tuple[str, dict[str, Any]]:
        reason = text_field(f, "reason", limit=5000)
        details = {"reason": reason, "from": t.status}
        t.ended_at, t.end_reason = now, reason
        return f"{text}: {reason}", details

    def _cancel(self, t: Ticket, f: Mapping[str, Any], now: datetime) -> tuple[str, dict[str, Any]]:
        return self._end(t, f, now, "cancelled")

    def _withdraw(
        self, t: Ticket, f: Mapping[str, Any], now: datetime
    ) -> tuple[str, dict[str, Any]]:
        return self._end(t, f, now, "withdrawn by the customer")

    def _duplicate(
        self, session: Session, caller: Caller, t: Ticket, f: Mapping[str, Any], now: datetime
    ) -> tuple[str, dict[str, Any]]:
        of = text_field(f, "of", limit=20)
        found = NUMBER.match(of)
        other = None
        if found:
            other = session.get(Ticket, int(found.group(1) or found.group(2)))
        if other is None or not self._can_read(session, caller, other.group_name):
            raise InvalidRequest(N_("field 'of': ticket %(of)s not found", of=of), field="of")
        if other.id == t.id:
            raise InvalidRequest(N_("field 'of': a ticket is no duplicate of itself"), field="of")
        if other.duplicate_of_id is not None:
            original = f"S-{other.duplicate_of_id}"
            raise InvalidRequest(
                N_(
                    "field 'of': %(ticket)s is itself a duplicate of %(original)s: "
                    "point at %(original)s",
                    ticket=other.number,
                    original=original,
                ),
                field="of",
            )
        text, details = self._end(t, f, now, f"duplicate of {other.number}")
        t.duplicate_of_id = other.id
        return text, {**details, "of": other.number}

    # -- reading ------------------------------------------------------------------------

    def get(self, caller: Caller, number: int) -> dict[str, Any]:
        """One ticket with its full record."""
        self.escalate()
        with self.context.read() as session:
            ticket = self._ticket(session, caller, number)
            return ticket_json(
                ticket,
                self.context.now(),
                record=True,
                duplicates=duplicates_of(session, ticket),
            )

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
        mine: bool = False,
        escalated: bool = False,
        page: PageRequest = EVERYTHING,
    ) -> Page[dict[str, Any]]:
        """A page of the tickets of the groups the caller sees, newest first (only the
        overdue ones with ``overdue_only``, only those dispatched to the caller with
        ``mine``, only open ones escalated to the supervisors with ``escalated``)."""
        if kind is not None and kind not in rules.KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(rules.KINDS)}", field="kind")
        now = self.escalate()
        with self.context.read() as session:
            query = self._visible(session, caller, sa.select(Ticket))
            if group is not None:
                query = query.where(Ticket.group_name == group)
            if product is not None:
                query = query.where(Ticket.product == product)
            if version is not None:
                query = query.where(Ticket.version == version)
            if kind is not None:
                query = query.where(Ticket.kind == kind)
            if open_only:
                query = query.where(Ticket.status.in_(rules.OPEN_STATUSES))
            if overdue_only:
                query = query.where(overdue_clause(now))
            if mine:
                query = query.where(Ticket.technician == caller.username)
            if escalated:
                query = query.where(escalated_clause())
            filters = [group, product, version, kind, open_only, overdue_only, mine, escalated]
            rows = by_id(
                session,
                query,
                Ticket.id,
                page,
                scope=json.dumps(["service.tickets", *filters]),
                newest_first=True,
            )
            return rows.map(lambda ticket: ticket_json(ticket, now))

    def escalate(self) -> datetime:
        """Escalate every complaint clock that ran out to its group's supervisors, once
        per clock: a row of the ticket's record and an audit record
        ``service.ticket.escalate`` by the server. Run before tickets are shown, so
        that whoever looks first — at the server's time — records it. Returns the time."""
        now = self.context.now()
        with self.context.read() as session:
            due = session.scalar(sa.select(Ticket.id).where(escalation_due_clause(now)).limit(1))
        if due is None:
            return now
        with self.context.write() as session:
            query = sa.select(Ticket).where(escalation_due_clause(now)).order_by(Ticket.id)
            for ticket in session.scalars(query.with_for_update()).all():
                supervisors = sorted(
                    session.scalars(
                        sa.select(ServiceRole.username).where(
                            ServiceRole.group_name == ticket.group_name,
                            ServiceRole.role == "supervisor",
                        )
                    )
                )
                for clock in clocks(ticket):
                    column = f"{clock.name}_escalated_at"
                    if not clock.overdue(now) or getattr(ticket, column) is not None:
                        continue
                    setattr(ticket, column, now)
                    label = "first response" if clock.name == "response" else "first verification"
                    due_text = clock.due_at.strftime("%Y-%m-%d %H:%M")
                    to = ", ".join(supervisors) or (
                        f"nobody: {ticket.group_name} has no supervisor (its software manager "
                        "grants the role)"
                    )
                    details = {
                        "clock": clock.name,
                        "due_at": iso(clock.due_at),
                        "supervisors": supervisors,
                    }
                    ticket.events.append(
                        TicketEvent(
                            at=now,
                            actor=SERVER,
                            step="escalate",
                            text=f"{label} overdue (due {due_text} UTC): escalated to {to}",
                            details=json.dumps(details, ensure_ascii=False, sort_keys=True),
                        )
                    )
                    self.context.record(
                        session,
                        None,
                        "service.ticket.escalate",
                        target=ticket.ref,
                        group=ticket.group_name,
                        details={"ticket": ticket.number, **details},
                    )
        return now

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
                "open": session.scalar(count.where(Ticket.status.in_(rules.OPEN_STATUSES))) or 0,
                "overdue": session.scalar(count.where(overdue_clause(now))) or 0,
            }

    # -- helpers ------------------------------------------------------------------------

    def _visible(self, session: Session, caller: Caller, query: Any) -> Any:
        groups = caller.visible_groups
        if groups is None:
            return query
        readable = groups | service_groups(session, caller.username)
        return query.where(Ticket.group_name.in_(sorted(readable)))

    @staticmethod
    def _roles(session: Session, username: str, group: str) -> frozenset[str]:
        return service_roles(session, username, group)

    def _can_read(self, session: Session, caller: Caller, group: str) -> bool:
        return caller.can_see(group) or bool(self._roles(session, caller.username, group))

    def _readable(self, caller: Caller, group: str) -> None:
        """The group's service records are there for the caller; its 404 otherwise."""
        with self.context.read() as session:
            if not self._can_read(session, caller, group):
                raise NotFound(f"group {group!r} not found")

    def _version(self, caller: Caller, group: str, product: str, version: str) -> VersionFacts:
        """The version for someone who sees its group or holds a service role there."""
        if caller.can_see(group):
            return self.context.version(caller, group, product, version)
        self._readable(caller, group)
        found = self.context.versions_by_name([(group, product, version)])
        if not found:
            raise NotFound(f"version {group}/{product}@{version} not found")
        return found[0]

    def _allow(
        self, caller: Caller, step: str, group: str, *, target: str, action: str = ""
    ) -> None:
        """A 403 (audited) unless the caller's service roles in ``group`` do ``step``."""
        with self.context.read() as session:
            roles = self._roles(session, caller.username, group)
        refused = rules.may_work(
            username=caller.username,
            group=group,
            step=step,
            roles=roles,
            auditor=caller.has_role("auditor"),
        )
        if refused is not None:
            self._refuse(caller, action or f"service.ticket.{step}", refused, target, group, {})

    def _refuse(
        self,
        caller: Caller,
        action: str,
        refused: Refusal,
        target: str,
        group: str,
        details: dict[str, Any],
    ) -> NoReturn:
        """Audit the refusal (its rule, the group) in a transaction of its own; a 403."""
        with self.context.write() as session:
            self.context.record(
                session,
                caller,
                action,
                target=target,
                group=group,
                outcome="refused",
                rule=refused.rule,
                reason=refused.reason,
                details=details,
            )
        raise Forbidden(refused.reason, rule=refused.rule)

    def _ticket(
        self, session: Session, caller: Caller, number: int, *, lock: bool = False
    ) -> Ticket:
        query = sa.select(Ticket).where(Ticket.id == number)
        if lock:
            query = query.with_for_update()
        ticket = session.scalars(query).first()
        if ticket is None or not self._can_read(session, caller, ticket.group_name):
            raise NotFound(N_("ticket S-%(number)s not found", number=number))
        return ticket

    def link_quality(
        self, caller: Caller, number: int, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Link complaint ``number`` to a quality issue (``Q-12``), kept as a reference:
        the quality module may be absent. Linked again, the new number replaces the old."""
        with self.context.write() as session:
            ticket = self._ticket(session, caller, number, lock=True)
            self._person(caller)
            raw = fields.get("issue")
            found = QUALITY_ISSUE.match(raw.strip()) if isinstance(raw, str) else None
            if found is None:
                raise InvalidRequest(
                    N_(
                        "field 'issue': %(issue)r is not a quality issue number such as Q-12",
                        issue=raw,
                    ),
                    field="issue",
                )
            issue = f"Q-{int(found.group(1))}"
            refused = rules.may_work(
                username=caller.username,
                group=ticket.group_name,
                step="link",
                roles=self._roles(session, caller.username, ticket.group_name),
                auditor=caller.has_role("auditor"),
            )
            if refused is None:
                if ticket.kind != "complaint":
                    raise InvalidRequest(
                        N_(
                            "%(ticket)s is a service request: only a complaint is linked "
                            "to a quality issue",
                            ticket=ticket.number,
                        ),
                        field="issue",
                    )
                now = self.context.now()
                before, ticket.quality_issue = ticket.quality_issue, issue
                ticket.updated_at = now
                text = f"linked to quality issue {issue}" + (f" (was {before})" if before else "")
                details = {"issue": issue, "previous": before}
                ticket.events.append(
                    TicketEvent(
                        at=now,
                        actor=caller.username,
                        step="link",
                        text=text,
                        details=json.dumps(details, sort_keys=True),
                    )
                )
                self.context.record(
                    session,
                    caller,
                    "service.ticket.link_quality",
                    target=ticket.ref,
                    group=ticket.group_name,
                    details={"ticket": ticket.number, **details},
                )
                session.flush()
                return ticket_json(
                    ticket, now, record=True, duplicates=duplicates_of(session, ticket)
                )
            target, group = ticket.ref, ticket.group_name
        self._refuse(
            caller,
            "service.ticket.link_quality",
            refused,
            target,
            group,
            {"ticket": f"S-{number}"},
        )

    # -- the customer register and the warranties ----------------------------------------

    def _customer_entry(
        self, session: Session, caller: Caller, group: str, name: str, contact: str, now: datetime
    ) -> Customer:
        """The register entry of ``name`` in ``group`` (case and spacing ignored), made
        (and audited) the first time a ticket names it."""
        key = customer_key(name)
        entry = session.scalars(
            sa.select(Customer).where(Customer.group_name == group, Customer.key == key)
        ).first()
        if entry is not None:
            return entry
        entry = Customer(
            group_name=group,
            name=" ".join(name.split()),
            key=key,
            contact_name=contact,
            contact_phone="",
            contact_email="",
            contract="",
            created_by=caller.username,
            created_at=now,
            updated_at=now,
        )
        session.add(entry)
        session.flush()
        self.context.record(
            session,
            caller,
            "service.customer.register",
            target=group,
            group=group,
            details={"customer": entry.number, "name": entry.name},
        )
        return entry

    def _warranty(
        self, session: Session, entry: Customer, group: str, product: str
    ) -> tuple[int, str]:
        """The warranty days for a ticket of ``entry`` on ``product``: the contract's,
        else the product's, else the server's default; and which one."""
        if entry.warranty_days is not None:
            return entry.warranty_days, "contract"
        days = session.scalar(
            sa.select(ProductWarranty.warranty_days).where(
                ProductWarranty.group_name == group, ProductWarranty.product == product
            )
        )
        if days is not None:
            return days, "product"
        return self.options.warranty_days, "default"

    def customers(
        self, caller: Caller, group: str, page: PageRequest = EVERYTHING
    ) -> Page[dict[str, Any]]:
        """A page of the group's customer register, oldest first, with ticket counts."""
        self._readable(caller, group)
        with self.context.read() as session:
            rows = by_id(
                session,
                sa.select(Customer).where(Customer.group_name == group),
                Customer.id,
                page,
                scope=json.dumps(["service.customers", group]),
            )
            counts = dict(
                session.execute(
                    sa.select(Ticket.customer_id, sa.func.count(Ticket.id))
                    .where(Ticket.customer_id.in_([c.id for c in rows.items]))
                    .group_by(Ticket.customer_id)
                ).all()
            )
            return rows.map(lambda c: customer_json(c, counts.get(c.id, 0)))

    def add_customer(self, caller: Caller, group: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Enter a customer in the group's register (a clerk or supervisor)."""
        self._person(caller)
        self._readable(caller, group)
        self._allow(caller, "customer", group, target=group, action="service.customer.register")
        name = text_field(fields, "name")
        contact = text_field(fields, "contact", required=False)
        phone = text_field(fields, "contact_phone", limit=64, required=False)
        email = text_field(fields, "contact_email", required=False)
        if phone and not PHONE.match(phone):
            raise InvalidRequest(
                N_("field 'contact_phone': %(phone)r is not a phone number", phone=phone),
                field="contact_phone",
            )
        if email and not EMAIL.match(email):
            raise InvalidRequest(
                N_("field 'contact_email': %(email)r is not an e-mail address", email=email),
                field="contact_email",
            )
        now = self.context.now()
        with self.context.write() as session:
            known = session.scalar(
                sa.select(Customer.id).where(
                    Customer.group_name == group, Customer.key == customer_key(name)
                )
            )
            if known is not None:
                raise Conflict(
                    N_(
                        "%(name)r is already in the register of %(group)s as C-%(known)s",
                        name=name,
                        group=group,
                        known=known,
                    )
                )
            entry = self._customer_entry(session, caller, group, name, contact, now)
            entry_fill(entry, contact, phone, email)
            return customer_json(entry, 0)

    def set_contract_warranty(
        self, caller: Caller, group: str, number: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Record a customer's contract and its own warranty (a supervisor)."""
        self._person(caller)
        self._readable(caller, group)
        found = CUSTOMER.match(number.strip())
        if found is None:
            raise NotFound(f"customer {number!r} not found (customer numbers look like C-3)")
        self._allow(caller, "warranty", group, target=group, action="service.warranty.contract")
        contract = text_field(fields, "contract", limit=100, required=False)
        days = warranty_field(fields, required=False)
        with self.context.write() as session:
            entry = session.get(Customer, int(found.group(1)))
            if entry is None or entry.group_name != group:
                raise NotFound(f"customer {number} not found in {group}")
            previous = entry.warranty_days
            entry.contract, entry.warranty_days = contract, days
            entry.updated_at = self.context.now()
            self.context.record(
                session,
                caller,
                "service.warranty.contract",
                target=group,
                group=group,
                details={
                    "customer": entry.number,
                    "contract": contract,
                    "warranty_days": days,
                    "previous": previous,
                },
            )
            session.flush()
            return customer_json(entry, 0)

    def set_product_warranty(
        self, caller: Caller, group: str, product: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Give a product of the group its own warranty (a supervisor)."""
        self._person(caller)
        self._readable(caller, group)
        if caller.can_see(group):
            self.context.product(caller, group, product)
        else:
            with self.context.read() as session:
                known = session.scalar(
                    sa.select(Ticket.id).where(
                        Ticket.group_name == group, Ticket.product == product
                    )
                )
            if known is None:
                raise NotFound(f"product {group}/{product} not found")
        self._allow(
            caller,
            "warranty",
            group,
            target=f"{group}/{product}",
            action="service.warranty.product",
        )
        days = warranty_field(fields, required=True)
        assert days is not None
        now = self.context.now()
        with self.context.write() as session:
            row = session.scalars(
                sa.select(ProductWarranty).where(
                    ProductWarranty.group_name == group, ProductWarranty.product == product
                )
            ).first()
            previous = None if row is None else row.warranty_days
            if row is None:
                row = ProductWarranty(group_name=group, product=product, warranty_days=days)
                session.add(row)
            row.warranty_days, row.set_by, row.set_at = days, caller.username, now
            self.context.record(
                session,
                caller,
                "service.warranty.product",
                target=f"{group}/{product}",
                group=group,
                details={"product": product, "warranty_days": days, "previous": previous},
            )
        return {
            "group": group,
            "product": product,
            "warranty_days": days,
            "set_by": caller.username,
        }

    def may_link(self, caller: Caller, ticket: Mapping[str, Any]) -> bool:
        """Whether the caller may link this complaint to a quality issue (for a page)."""
        if caller.is_pipeline or ticket["kind"] != "complaint":
            return False
        with self.context.read() as session:
            roles = self._roles(session, caller.username, ticket["group"])
        refused = rules.may_work(
            username=caller.username,
            group=ticket["group"],
            step="link",
            roles=roles,
            auditor=caller.has_role("auditor"),
        )
        return refused is None

    def allowed_steps(self, caller: Caller, ticket: Mapping[str, Any]) -> tuple[str, ...]:
        """Of ``ticket``'s next steps, those the caller's service roles do (for a page)."""
        if caller.is_pipeline:
            return ()
        with self.context.read() as session:
            roles = self._roles(session, caller.username, ticket["group"])
        return tuple(
            step
            for step in ticket["next_steps"]
            if rules.may_work(
                username=caller.username,
                group=ticket["group"],
                step=step,
                roles=roles,
                auditor=caller.has_role("auditor"),
                technician=ticket["technician"],
            )
            is None
        )

    # -- service roles ------------------------------------------------------------------

    def roles(
        self, caller: Caller, group: str, page: PageRequest = EVERYTHING
    ) -> Page[dict[str, Any]]:
        """A page of the service roles granted in ``group``, oldest first."""
        self._readable(caller, group)
        with self.context.read() as session:
            rows = by_id(
                session,
                sa.select(ServiceRole).where(ServiceRole.group_name == group),
                ServiceRole.id,
                page,
                scope=json.dumps(["service.roles", group]),
            )
            return rows.map(role_json)

    def grant(self, caller: Caller, group: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Give a person a service role in ``group`` (its software manager)."""
        self._person(caller)
        self._manage(caller, group, "service.role.grant")
        role = choice(fields, "role", rules.ROLES)
        username = text_field(fields, "username", limit=64)
        if not USERNAME.match(username) or not self.context.person_exists(username):
            raise InvalidRequest(
                N_("field 'username': %(name)r is not an active Depot account", name=username),
                field="username",
            )
        now = self.context.now()
        with self.context.write() as session:
            held = session.scalar(
                sa.select(ServiceRole.id).where(
                    ServiceRole.group_name == group,
                    ServiceRole.username == username,
                    ServiceRole.role == role,
                )
            )
            if held is not None:
                raise Conflict(
                    N_(
                        "%(name)s already holds the service role %(role)s in %(group)s",
                        name=username,
                        role=role,
                        group=group,
                    )
                )
            row = ServiceRole(
                group_name=group,
                username=username,
                role=role,
                granted_by=caller.username,
                granted_at=now,
            )
            session.add(row)
            session.flush()
            self.context.record(
                session,
                caller,
                "service.role.grant",
                target=group,
                group=group,
                details={"username": username, "role": role},
            )
            return role_json(row)

    def revoke(self, caller: Caller, group: str, username: str, role: str) -> dict[str, Any]:
        """Take a service role in ``group`` away from a person (its software manager)."""
        self._person(caller)
        self._manage(caller, group, "service.role.revoke")
        with self.context.write() as session:
            row = session.scalars(
                sa.select(ServiceRole).where(
                    ServiceRole.group_name == group,
                    ServiceRole.username == username,
                    ServiceRole.role == role,
                )
            ).first()
            if row is None:
                raise NotFound(
                    N_(
                        "%(name)s holds no service role %(role)s in %(group)s",
                        name=username,
                        role=role,
                        group=group,
                    )
                )
            session.delete(row)
            self.context.record(
                session,
                caller,
                "service.role.revoke",
                target=group,
                group=group,
                details={"username": username, "role": role},
            )
        return {"removed": True, "group": group, "username": username, "role": role}

    def _manage(self, caller: Caller, group: str, action: str) -> None:
        self._readable(caller, group)
        refused = rules.may_grant(
            username=caller.username,
            group=group,
            manager="software_manager" in caller.groups.get(group, frozenset()),
            auditor=caller.has_role("auditor"),
        )
        if refused is not None:
            self._refuse(caller, action, refused, group, group, {})

    @staticmethod
    def _person(caller: Caller) -> None:
        if caller.is_pipeline:
            raise Forbidden(
                N_("service tickets are registered and worked by people, not with a group token"),
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


def service_roles(session: Session, username: str, group: str) -> frozenset[str]:
    """The service roles ``username`` holds in ``group``."""
    return frozenset(
        session.scalars(
            sa.select(ServiceRole.role).where(
                ServiceRole.username == username, ServiceRole.group_name == group
            )
        )
    )


def service_groups(session: Session, username: str) -> frozenset[str]:
    """The groups in which ``username`` holds a service role."""
    return frozenset(
        session.scalars(
            sa.select(ServiceRole.group_name).where(ServiceRole.username == username).distinct()
        )
    )


def role_json(row: ServiceRole) -> dict[str, Any]:
    """A granted service role as the API answers it."""
    return {
        "group": row.group_name,
        "username": row.username,
        "role": row.role,
        "granted_by": row.granted_by,
        "granted_at": iso(row.granted_at),
    }


def duplicates_of(session: Session, ticket: Ticket) -> list[str]:
    """The tickets marked as duplicates of ``ticket``."""
    ids = session.scalars(
        sa.select(Ticket.id).where(Ticket.duplicate_of_id == ticket.id).order_by(Ticket.id)
    )
    return [f"S-{i}" for i in ids]


def customer_key(name: str) -> str:
    """A customer's name with case and spacing ignored: one register entry per customer."""
    return " ".join(name.split()).casefold()


def entry_fill(entry: Customer, contact: str, phone: str, email: str) -> None:
    """Keep the register's contact up to date with the latest one given."""
    if contact:
        entry.contact_name = contact
    if phone or email:
        entry.contact_phone, entry.contact_email = phone, email


def warranty_field(fields: Mapping[str, Any], *, required: bool) -> int | None:
    """``warranty_days``: whole days ≥ 0 (``None`` when not required and not given)."""
    value = fields.get("warranty_days")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())  # from a page's form
    if value is None or value == "":
        if required:
            raise InvalidRequest("missing field 'warranty_days'", field="warranty_days")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 36500:
        raise InvalidRequest(
            "field 'warranty_days' must be a whole number of days from 0 to 36500",
            field="warranty_days",
        )
    return value


def customer_json(entry: Customer, tickets: int) -> dict[str, Any]:
    """A register entry as the API answers it."""
    return {
        "number": entry.number,
        "group": entry.group_name,
        "name": entry.name,
        "contact": {
            "name": entry.contact_name,
            "phone": entry.contact_phone,
            "email": entry.contact_email,
        },
        "contract": entry.contract,
        "warranty_days": entry.warranty_days,
        "tickets": tickets,
        "created_by": entry.created_by,
        "created_at": iso(entry.created_at),
    }
