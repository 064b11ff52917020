"""The supplier register (供应商库): vendors of purchased products, their qualification,
periodic evaluations, and the quality issues linked to them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo_server.plugin_api import (
    EVERYTHING,
    N_,
    Block,
    BlockScope,
    Caller,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    Page,
    PageRequest,
    PluginContext,
    VersionRef,
    fetch,
    iso,
)
from repo_server.plugins.quality import rules
from repo_server.plugins.quality.common import (
    choice,
    day,
    enforce,
    issue_json,
    text,
    visible_to,
    who,
)
from repo_server.plugins.quality.models import Evaluation, Issue, Supplier


def supplier_json(supplier: Supplier, now: Any, last: Evaluation | None = None) -> dict[str, Any]:
    """A supplier as the register shows it; ``last`` is its latest evaluation."""
    until = supplier.qualified_until
    due = rules.evaluation_due_on(
        last.at if last else None, supplier.created_at, supplier.evaluation_months
    )
    return {
        "name": supplier.name,
        "qualification": supplier.qualification,
        "qualified_until": until.isoformat() if until else None,
        "qualification_expired": until is not None and now.date() > until,
        "contact": supplier.contact,
        "status": supplier.status,
        "evaluation_months": supplier.evaluation_months or rules.EVALUATION_MONTHS,
        "last_evaluated_at": iso(last.at) if last else None,
        "evaluation_due_on": due.isoformat(),
        "evaluation_due": now.date() >= due,
        "created_by": supplier.created_by,
        "created_at": iso(supplier.created_at),
    }


def _latest(session: Session, supplier: Supplier) -> Evaluation | None:
    return session.scalar(
        sa.select(Evaluation)
        .where(Evaluation.supplier_id == supplier.id)
        .order_by(Evaluation.at.desc(), Evaluation.id.desc())
        .limit(1)
    )


def evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "period": evaluation.period,
        "score": evaluation.score,
        "notes": evaluation.notes,
        "evaluator": evaluation.evaluator,
        "at": iso(evaluation.at),
    }


class Suppliers:
    """The supplier register of one server: the quality manager writes, people read."""

    def __init__(self, context: PluginContext) -> None:
        self.context = context

    @staticmethod
    def _reader(caller: Caller) -> None:
        if caller.is_pipeline:
            raise Forbidden(N_("the supplier register is for people, not pipeline tokens"))

    @staticmethod
    def _load(session: Session, name: str) -> Supplier:
        found = session.scalar(sa.select(Supplier).where(Supplier.name == name))
        if found is None:
            raise NotFound(N_("supplier %(name)r not found", name=name))
        return found

    def names(self) -> list[str]:
        """Every supplier's name (for the report form's choice)."""
        with self.context.read() as session:
            return list(session.scalars(sa.select(Supplier.name).order_by(Supplier.name)))

    def search(
        self, caller: Caller, page: PageRequest = EVERYTHING, *, due_only: bool = False
    ) -> Page[dict[str, Any]]:
        """A page of the register, by name, with each supplier's latest score (with
        ``due_only``, only the suppliers of the page whose evaluation is due: a page may then
        hold fewer than its limit, and ``next`` goes on)."""
        self._reader(caller)
        now = self.context.now()
        with self.context.read() as session:
            suppliers = fetch(
                session,
                sa.select(Supplier),
                (Supplier.name,),
                page,
                scope="quality.suppliers.due" if due_only else "quality.suppliers",
                key=lambda s: (s.name,),
                scalars=True,
            )
            # The latest evaluation of this page's suppliers only (by supplier and period).
            newest = (
                sa.select(sa.func.max(Evaluation.id))
                .where(Evaluation.supplier_id.in_([s.id for s in suppliers.items]))
                .group_by(Evaluation.supplier_id)
            )
            latest = {
                e.supplier_id: e
                for e in session.scalars(sa.select(Evaluation).where(Evaluation.id.in_(newest)))
            }
            found = []
            for s in suppliers.items:
                last = latest.get(s.id)
                item = supplier_json(s, now, last)
                if due_only and not item["evaluation_due"]:
                    continue
                item["latest_score"] = last.score if last else None
                item["latest_period"] = last.period if last else None
                found.append(item)
            return Page(tuple(found), suppliers.next, suppliers.previous)

    def get(self, caller: Caller, name: str) -> dict[str, Any]:
        """A supplier with its evaluations and the issues linked to it that ``caller``
        may see."""
        self._reader(caller)
        with self.context.read() as session:
            supplier = self._load(session, name)
            found = supplier_json(supplier, self.context.now(), _latest(session, supplier))
            found["evaluations"] = [
                evaluation_json(e)
                for e in session.scalars(
                    sa.select(Evaluation)
                    .where(Evaluation.supplier_id == supplier.id)
                    .order_by(Evaluation.id.desc())
                )
            ]
            found["issues"] = [
                issue_json(i)
                for i in session.scalars(
                    sa.select(Issue)
                    .where(Issue.supplier == supplier.name, visible_to(caller, Issue.group_name))
                    .order_by(Issue.id.desc())
                )
            ]
        found["products"] = [
            {"group": p.group, "product": p.name, "category": p.category, "vendor": p.vendor}
            for p in self.context.products_of_vendors([name])
            if p.origin == "purchased" and caller.can_see(p.group)
        ]
        return found

    def _fields(self, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        allowed = {"name", "qualification", "qualified_until", "contact", "status"}
        allowed.add("evaluation_months")
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise InvalidRequest(N_("unknown field %(field)r", field=unknown[0]), field=unknown[0])
        changes: dict[str, Any] = {}
        if creating or "qualification" in body:
            changes["qualification"] = text(body.get("qualification"), "qualification")
        if creating or "qualified_until" in body:
            changes["qualified_until"] = day(body.get("qualified_until"), "qualified_until")
        if creating or "contact" in body:
            changes["contact"] = text(body.get("contact"), "contact", required=False, limit=500)
        if "evaluation_months" in body:
            months = body["evaluation_months"]
            if months is not None and (
                isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 60
            ):
                raise InvalidRequest(
                    N_(
                        "field 'evaluation_months' must be from 1 to 60 (got %(months)r)",
                        months=months,
                    ),
                    field="evaluation_months",
                )
            changes["evaluation_months"] = months
        if creating or "status" in body:
            changes["status"] = choice(
                body.get("status") or "active", "status", rules.SUPPLIER_STATUSES
            )
        return changes

    def create(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """Add a supplier (the quality manager); its name must be new."""
        name = text(body.get("name"), "name", limit=200)
        changes = self._fields(body, creating=True)
        target = f"supplier:{name}"
        enforce(
            self.context,
            caller,
            rules.may_manage_suppliers(who(caller)),
            "quality.supplier.create",
            target,
        )
        now = self.context.now()
        with self.context.write() as session:
            if session.scalar(sa.select(Supplier.id).where(Supplier.name == name)) is not None:
                raise Conflict(N_("supplier %(name)r is already in the register", name=name))
            supplier = Supplier(name=name, created_by=caller.username, created_at=now, **changes)
            session.add(supplier)
            session.flush()
            found = supplier_json(supplier, now)
            self.context.record(
                session, caller, "quality.supplier.create", target=target, details=found
            )
            return found

    def update(self, caller: Caller, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Change a supplier's qualification, contact or status (the quality manager)."""
        self._reader(caller)
        with self.context.read() as session:
            self._load(session, name)
        if "name" in body:
            raise InvalidRequest(N_("a supplier's name cannot be changed"), field="name")
        changes = self._fields(body, creating=False)
        if not changes:
            raise InvalidRequest(N_("nothing to change"), field="status")
        target = f"supplier:{name}"
        enforce(
            self.context,
            caller,
            rules.may_manage_suppliers(who(caller)),
            "quality.supplier.update",
            target,
        )
        now = self.context.now()
        with self.context.write() as session:
            supplier = self._load(session, name)
            for key, value in changes.items():
                setattr(supplier, key, value)
            session.flush()
            found = supplier_json(supplier, now, _latest(session, supplier))
            self.context.record(
                session,
                caller,
                "quality.supplier.update",
                target=target,
                details={k: found[k] for k in changes},
            )
            return found

    def evaluate(self, caller: Caller, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Record a periodic evaluation (the quality manager): one per period."""
        self._reader(caller)
        with self.context.read() as session:
            self._load(session, name)
        period = text(body.get("period"), "period", limit=16)
        if not rules.valid_period(period):
            raise InvalidRequest(
                N_(
                    "field 'period' must be like 2026, 2026-H1, 2026-Q3 or 2026-07 "
                    "(got %(period)r)",
                    period=period,
                ),
                field="period",
            )
        score = body.get("score")
        if isinstance(score, bool) or not isinstance(score, int) or score not in rules.SCORES:
            raise InvalidRequest(
                N_("field 'score' must be an integer from 1 to 5 (got %(score)r)", score=score),
                field="score",
            )
        notes = text(body.get("notes"), "notes", required=False)
        target = f"supplier:{name}"
        enforce(
            self.context,
            caller,
            rules.may_manage_suppliers(who(caller)),
            "quality.supplier.evaluate",
            target,
        )
        now = self.context.now()
        with self.context.write() as session:
            supplier = self._load(session, name)
            taken = session.scalar(
                sa.select(Evaluation.id).where(
                    Evaluation.supplier_id == supplier.id, Evaluation.period == period
                )
            )
            if taken is not None:
                raise Conflict(
                    N_(
                        "supplier %(name)r is already evaluated for %(period)s",
                        name=name,
                        period=period,
                    )
                )
            evaluation = Evaluation(
                supplier_id=supplier.id,
                period=period,
                score=score,
                notes=notes,
                evaluator=caller.username,
                at=now,
            )
            session.add(evaluation)
            session.flush()
            found = evaluation_json(evaluation)
            self.context.record(
                session, caller, "quality.supplier.evaluate", target=target, details=found
            )
            return {"supplier": name, **found}

    def blocks(self, ref: VersionRef) -> list[Block]:
        """A purchased product whose vendor is a suspended supplier gets no new check-in
        (rule ``quality.supplier_suspended``); its library versions stay."""
        with self.context.read() as session:
            suspended = {
                n.strip().lower(): n
                for n in session.scalars(
                    sa.select(Supplier.name).where(Supplier.status == "suspended")
                )
            }
        if not suspended:
            return []
        product = self.context.product_by_name(ref.group, ref.product)
        vendor = (product.vendor or "").strip().lower() if product else ""
        if product is None or product.origin != "purchased" or vendor not in suspended:
            return []
        reason = rules.suspended_reason(suspended[vendor])
        return [Block(rules.SUPPLIER_RULE, reason, scope=BlockScope.CHECKIN)]
