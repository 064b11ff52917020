"""Versions in the library: retiring a checked-in version, recording how it behaves in use.

Called by the API (``/api/v1/.../retire``, ``.../feedback``). As for requests, the rules of
:mod:`policies.lifecycle` decide; this module loads the facts, acts on the rows and records
the outcome in the audit trail, in one transaction; the plugins hear of a retirement after
it committed.
"""

from __future__ import annotations

import sqlalchemy as sa

from policies.access import GlobalRole, GroupRole
from policies.lifecycle import Kind, RequestState, Step, decide_step, next_state
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.hooks import NO_PLUGINS, Plugins, VersionEvent, VersionRef
from repo_server.lifecycle.facts import enforce, records_refusals, version_facts
from repo_server.lifecycle.models import Feedback, Request
from repo_server.lifecycle.services import locate, text_field
from repo_server.trust.services import SigningService


class LibraryService:
    """Retirement and usage feedback of the versions of one server's library."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Clock,
        signing: SigningService,
        plugins: Plugins = NO_PLUGINS,
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.signing = signing
        self.plugins = plugins

    @records_refusals
    def retire(
        self, principal: Principal, group: str, product: str, version: str, reason: str
    ) -> int:
        """Retire a checked-in version: no further check-out; records and files stay.

        Pending check-out requests of the version are refused with the reason. Returns
        how many were refused.
        """
        reason = text_field(reason, "reason", required=False)
        ref = f"{group}/{product}@{version}"
        with self.db.write() as session:
            row_group, row_product, row_version = locate(
                session, principal, group, product, version
            )
            facts = version_facts(session, row_group, row_product, row_version)
            decision = decide_step(principal.actor, Step.RETIRE, facts, comment=reason)
            enforce(
                decision,
                principal,
                "version.retire",
                group=group,
                target=ref,
                role=GlobalRole.VERSION_MANAGER.value,
            )
            row_version.state = next_state(Step.RETIRE, facts.state).value
            now = self.clock.now()
            refused = 0
            for pending in session.scalars(
                sa.select(Request).where(
                    Request.version_id == row_version.id,
                    Request.kind == Kind.CHECKOUT.value,
                    Request.state == RequestState.PENDING.value,
                )
            ):
                pending.state = RequestState.REFUSED.value
                pending.decided_by = principal.username
                pending.decided_role = GlobalRole.VERSION_MANAGER.value
                pending.decided_at = now
                pending.comment = f"the version was retired: {reason}"
                refused += 1
            status = None
            if row_version.manifest_sha256 is not None:
                status = self.signing.issue_status(
                    session,
                    group=row_group,
                    product=row_product,
                    version=row_version,
                    state="retired",
                    reason=reason,
                ).serial
            self.audit.record(
                session,
                principal,
                "version.retire",
                group=group,
                target=ref,
                role=GlobalRole.VERSION_MANAGER.value,
                reason=reason,
                details={"refused_checkouts": refused, "status_serial": status},
            )
            state = row_version.state
        self.plugins.emit(
            VersionEvent(
                "version.retire",
                VersionRef(group, product, version),
                state,
                principal.username,
                self.clock.now(),
                details={"reason": reason},
            )
        )
        return refused

    @records_refusals
    def add_feedback(
        self, principal: Principal, group: str, product: str, version: str, text: str
    ) -> None:
        """Record how a checked-in version behaves in use (使用情况反馈)."""
        text = text_field(text, "text", required=False)
        ref = f"{group}/{product}@{version}"
        with self.db.write() as session:
            row_group, row_product, row_version = locate(
                session, principal, group, product, version
            )
            facts = version_facts(session, row_group, row_product, row_version)
            decision = decide_step(principal.actor, Step.FEEDBACK, facts, comment=text)
            enforce(
                decision,
                principal,
                "version.feedback",
                group=group,
                target=ref,
                role=GroupRole.ACCEPTANCE_OFFICER.value,
            )
            session.add(
                Feedback(
                    version_id=row_version.id,
                    author=principal.username,
                    text=text,
                    created_at=self.clock.now(),
                )
            )
            self.audit.record(
                session,
                principal,
                "version.feedback",
                group=group,
                target=ref,
                role=GroupRole.ACCEPTANCE_OFFICER.value,
                reason=text[:200],
            )
