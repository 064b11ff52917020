"""From rows to the plain facts the lifecycle rules weigh, and requests as the API shows them.

Used by every service that acts on a version (uploads, downloads, version creation,
requests), so that all of them ask :mod:`policies.lifecycle` the same questions.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.decisions import Decision
from policies.lifecycle import (
    IN_LIBRARY,
    Kind,
    ProductFacts,
    Registration,
    RequestFacts,
    RequestState,
    State,
    VersionFacts,
)
from policies.versions import Origin
from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.audit.services import AuditLog
from repo_server.auth.models import User
from repo_server.auth.principal import Principal
from repo_server.errors import Forbidden
from repo_server.groups.models import Group
from repo_server.lifecycle.models import Request
from repo_server.visibility import group_not_found

#: File roles that count as the version's content (a report is the officer's, not the maker's).
CONTENT_ROLES = ("artifact", "document")


def version_facts(
    session: Session, group: Group, product: Product, version: Version
) -> VersionFacts:
    """What the rules need to know about ``version``."""
    return _facts_of_versions(session, [(group, product, version)])[version.id]


def _facts_of_versions(
    session: Session, versions: Sequence[tuple[Group, Product, Version]]
) -> dict[int, VersionFacts]:
    """:func:`version_facts` of several versions at once (by version id), in three
    statements whatever their number: their uploads, their acceptances, their products'
    library versions."""
    ids = {version.id for _, _, version in versions}
    if not ids:
        return {}
    uploads: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
    for version_id, who, role in session.execute(
        sa.select(StoredFile.version_id, StoredFile.uploaded_by, StoredFile.role).where(
            StoredFile.version_id.in_(ids)
        )
    ):
        uploads[version_id].append((who, role))
    accepted: dict[int, str | None] = {}
    for accepted_id, decided_by in session.execute(
        sa.select(Request.version_id, Request.decided_by)
        .where(
            Request.version_id.in_(ids),
            Request.kind == Kind.ACCEPTANCE.value,
            Request.state == RequestState.APPROVED.value,
        )
        .order_by(Request.id)
    ):
        if accepted_id is not None:
            accepted.setdefault(accepted_id, decided_by)
    in_library: dict[int, list[tuple[int, str]]] = {}
    for product_id, version_id, number in session.execute(
        sa.select(Version.product_id, Version.id, Version.version).where(
            Version.product_id.in_({product.id for _, product, _ in versions}),
            Version.state.in_([s.value for s in IN_LIBRARY]),
        )
    ):
        in_library.setdefault(product_id, []).append((version_id, number))
    return {
        version.id: VersionFacts(
            group=group.name,
            product=product.name,
            version=version.version,
            origin=Origin(product.origin),
            state=State(version.state),
            uploaders=frozenset(w for w, role in uploads[version.id] if role in CONTENT_ROLES),
            artifact_count=sum(1 for _, role in uploads[version.id] if role == "artifact"),
            library_versions=tuple(n for i, n in in_library.get(product.id, []) if i != version.id),
            accepted_by=accepted.get(version.id),
        )
        for group, product, version in versions
    }


def facts_for_request(
    session: Session, row: Request, group: Group, product: Product
) -> VersionFacts:
    """The facts of the version a request is about (an upgrade's not-yet-existing target)."""
    version = session.get(Version, row.version_id) if row.version_id is not None else None
    if version is not None:
        return version_facts(session, group, product, version)
    return _target_facts(row, group, product)


def _target_facts(row: Request, group: Group, product: Product) -> VersionFacts:
    return VersionFacts(
        group.name, product.name, row.target_version or "", Origin(product.origin), State.DRAFT
    )


def facts_for_requests(session: Session, rows: Sequence[Request]) -> dict[int, VersionFacts]:
    """:func:`facts_for_request` of each of ``rows`` (by request id), read together: five
    statements for any number of requests (the inbox decides a page of them at once)."""
    if not rows:
        return {}
    places = {
        product.id: (group, product)
        for group, product in session.execute(
            sa.select(Group, Product)
            .join(Product, Product.group_id == Group.id)
            .where(Product.id.in_({r.product_id for r in rows}))
        )
    }
    wanted = {r.version_id for r in rows if r.version_id is not None}
    found = (
        {v.id: v for v in session.scalars(sa.select(Version).where(Version.id.in_(wanted)))}
        if wanted
        else {}
    )
    about = {
        r.id: (*places[r.product_id], found[r.version_id])
        for r in rows
        if r.version_id is not None and r.version_id in found
    }
    facts = _facts_of_versions(
        session, list({v.id: (g, p, v) for g, p, v in about.values()}.values())
    )
    return {
        r.id: facts[about[r.id][2].id] if r.id in about else _target_facts(r, *places[r.product_id])
        for r in rows
    }


def library_versions(
    session: Session, product: Product, exclude: int | None = None
) -> tuple[str, ...]:
    """The version numbers of ``product`` that are in the library (checked in or retired)."""
    query = sa.select(Version.version).where(
        Version.product_id == product.id, Version.state.in_([s.value for s in IN_LIBRARY])
    )
    if exclude is not None:
        query = query.where(Version.id != exclude)
    return tuple(session.scalars(query))


def product_facts(session: Session, group: Group, product: Product) -> ProductFacts:
    """What the rules need to know about ``product`` when a version is created."""
    approved = session.scalars(
        sa.select(Request.target_version).where(
            Request.product_id == product.id,
            Request.kind == Kind.UPGRADE.value,
            Request.state == RequestState.APPROVED.value,
        )
    )
    return ProductFacts(
        group=group.name,
        product=product.name,
        origin=Origin(product.origin),
        library_versions=library_versions(session, product),
        approved_upgrades=tuple(t for t in approved if t),
        registration=Registration(product.registration),
    )


def request_facts(row: Request) -> RequestFacts:
    """What the rules need to know about one request."""
    return RequestFacts(
        kind=Kind(row.kind),
        state=RequestState(row.state),
        requester=row.requester,
        assigned_to=row.assigned_to,
        expires_at=row.expires_at,
        target_version=row.target_version,
    )


def requests_of(session: Session, version: Version) -> list[Request]:
    """Every request about ``version`` (acceptance, check-in, check-out), oldest first."""
    return list(
        session.scalars(
            sa.select(Request).where(Request.version_id == version.id).order_by(Request.id)
        )
    )


class Refusal(Forbidden):
    """A refusal by the rules that still has to be written to the audit trail.

    It is raised inside the service's transaction (which then rolls back) and recorded
    by :func:`records_refusals` once that transaction is over: on SQLite a second writer
    inside the first one's transaction would wait for itself.
    """

    def __init__(
        self,
        decision: Decision,
        principal: Principal,
        action: str,
        *,
        group: str,
        target: str,
        role: str,
    ) -> None:
        super().__init__(decision.reason, rule=decision.rule)
        self.principal = principal
        self.record = {
            "action": action,
            "group": group,
            "target": target,
            "role": role,
            "rule": decision.rule,
            "reason": decision.reason,
        }


class Audited(Protocol):
    """A service with an audit trail."""

    audit: AuditLog


S = TypeVar("S", bound=Audited)
P = ParamSpec("P")
R = TypeVar("R")


def records_refusals(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Decorate a service method so that every :class:`Refusal` it raises is audited."""

    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except Refusal as refusal:
            fields = dict(refusal.record)
            self.audit.record_refusal(refusal.principal, fields.pop("action"), **fields)
            raise

    functools.update_wrapper(wrapper, method)
    return wrapper


def enforce(
    decision: Decision,
    principal: Principal,
    action: str,
    *,
    group: str,
    target: str,
    role: str = "",
) -> None:
    """Raise for a refused ``decision``: "not found" if hidden, else a :class:`Refusal`.

    The method that calls it must be decorated with :func:`records_refusals`.
    """
    if decision.allowed:
        return
    if decision.hidden:
        raise group_not_found(group)
    raise Refusal(decision, principal, action, group=group, target=target, role=role)


@dataclass(frozen=True)
class RequestInfo:
    """A request as the API and the pages show it."""

    id: int
    kind: str
    state: str
    group: str
    product: str
    version: str | None
    requester: str
    requester_role: str
    assigned_to: str | None
    created_at: datetime
    decided_by: str | None
    decided_role: str | None
    decided_at: datetime | None
    comment: str
    expires_at: datetime | None
    details: dict[str, Any] = field(default_factory=dict)
    #: The person the decider stood in for, if she decided as a stand-in.
    decided_for: str | None = None
    #: The requester's display name (her user name when she has none).
    requester_name: str = ""

    @classmethod
    def of(
        cls, row: Request, group: str, product: str, version: str | None, requester_name: str = ""
    ) -> RequestInfo:
        """The facts of a request row (with the names of what it is about)."""
        return cls(
            row.id,
            row.kind,
            row.state,
            group,
            product,
            version if version is not None else (row.target_version or ""),
            row.requester,
            row.requester_role,
            row.assigned_to,
            row.created_at,
            row.decided_by,
            row.decided_role,
            row.decided_at,
            row.comment,
            row.expires_at,
            json.loads(row.details or "{}"),
            row.decided_for,
            requester_name or row.requester,
        )

    @property
    def ref(self) -> str:
        """``group/product@version`` (an upgrade's target version, a registration's first
        version; ``group/product`` for a registration without one)."""
        if not self.version:
            return f"{self.group}/{self.product}"
        return f"{self.group}/{self.product}@{self.version}"

    @property
    def title(self) -> str:
        """A one-line description, e.g. ``check-in of team/app@1.2.0``."""
        what = {
            "upgrade": "upgrade to",
            "acceptance": "acceptance of",
            "checkin": "check-in of",
            "checkout": "check-out of",
            "register": "registration of",
        }[self.kind]
        return f"{what} {self.ref}"


def request_infos(session: Session, rows: Sequence[Request]) -> list[RequestInfo]:
    """Request rows with the names of their groups, products and versions."""
    if not rows:
        return []
    names = {
        (g.id, p.id): (g.name, p.name)
        for g, p in session.execute(
            sa.select(Group, Product)
            .join(Product, Product.group_id == Group.id)
            .where(Product.id.in_({r.product_id for r in rows}))
        )
    }
    wanted = {r.version_id for r in rows if r.version_id is not None}
    query = sa.select(Version.id, Version.version).where(Version.id.in_(wanted))
    versions: dict[int, str] = {row.id: row.version for row in session.execute(query)}
    named = sa.select(User.username, User.display_name).where(
        User.username.in_({r.requester for r in rows})
    )
    people: dict[str, str] = dict(session.execute(named).all())
    infos = []
    for row in rows:
        group, product = names[(row.group_id, row.product_id)]
        version = versions.get(row.version_id) if row.version_id is not None else None
        infos.append(RequestInfo.of(row, group, product, version, people.get(row.requester, "")))
    return infos
