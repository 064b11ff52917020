"""The register of physical items (实物归档): each item with its identifier, kind, label,
location and custodian, linked to its version; moves, custodian changes, loans (借出) and
returns (归还) recorded as steps with who and when, and in the audit trail.

Called by the API (``/api/v1/items...``, ``.../versions/V/items``), ``depot item`` and the
items page. :mod:`policies.archive` decides; items of a group the caller cannot see do not
exist for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action, GlobalRole
from policies.archive import ItemFacts, ItemStatus, ItemStep, decide_item, overdue
from policies.lifecycle import State
from repo_server.artifacts.models import Product, Version
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Conflict, InvalidRequest, NotFound
from repo_server.groups.models import Group
from repo_server.lifecycle.facts import enforce, records_refusals
from repo_server.lifecycle.items import new_item
from repo_server.lifecycle.models import ArchiveItem, ArchiveItemEvent
from repo_server.lifecycle.services import locate, text_field
from repo_server.paging import EVERYTHING, Page, PageRequest, fetch
from repo_server.visibility import resolve_group, visible_groups

ITEM_FIELDS = ("kind", "label", "location", "custodian")
ROLE = GlobalRole.VERSION_MANAGER.value


@dataclass(frozen=True)
class ItemEvent:
    """One recorded step of an item."""

    action: str
    actor: str
    at: datetime
    before: str
    after: str
    due_at: datetime | None
    comment: str


@dataclass(frozen=True)
class ItemInfo:
    """A physical item as the register shows it."""

    identifier: str
    kind: str
    label: str
    location: str
    custodian: str
    status: str
    holder: str | None
    due_at: datetime | None
    #: On loan past its due date.
    overdue: bool
    group: str
    product: str
    version: str
    created_at: datetime | None
    created_by: str | None
    #: The check-in request it came with, if any.
    request: int | None
    events: tuple[ItemEvent, ...] = ()

    @property
    def ref(self) -> str:
        """The version it belongs to, ``group/product@version``."""
        return f"{self.group}/{self.product}@{self.version}"


@dataclass(frozen=True)
class ItemFilter:
    """What narrows the register: group, ``status``, only ``overdue`` loans, a text ``q``
    (identifier, kind, label, location, custodian, holder, product)."""

    group: str = ""
    status: str = ""
    overdue: bool = False
    q: str = ""
    #: Only the items of one product, or of one version of it (the version page's box).
    product: str = ""
    version: str = ""


class ItemService:
    """The physical items of one server's library."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock

    # -- reading -------------------------------------------------------------------

    def list(
        self, principal: Principal, wanted: ItemFilter, page: PageRequest = EVERYTHING
    ) -> Page[ItemInfo]:
        """A page of the items the caller may see, the latest added first."""
        if wanted.status and wanted.status not in {s.value for s in ItemStatus}:
            raise InvalidRequest(f"unknown item status {wanted.status!r}", field="status")
        now = self.clock.now()
        with self.db.read() as session:
            query = _joined()
            names = visible_groups(principal)
            if names is not None:
                query = query.where(Group.name.in_(names))
            if wanted.group:
                query = query.where(Group.name == wanted.group)
            if wanted.product:
                query = query.where(Product.name == wanted.product)
            if wanted.version:
                query = query.where(Version.version == wanted.version)
            if wanted.status:
                query = query.where(ArchiveItem.status == wanted.status)
            if wanted.overdue:
                query = query.where(
                    ArchiveItem.status == ItemStatus.ON_LOAN.value, ArchiveItem.due_at < now
                )
            if wanted.q.strip():
                like = f"%{wanted.q.strip().lower()}%"
                columns = (
                    ArchiveItem.identifier,
                    ArchiveItem.kind,
                    ArchiveItem.label,
                    ArchiveItem.location,
                    ArchiveItem.custodian,
                    sa.func.coalesce(ArchiveItem.holder, ""),
                    Product.name,
                )
                query = query.where(sa.or_(*(sa.func.lower(c).like(like) for c in columns)))
            scope = (
                f"items:{wanted.group}:{wanted.status}:{wanted.overdue}:{wanted.q}"
                f":{wanted.product}:{wanted.version}"
            )
            rows = fetch(
                session,
                query,
                (ArchiveItem.id,),
                page,
                scope=scope,
                key=lambda row: (row[0].id,),
                descending=True,
            )
            return rows.map(lambda row: _info(row, now))

    def get(self, principal: Principal, identifier: str) -> ItemInfo:
        """One item with its recorded steps, oldest first."""
        with self.db.read() as session:
            row = self._find(session, principal, identifier)
            events = tuple(
                ItemEvent(e.action, e.actor, e.at, e.before, e.after, e.due_at, e.comment)
                for e in session.scalars(
                    sa.select(ArchiveItemEvent)
                    .where(ArchiveItemEvent.item_id == row[0].id)
                    .order_by(ArchiveItemEvent.id)
                )
            )
            info = _info(row, self.clock.now())
        return ItemInfo(**{**vars(info), "events": events})

    # -- changing ------------------------------------------------------------------

    @records_refusals
    def add(
        self,
        principal: Principal,
        group: str,
        product: str,
        version: str,
        fields: dict[str, Any],
        identifier: str | None = None,
    ) -> ItemInfo:
        """Add a physical item of a version to the register (the version manager)."""
        values = {key: text_field(fields.get(key), key, limit=200) for key in ITEM_FIELDS}
        mark = text_field(identifier, "identifier", required=False, limit=100) or None
        ref = f"{group}/{product}@{version}"
        with self.db.write(conflict=f"an item {mark!r} exists already") as session:
            _, _, row_version = locate(session, principal, group, product, version)
            facts = ItemFacts(group, State(row_version.state))
            decision = decide_item(principal.actor, ItemStep.ADD, facts, now=self.clock.now())
            enforce(decision, principal, "item.add", group=group, target=ref, role=ROLE)
            if mark is not None and session.scalar(
                sa.select(ArchiveItem.id).where(ArchiveItem.identifier == mark)
            ):
                raise Conflict(f"an item {mark!r} exists already")
            item = new_item(
                session,
                version_id=row_version.id,
                request_id=None,
                fields=values,
                actor=principal.username,
                now=self.clock.now(),
                identifier=mark,
            )
            self.audit.record(
                session,
                principal,
                "item.add",
                group=group,
                target=ref,
                role=ROLE,
                details={"item": item.identifier, **values},
            )
            identifier = item.identifier
        return self.get(principal, identifier)

    @records_refusals
    def step(
        self,
        principal: Principal,
        identifier: str,
        step: ItemStep,
        *,
        value: str = "",
        due: datetime | None = None,
        comment: str = "",
    ) -> ItemInfo:
        """Move an item (``value``: the new location), change its custodian (``value``),
        lend it (``value``: the holder, until ``due``) or take it back."""
        comment = text_field(comment, "comment", required=False)
        field = {ItemStep.MOVE: "location", ItemStep.CUSTODIAN: "custodian"}.get(step, "holder")
        if step is not ItemStep.RETURN:
            value = text_field(value, field, limit=200)
        now = self.clock.now()
        with self.db.write() as session:
            row = self._find(session, principal, identifier, lock=True)
            item, version, product, group = row
            ref = f"{group.name}/{product.name}@{version.version}"
            facts = ItemFacts(
                group.name, State(version.state), ItemStatus(item.status), item.due_at
            )
            decision = decide_item(principal.actor, step, facts, now=now, due=due)
            enforce(decision, principal, f"item.{step}", group=group.name, target=ref, role=ROLE)
            before = {
                ItemStep.MOVE: item.location,
                ItemStep.CUSTODIAN: item.custodian,
                ItemStep.LEND: "",
                ItemStep.RETURN: item.holder or "",
            }[step]
            if step is ItemStep.MOVE:
                item.location = value
            elif step is ItemStep.CUSTODIAN:
                item.custodian = value
            elif step is ItemStep.LEND:
                item.status, item.holder, item.due_at = ItemStatus.ON_LOAN.value, value, due
            else:
                item.status, item.holder, item.due_at = ItemStatus.IN_ARCHIVE.value, None, None
            session.add(
                ArchiveItemEvent(
                    item_id=item.id,
                    action=step.value,
                    actor=principal.username,
                    at=now,
                    before=before,
                    after=value,
                    due_at=due if step is ItemStep.LEND else None,
                    comment=comment,
                )
            )
            details: dict[str, Any] = {"item": item.identifier, "from": before, "to": value}
            if due is not None and step is ItemStep.LEND:
                details["due"] = due.isoformat()
            self.audit.record(
                session,
                principal,
                f"item.{step}",
                group=group.name,
                target=ref,
                role=ROLE,
                reason=comment,
                details=details,
            )
        return self.get(principal, identifier)

    @staticmethod
    def _find(
        session: Session, principal: Principal, identifier: str, *, lock: bool = False
    ) -> Any:
        query = _joined().where(ArchiveItem.identifier == identifier)
        row = session.execute(query.with_for_update(of=ArchiveItem) if lock else query).first()
        missing = NotFound(f"physical item {identifier!r} not found")
        if row is None:
            raise missing
        try:
            resolve_group(session, principal, row[3].name, Action.BROWSE)
        except NotFound:
            raise missing from None
        return row


def _joined() -> sa.Select[Any]:
    return cast(
        "sa.Select[Any]",
        sa.select(ArchiveItem, Version, Product, Group)
        .join(Version, Version.id == ArchiveItem.version_id)
        .join(Product, Product.id == Version.product_id)
        .join(Group, Group.id == Product.group_id),
    )


def _info(row: Any, now: datetime) -> ItemInfo:
    item, version, product, group = row
    return ItemInfo(
        item.identifier,
        item.kind,
        item.label,
        item.location,
        item.custodian,
        item.status,
        item.holder,
        item.due_at,
        overdue(ItemStatus(item.status), item.due_at, now),
        group.name,
        product.name,
        version.version,
        item.created_at,
        item.created_by,
        item.request_id,
    )
