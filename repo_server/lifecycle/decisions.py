"""Deciding requests: approve or refuse, accept or reject (the checker's side of four eyes).

Called by the API (``/api/v1/requests/<id>/approve|refuse``) and the approval pages.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action
from policies.lifecycle import (
    DECIDER,
    Kind,
    RequestState,
    Step,
    decide_step,
    next_state,
)
from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import InvalidRequest, NotFound
from repo_server.groups.models import Group
from repo_server.lifecycle.facts import (
    RequestInfo,
    enforce,
    facts_for_request,
    records_refusals,
    request_facts,
    request_infos,
)
from repo_server.lifecycle.models import ArchiveItem, Request
from repo_server.lifecycle.services import text_field
from repo_server.settings import Settings
from repo_server.visibility import resolve_group


class DecisionService:
    """Decisions on the requests of one server."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.settings = settings

    @records_refusals
    def decide(
        self,
        principal: Principal,
        request_id: int,
        *,
        approve: bool,
        comment: str = "",
        report: str | None = None,
    ) -> RequestInfo:
        """Approve or refuse (accept or reject) request ``request_id``."""
        comment = text_field(comment, "comment", required=False)
        with self.db.write() as session:
            row = session.scalar(
                sa.select(Request).where(Request.id == request_id).with_for_update()
            )
            if row is None:
                raise NotFound(f"request #{request_id} not found")
            row_group = session.get(Group, row.group_id)
            row_product = session.get(Product, row.product_id)
            assert row_group is not None and row_product is not None
            try:
                resolve_group(session, principal, row_group.name, Action.BROWSE)
            except NotFound:
                raise NotFound(f"request #{request_id} not found") from None
            kind = Kind(row.kind)
            row_version = (
                session.get(Version, row.version_id) if row.version_id is not None else None
            )
            facts = facts_for_request(session, row, row_group, row_product)
            ref = facts.ref
            step = Step.APPROVE if approve else Step.REFUSE
            verb = self._verb(kind, approve)
            decider = DECIDER[kind]
            decision = decide_step(
                principal.actor, step, facts, request_facts(row), comment=comment
            )
            enforce(
                decision,
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
                    session.add(ArchiveItem(version_id=row_version.id, request_id=row.id, **item))
            if kind is Kind.CHECKOUT and approve:
                row.expires_at = now + timedelta(
                    days=int(details.get("days", self.settings.checkout_default_days))
                )
                audit_details["expires_at"] = row.expires_at.isoformat()
            row.state = (RequestState.APPROVED if approve else RequestState.REFUSED).value
            row.decided_by = principal.username
            row.decided_role = decider.value
            row.decided_at = now
            row.comment = comment
            row.details = json.dumps(details, ensure_ascii=False, sort_keys=True)
            if row_version is not None:
                row_version.state = next_state(step, facts.state, kind).value
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
            return request_infos(session, [row])[0]

    @staticmethod
    def _verb(kind: Kind, approve: bool) -> str:
        if kind is Kind.ACCEPTANCE:
            return "pass" if approve else "fail"
        return "approve" if approve else "refuse"

    @staticmethod
    def _report(session: Session, version: Version | None, name: str | None) -> dict[str, Any]:
        if not name:
            raise InvalidRequest(
                "an acceptance decision needs the test report: upload it to the version with "
                "role 'report' and name it here",
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
            raise InvalidRequest(f"the version has no report named {name!r}", field="report")
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
