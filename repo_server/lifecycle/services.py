"""Filing requests: upgrades, deliveries for acceptance, check-ins and check-outs.

Called by the API (``/api/v1/.../upgrades``, ``.../submit``, ``.../checkin``,
``.../checkout``) and by the pages. Deciding them is :mod:`repo_server.lifecycle.decisions`;
retiring a version and usage feedback are :mod:`repo_server.lifecycle.library`.
Every decision is made by :mod:`policies.lifecycle`; this module loads the facts, acts
on the rows and records the outcome in the audit trail, in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action, GroupRole
from policies.lifecycle import (
    Kind,
    RequestState,
    Step,
    decide_step,
    decide_upgrade_request,
    next_state,
)
from policies.versions import validate_version
from repo_server.artifacts.lookup import find_product, find_version
from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.audit.services import AuditLog
from repo_server.auth.models import User
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Conflict, InvalidRequest
from repo_server.groups.models import Group, Membership
from repo_server.hooks import NO_PLUGINS, Plugins, VersionRef
from repo_server.lifecycle.facts import (
    RequestInfo,
    enforce,
    product_facts,
    records_refusals,
    request_infos,
    version_facts,
)
from repo_server.lifecycle.models import Request
from repo_server.lifecycle.notices import NO_NOTICES, Notices
from repo_server.settings import Settings
from repo_server.visibility import resolve_group

MAX_TEXT = 10_000
ITEM_FIELDS = ("kind", "label", "location", "custodian")


def text_field(value: Any, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    """A free-text field: a string, not blank when required, within ``limit`` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{field} must be text", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidRequest(f"{field} is required", field=field)
    if len(value) > limit:
        raise InvalidRequest(f"{field} is longer than {limit} characters", field=field)
    return str(value)


def locate(
    session: Session, principal: Principal, group: str, product: str, version: str
) -> tuple[Group, Product, Version]:
    """The rows of a version ``principal`` may see, the version locked for the change."""
    row_group = resolve_group(session, principal, group, Action.BROWSE)
    row_product = find_product(session, row_group, product)
    row_version = find_version(session, row_group, row_product, version, lock=True)
    return row_group, row_product, row_version


class LifecycleService:
    """The requests filed on one server (upgrade, acceptance, check-in, check-out)."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Clock,
        settings: Settings,
        plugins: Plugins = NO_PLUGINS,
        notices: Notices = NO_NOTICES,
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.settings = settings
        self.plugins = plugins
        self.notices = notices

    # -- finding things ----------------------------------------------------------------

    def _new_request(
        self,
        session: Session,
        principal: Principal,
        kind: Kind,
        group: Group,
        product: Product,
        version: Version | None,
        details: dict[str, Any],
        **columns: Any,
    ) -> Request:
        row = Request(
            kind=kind.value,
            state=RequestState.PENDING.value,
            group_id=group.id,
            product_id=product.id,
            version_id=version.id if version else None,
            requester=principal.username,
            requester_role=GroupRole.SOFTWARE_MANAGER.value,
            created_at=self.clock.now(),
            details=json.dumps(details, ensure_ascii=False, sort_keys=True),
            **columns,
        )
        session.add(row)
        session.flush()
        self.notices.filed(session, row.id)
        return row

    def _info(self, session: Session, row: Request) -> RequestInfo:
        return request_infos(session, [row])[0]

    # -- filing requests ---------------------------------------------------------------

    @records_refusals
    def request_upgrade(
        self,
        principal: Principal,
        group: str,
        product: str,
        target: str,
        reason: str,
        scope: str = "",
    ) -> RequestInfo:
        """File an upgrade request (升级申请) for ``product`` to version ``target``."""
        reason = text_field(reason, "reason")
        scope = text_field(scope, "scope", required=False)
        with self.db.write() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            row_product = find_product(session, row_group, product)
            target = validate_version(target, row_product.origin)
            ref = f"{group}/{product}@{target}"
            decision = decide_upgrade_request(
                principal.actor, product_facts(session, row_group, row_product), target
            )
            enforce(decision, principal, "upgrade.request", group=group, target=ref)
            taken = session.scalar(
                sa.select(Version.id).where(
                    Version.product_id == row_product.id, Version.version == target
                )
            )
            if taken is not None:
                raise Conflict(f"version {ref} exists already")
            pending = session.scalar(
                sa.select(Request.id).where(
                    Request.product_id == row_product.id,
                    Request.kind == Kind.UPGRADE.value,
                    Request.target_version == target,
                    Request.state.in_([RequestState.PENDING.value, RequestState.APPROVED.value]),
                )
            )
            if pending is not None:
                raise Conflict(f"upgrade request #{pending} for {ref} exists already")
            row = self._new_request(
                session,
                principal,
                Kind.UPGRADE,
                row_group,
                row_product,
                None,
                {"reason": reason, "scope": scope},
                target_version=target,
            )
            self.audit.record(
                session,
                principal,
                "upgrade.request",
                group=group,
                target=ref,
                role=GroupRole.SOFTWARE_MANAGER.value,
                details={"request": row.id, "reason": reason},
            )
            return self._info(session, row)

    @records_refusals
    def submit(
        self,
        principal: Principal,
        group: str,
        product: str,
        version: str,
        *,
        to: str | None = None,
        comment: str = "",
    ) -> RequestInfo:
        """Deliver a draft for acceptance (to one officer of the group, or to any)."""
        comment = text_field(comment, "comment", required=False)
        ref = f"{group}/{product}@{version}"
        with self.db.write() as session:
            row_group, row_product, row_version = locate(
                session, principal, group, product, version
            )
            facts = version_facts(session, row_group, row_product, row_version)
            decision = decide_step(principal.actor, Step.SUBMIT, facts)
            enforce(decision, principal, "version.submit", group=group, target=ref)
            if to:
                self._check_officer(session, row_group, to, principal.username, facts.uploaders)
            row = self._new_request(
                session,
                principal,
                Kind.ACCEPTANCE,
                row_group,
                row_product,
                row_version,
                {"comment": comment},
                assigned_to=to or None,
            )
            row_version.state = next_state(Step.SUBMIT, facts.state).value
            self.audit.record(
                session,
                principal,
                "version.submit",
                group=group,
                target=ref,
                role=GroupRole.SOFTWARE_MANAGER.value,
                details={
                    "request": row.id,
                    "to": to or "any acceptance officer",
                    "comment": comment,
                },
            )
            return self._info(session, row)

    @staticmethod
    def _check_officer(
        session: Session, group: Group, officer: str, submitter: str, uploaders: frozenset[str]
    ) -> None:
        holds = session.scalar(
            sa.select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.group_id == group.id,
                Membership.role == GroupRole.ACCEPTANCE_OFFICER.value,
                User.username == officer,
                User.active.is_(True),
            )
        )
        if holds is None:
            raise InvalidRequest(
                f"{officer!r} is not an acceptance officer of {group.name}", field="to"
            )
        if officer == submitter or officer in uploaders:
            raise InvalidRequest(
                f"{officer!r} delivered or uploaded this version and cannot accept it", field="to"
            )

    @records_refusals
    def request_checkin(
        self,
        principal: Principal,
        group: str,
        product: str,
        version: str,
        *,
        release_notes: str,
        documents: list[str] | None = None,
        items: list[dict[str, Any]] | None = None,
    ) -> RequestInfo:
        """File a check-in request (入库申请) with the version's archive information."""
        release_notes = text_field(release_notes, "release_notes")
        documents = list(documents or [])
        items = [self._item(item, n) for n, item in enumerate(items or [], 1)]
        ref = f"{group}/{product}@{version}"
        with self.db.write() as session:
            row_group, row_product, row_version = locate(
                session, principal, group, product, version
            )
            facts = replace(
                version_facts(session, row_group, row_product, row_version),
                blocks=self.plugins.blocks(VersionRef(group, product, version)),
            )
            decision = decide_step(principal.actor, Step.REQUEST_CHECKIN, facts)
            enforce(decision, principal, "checkin.request", group=group, target=ref)
            pending = self._pending(session, row_version, Kind.CHECKIN)
            if pending is not None:
                raise Conflict(f"check-in request #{pending} of {ref} is waiting for a decision")
            have = set(
                session.scalars(
                    sa.select(StoredFile.name).where(
                        StoredFile.version_id == row_version.id, StoredFile.role == "document"
                    )
                )
            )
            unknown = [name for name in documents if name not in have]
            if unknown:
                raise InvalidRequest(
                    f"{ref} has no document named {', '.join(map(repr, unknown))}",
                    field="documents",
                )
            row = self._new_request(
                session,
                principal,
                Kind.CHECKIN,
                row_group,
                row_product,
                row_version,
                {"release_notes": release_notes, "documents": documents, "items": items},
            )
            self.audit.record(
                session,
                principal,
                "checkin.request",
                group=group,
                target=ref,
                role=GroupRole.SOFTWARE_MANAGER.value,
                details={"request": row.id, "documents": documents, "items": len(items)},
            )
            return self._info(session, row)

    @staticmethod
    def _item(item: Any, number: int) -> dict[str, str]:
        if not isinstance(item, dict):
            raise InvalidRequest(f"physical item {number} must be an object", field="items")
        unknown = set(item) - set(ITEM_FIELDS)
        if unknown:
            raise InvalidRequest(
                f"physical item {number}: unknown field(s) {', '.join(sorted(unknown))}",
                field="items",
            )
        return {
            key: text_field(item.get(key), f"items[{number}].{key}", limit=200)
            for key in ITEM_FIELDS
        }

    @staticmethod
    def _pending(session: Session, version: Version, kind: Kind) -> int | None:
        return session.scalar(
            sa.select(Request.id).where(
                Request.version_id == version.id,
                Request.kind == kind.value,
                Request.state == RequestState.PENDING.value,
            )
        )

    @records_refusals
    def request_checkout(
        self,
        principal: Principal,
        group: str,
        product: str,
        version: str,
        *,
        purpose: str,
        days: int | None = None,
    ) -> RequestInfo:
        """File a check-out request (出库申请): take a checked-in version out, for a purpose."""
        purpose = text_field(purpose, "purpose")
        days = self.settings.checkout_default_days if days is None else days
        if (
            isinstance(days, bool)
            or not isinstance(days, int)
            or not 1 <= days <= self.settings.checkout_max_days
        ):
            raise InvalidRequest(
                f"days must be between 1 and {self.settings.checkout_max_days}", field="days"
            )
        ref = f"{group}/{product}@{version}"
        with self.db.write() as session:
            row_group, row_product, row_version = locate(
                session, principal, group, product, version
            )
            facts = replace(
                version_facts(session, row_group, row_product, row_version),
                blocks=self.plugins.blocks(VersionRef(group, product, version)),
            )
            decision = decide_step(principal.actor, Step.REQUEST_CHECKOUT, facts)
            enforce(decision, principal, "checkout.request", group=group, target=ref)
            row = self._new_request(
                session,
                principal,
                Kind.CHECKOUT,
                row_group,
                row_product,
                row_version,
                {"purpose": purpose, "days": days},
            )
            self.audit.record(
                session,
                principal,
                "checkout.request",
                group=group,
                target=ref,
                role=GroupRole.SOFTWARE_MANAGER.value,
                details={"request": row.id, "purpose": purpose, "days": days},
            )
            return self._info(session, row)
