"""Deciding requests: approve or refuse, accept or reject (the checker's side of four eyes).

Called by the API (``/api/v1/requests/<id>/approve|refuse``) and the approval pages.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action
from policies.decisions import Decision
from policies.lifecycle import (
    DECIDER,
    Kind,
    Registration,
    RequestState,
    Step,
    VersionFacts,
    acting_for,
    decide_signature,
    decide_step,
    next_state,
)
from policies.trust.dsse import STATEMENT
from policies.versions import precedence_key
from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import N_, Forbidden, InvalidRequest, NotFound
from repo_server.groups.models import Group
from repo_server.hooks import NO_PLUGINS, Plugins, VersionEvent, VersionRef
from repo_server.lifecycle.facts import (
    RequestInfo,
    enforce,
    facts_for_request,
    records_refusals,
    request_facts,
    request_infos,
)
from repo_server.lifecycle.items import new_item
from repo_server.lifecycle.models import Request
from repo_server.lifecycle.notices import NO_NOTICES, Notices
from repo_server.lifecycle.services import text_field
from repo_server.settings import Settings
from repo_server.trust.services import SigningService
from repo_server.visibility import resolve_group

#: The decisions that leave a signed approval statement, and its action.
STATEMENT_ACTIONS = {
    (Kind.ACCEPTANCE, True): "accept",
    (Kind.ACCEPTANCE, False): "reject",
    (Kind.CHECKIN, True): "checkin.approve",
    (Kind.CHECKOUT, True): "checkout.approve",
}


class DecisionService:
    """Decisions on the requests of one server."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Clock,
        settings: Settings,
        signing: SigningService,
        plugins: Plugins = NO_PLUGINS,
        notices: Notices = NO_NOTICES,
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.settings = settings
        self.signing = signing
        self.plugins = plugins
        self.notices = notices

    @records_refusals
    def decide(
        self,
        principal: Principal,
        request_id: int,
        *,
        approve: bool,
        comment: str = "",
        report: str | None = None,
        statement: dict[str, Any] | None = None,
    ) -> RequestInfo:
        """Approve or refuse (accept or reject) request ``request_id``.

        Acceptances, check-in and check-out approvals leave a signed approval statement:
        ``statement`` when the decider signed it with their personal key (see
        :meth:`expected_statement`), else one the server attests. A check-in approval
        also signs the version's manifest and its first status document.
        """
        comment = text_field(comment, "comment", required=False)
        with self.db.write() as session:
            row, row_group, row_product = self._visible(session, principal, request_id, lock=True)
            kind = Kind(row.kind)
            row_version = (
                session.get(Version, row.version_id) if row.version_id is not None else None
            )
            facts, _ = self._enforce_rules(
                session, principal, row, row_group, row_product, approve, comment
            )
            ref = _target(row, facts, row_product)
            step = Step.APPROVE if approve else Step.REFUSE
            verb = self._verb(kind, approve)
            decider = DECIDER[kind]
            enforce(
                decide_signature(
                    kind,
                    approve,
                    personal_required=row_group.require_personal_checkin,
                    personally_signed=statement is not None,
                ),
                principal,
                f"{kind.value}.{verb}",
                group=row_group.name,
                target=ref,
                role=decider.value,
            )
            details = json.loads(row.details or "{}")
            audit_details: dict[str, Any] = {"request": row.id, "comment": comment}
            now = self.clock.now()
            if kind is Kind.ACCEPTANCE:
                details["report"] = self._report(session, row_version, report)
                audit_details["report"] = details["report"]
            if kind is Kind.CHECKIN and approve:
                assert row_version is not None
                number = self._library_number(session, row_product)
                row_version.library_number = number
                audit_details["library_number"] = number
                for item in details.get("items", []):
                    new_item(
                        session,
                        version_id=row_version.id,
                        request_id=row.id,
                        fields=item,
                        actor=principal.username,
                        now=now,
                    )
            if kind is Kind.REGISTER:
                audit_details.update(
                    self._register(session, principal, row, row_group, row_product, approve)
                )
            if kind is Kind.CHECKOUT and approve:
                row.expires_at = now + timedelta(
                    days=int(details.get("days", self.settings.checkout_default_days))
                )
                audit_details["expires_at"] = row.expires_at.isoformat()
            row.state = (RequestState.APPROVED if approve else RequestState.REFUSED).value
            row.decided_by = principal.username
            row.decided_role = decider.value
            row.decided_for = acting_for(principal.actor, decider)
            if row.decided_for:
                audit_details["for"] = row.decided_for
            row.decided_at = now
            row.comment = comment
            row.details = json.dumps(details, ensure_ascii=False, sort_keys=True)
            if row_version is not None:
                row_version.state = next_state(step, facts.state, kind).value
            action = STATEMENT_ACTIONS.get((kind, approve))
            if action is not None:
                assert row_version is not None
                signed = self.signing.record_statement(
                    session,
                    group=row_group,
                    product=row_product,
                    version=row_version,
                    request=row,
                    action=action,
                    actor=principal.username,
                    role=decider.value,
                    comment=comment,
                    signed=statement,
                )
                audit_details["statement_sha256"] = signed.payload_sha256
                audit_details["attestation"] = signed.attestation
            elif statement is not None:
                raise InvalidRequest(
                    N_("this decision takes no signed statement"), field="statement"
                )
            if kind is Kind.CHECKIN and approve:
                assert row_version is not None
                audit_details["manifest_sha256"] = self.signing.write_manifest(
                    session, group=row_group, product=row_product, version=row_version, checkin=row
                )
                status = self.signing.issue_status(
                    session,
                    group=row_group,
                    product=row_product,
                    version=row_version,
                    state="checked_in",
                )
                audit_details["status_serial"] = status.serial
                # The approval's answer tells the library number and what was signed.
                details["library_number"] = row_version.library_number
                details["manifest_sha256"] = audit_details["manifest_sha256"]
                row.details = json.dumps(details, ensure_ascii=False, sort_keys=True)
            self.audit.record(
                session,
                principal,
                f"{kind.value}.{verb}",
                group=row_group.name,
                target=ref,
                role=decider.value,
                reason=comment,
                details=audit_details,
            )
            self.notices.decided(session, row.id)
            info = request_infos(session, [row])[0]
            state = row_version.state if row_version is not None else ""
        if row_version is not None:
            self.plugins.emit(
                VersionEvent(
                    f"{kind.value}.{verb}",
                    VersionRef(info.group, info.product, facts.version),
                    state,
                    principal.username,
                    self.clock.now(),
                    request_id=request_id,
                    details=audit_details,
                )
            )
        return info

    @records_refusals
    def check(
        self, principal: Principal, request_id: int, *, approve: bool, comment: str = ""
    ) -> Decision:
        """Whether ``principal`` may decide ``request_id`` now, with ``comment``.

        Asked before anything that goes with the decision is stored (an acceptance's
        report): a refusal is audited as the attempt it is, and nothing changes.
        """
        comment = text_field(comment, "comment", required=False)
        with self.db.read() as session:
            row, row_group, row_product = self._visible(session, principal, request_id)
            _, decision = self._enforce_rules(
                session, principal, row, row_group, row_product, approve, comment
            )
        return decision

    def _enforce_rules(
        self,
        session: Session,
        principal: Principal,
        row: Request,
        group: Group,
        product: Product,
        approve: bool,
        comment: str,
    ) -> tuple[VersionFacts, Decision]:
        """The facts of the request's version and the rules' decision, once they allow it
        (else a :class:`Refusal`, audited by the caller's decorator)."""
        kind = Kind(row.kind)
        facts = facts_for_request(session, row, group, product)
        if kind in (Kind.CHECKOUT, Kind.CHECKIN):
            facts = replace(
                facts,
                blocks=self.plugins.blocks(VersionRef(group.name, product.name, facts.version)),
            )
        decision = decide_step(
            principal.actor,
            Step.APPROVE if approve else Step.REFUSE,
            facts,
            request_facts(row),
            comment=comment,
        )
        enforce(
            decision,
            principal,
            f"{kind.value}.{self._verb(kind, approve)}",
            group=group.name,
            target=_target(row, facts, product),
            role=DECIDER[kind].value,
        )
        return facts, decision

    def expected_statement(
        self, principal: Principal, request_id: int, *, approve: bool, comment: str = ""
    ) -> tuple[str, bytes]:
        """The statement payload ``principal`` would sign to decide ``request_id`` now.

        Raises what :meth:`decide` would raise if the decision is not theirs to make
        (without recording it: nothing has been decided yet).
        """
        comment = text_field(comment, "comment", required=False)
        with self.db.read() as session:
            row, row_group, row_product = self._visible(session, principal, request_id)
            kind = Kind(row.kind)
            action = STATEMENT_ACTIONS.get((kind, approve))
            if action is None or row.version_id is None:
                raise InvalidRequest(
                    N_("this decision takes no signed statement"), field="decision"
                )
            step = Step.APPROVE if approve else Step.REFUSE
            facts = facts_for_request(session, row, row_group, row_product)
            decision = decide_step(
                principal.actor, step, facts, request_facts(row), comment=comment
            )
            if not decision.allowed:
                raise Forbidden(decision.reason, rule=decision.rule)
            row_version = session.get(Version, row.version_id)
            assert row_version is not None
            statement = self.signing.expected(
                session,
                group=row_group,
                product=row_product,
                version=row_version,
                request=row,
                action=action,
                actor=principal.username,
                role=DECIDER[kind].value,
                comment=comment,
                at=self.clock.now(),
                attestation="personal",
            )
            return STATEMENT, statement.to_payload()

    @staticmethod
    def _visible(
        session: Session, principal: Principal, request_id: int, *, lock: bool = False
    ) -> tuple[Request, Group, Product]:
        """Request ``request_id`` with its group and product, if the caller may see it."""
        query = sa.select(Request).where(Request.id == request_id)
        row = session.scalar(query.with_for_update() if lock else query)
        if row is None:
            raise NotFound(N_("request #%(id)s not found", id=request_id))
        row_group = session.get(Group, row.group_id)
        row_product = session.get(Product, row.product_id)
        assert row_group is not None and row_product is not None
        try:
            resolve_group(session, principal, row_group.name, Action.BROWSE)
        except NotFound:
            raise NotFound(N_("request #%(id)s not found", id=request_id)) from None
        return row, row_group, row_product

    def _register(
        self,
        session: Session,
        principal: Principal,
        row: Request,
        group: Group,
        product: Product,
        approve: bool,
    ) -> dict[str, Any]:
        """Decide a product's registration: registered with its first version (a draft,
        created for the requester), or refused. What the audit record adds."""
        product.registration = (Registration.REGISTERED if approve else Registration.REFUSED).value
        if not approve or not row.target_version:
            return {"registration": product.registration}
        version = Version(
            product_id=product.id,
            version=row.target_version,
            precedence=precedence_key(row.target_version, product.origin),
            state="draft",
            created_at=self.clock.now(),
            created_by=row.requester,
        )
        session.add(version)
        session.flush()
        self.audit.record(
            session,
            principal,
            "version.create",
            group=group.name,
            target=f"{group.name}/{product.name}@{version.version}",
            role=DECIDER[Kind.REGISTER].value,
            details={"registration": row.id, "for": row.requester},
        )
        return {"registration": product.registration, "version": version.version}

    @staticmethod
    def _verb(kind: Kind, approve: bool) -> str:
        if kind is Kind.ACCEPTANCE:
            return "pass" if approve else "fail"
        return "approve" if approve else "refuse"

    @staticmethod
    def _report(session: Session, version: Version | None, name: str | None) -> dict[str, Any]:
        if not name:
            raise InvalidRequest(
                N_(
                    "an acceptance decision needs the test report: upload it to the version "
                    "with role 'report' and name it here"
                ),
                field="report",
            )
        assert version is not None
        row = session.scalar(
            sa.select(StoredFile).where(
                StoredFile.version_id == version.id,
                StoredFile.name == name,
                StoredFile.role == "report",
            )
        )
        if row is None:
            raise InvalidRequest(
                N_("the version has no report named %(name)r", name=name), field="report"
            )
        return {
            "name": row.name,
            "sha256": row.sha256,
            "size": row.size,
            "uploaded_by": row.uploaded_by,
        }

    @staticmethod
    def _library_number(session: Session, product: Product) -> int:
        # Lock the product so that two check-ins of one product take numbers one by one.
        session.execute(sa.select(Product.id).where(Product.id == product.id).with_for_update())
        highest = session.scalar(
            sa.select(sa.func.max(Version.library_number)).where(Version.product_id == product.id)
        )
        return int(highest or 0) + 1


def _target(row: Request, facts: VersionFacts, product: Product) -> str:
    """What the audit record of a decision names: the version, or for a registration
    without a first version, the product."""
    if row.kind == Kind.REGISTER.value and not row.target_version:
        return f"{facts.group}/{product.name}"
    return facts.ref
