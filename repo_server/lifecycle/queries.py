"""Reading requests: one request in full, the inbox, my requests, a version's history.

Called by the API (``GET /api/v1/requests...``, ``.../history``, ``.../feedback``) and by
the approval pages. Whether the caller may decide a request is asked of the same rules
that decide it, so a page never shows a button the server would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from policies.access import Action
from policies.decisions import Decision
from policies.lifecycle import IN_LIBRARY, Kind, RequestState, Step, VersionFacts, decide_step
from policies.lifecycle.deciders import Deciding, deciding
from repo_server.artifacts.facts import FileInfo, VersionInfo
from repo_server.artifacts.lookup import files_of, find_product, find_version
from repo_server.artifacts.models import Product, Version
from repo_server.audit.services import AuditEntry, AuditLog
from repo_server.auth.models import User
from repo_server.auth.principal import Principal
from repo_server.db import Database
from repo_server.errors import InvalidRequest, NotFound
from repo_server.groups.models import Group
from repo_server.lifecycle.facts import (
    RequestInfo,
    facts_for_requests,
    request_facts,
    request_infos,
)
from repo_server.lifecycle.models import ArchiveItem, Feedback, Request
from repo_server.paging import EVERYTHING, Page, PageRequest, by_id
from repo_server.visibility import resolve_group, visible_groups


@dataclass(frozen=True)
class RequestDetail:
    """Everything a decider looks at: the request, the version and its files, the archive
    information, the history, and whether this caller may approve or refuse."""

    request: RequestInfo
    version: VersionInfo | None
    #: The version's latest acceptance decision (who tested it, the result, the report).
    acceptance: RequestInfo | None
    archive_items: tuple[dict[str, str], ...]
    history: tuple[AuditEntry, ...]
    approve: Decision
    refuse: Decision


@dataclass(frozen=True)
class FeedbackInfo:
    """One usage-feedback record."""

    author: str
    text: str
    created_at: datetime


class RequestQueries:
    """The read side of the lifecycle."""

    def __init__(self, db: Database, audit: AuditLog) -> None:
        self.db = db
        self.audit = audit

    def counts(self) -> list[tuple[str, str, int]]:
        """How many requests there are of each (kind, state), for the operators' metrics."""
        with self.db.read() as session:
            rows = session.execute(
                sa.select(Request.kind, Request.state, sa.func.count()).group_by(
                    Request.kind, Request.state
                )
            ).all()
        return [(str(kind), str(state), int(count)) for kind, state, count in rows]

    @staticmethod
    def _decisions(
        principal: Principal, facts: VersionFacts, row: Request
    ) -> tuple[Decision, Decision]:
        """Whether the caller may approve and refuse ``row`` (about ``facts``' version)."""
        request = request_facts(row)
        return (
            decide_step(principal.actor, Step.APPROVE, facts, request, comment="-"),
            decide_step(principal.actor, Step.REFUSE, facts, request, comment="-"),
        )

    def get(self, principal: Principal, request_id: int) -> RequestDetail:
        """One request with all a decider needs to see; "not found" if not visible."""
        with self.db.read() as session:
            row = session.get(Request, request_id)
            group = session.get(Group, row.group_id) if row is not None else None
            if row is None or group is None or not self._visible(session, principal, group.name):
                raise NotFound(f"request #{request_id} not found")
            info = request_infos(session, [row])[0]
            version = None
            acceptance = None
            items: tuple[dict[str, str], ...] = ()
            history: tuple[AuditEntry, ...] = ()
            if row.version_id is not None:
                version_row = session.get(Version, row.version_id)
                assert version_row is not None
                files = tuple(FileInfo.of(f) for f in files_of(session, version_row))
                version = VersionInfo.of(info.group, info.product, version_row, files)
                decided = session.scalar(
                    sa.select(Request)
                    .where(
                        Request.version_id == row.version_id,
                        Request.kind == "acceptance",
                        Request.state != RequestState.PENDING.value,
                    )
                    .order_by(Request.id.desc())
                    .limit(1)
                )
                if decided is not None:
                    acceptance = request_infos(session, [decided])[0]
                items = tuple(
                    {
                        "kind": i.kind,
                        "label": i.label,
                        "location": i.location,
                        "custodian": i.custodian,
                    }
                    for i in session.scalars(
                        sa.select(ArchiveItem).where(ArchiveItem.request_id == row.id)
                    )
                )
            facts = facts_for_requests(session, [row])[row.id]
            approve, refuse = self._decisions(principal, facts, row)
        if version is not None:
            history = self.audit.history(version.ref).items
        if row.kind == "checkin" and not items:
            items = tuple(info.details.get("items", []))
        return RequestDetail(info, version, acceptance, items, history, approve, refuse)

    @staticmethod
    def _visible(session: Session, principal: Principal, group: str) -> bool:
        try:
            resolve_group(session, principal, group, Action.BROWSE)
        except NotFound:
            return False
        return True

    def inbox(
        self,
        principal: Principal,
        page: PageRequest = EVERYTHING,
        *,
        group: str | None = None,
        kind: str | None = None,
        text: str | None = None,
    ) -> Page[RequestInfo]:
        """Pending requests that wait for this caller's decision, oldest first (of a
        ``group``, a ``kind``, naming ``text`` in their product, version or requester).

        SQL keeps only the requests the caller could decide at all (:func:`deciding`: not
        her own, of a kind her roles decide, about a version in the state it is decided
        in); the rules then weigh each, on facts read for a whole batch at once."""
        facts: dict[int, VersionFacts] = {}
        with self.db.read() as session:
            rows = self._page(
                session,
                principal,
                page,
                scope=f"requests:inbox:{group or ''}:{kind or ''}:{text or ''}",
                group=group,
                kind=kind,
                text=text,
                state=RequestState.PENDING.value,
                newest_first=False,
                narrow=_could_decide(deciding(principal.actor)),
                prepare=lambda batch: facts.update(facts_for_requests(session, batch)),
                keep=lambda row: any(
                    d.allowed for d in self._decisions(principal, facts[row.id], row)
                ),
            )
            return _infos(session, rows)

    def mine(self, principal: Principal, page: PageRequest = EVERYTHING) -> Page[RequestInfo]:
        """The requests this caller filed, newest first."""
        with self.db.read() as session:
            rows = by_id(
                session,
                sa.select(Request).where(Request.requester == principal.username),
                Request.id,
                page,
                scope=f"requests:mine:{principal.username}",
                newest_first=True,
            )
            return _infos(session, rows)

    def search(
        self,
        principal: Principal,
        *,
        group: str | None = None,
        state: str | None = None,
        kind: str | None = None,
        page: PageRequest = EVERYTHING,
        text: str | None = None,
        requester: str | None = None,
    ) -> Page[RequestInfo]:
        """Requests in the groups this caller sees, newest first, filtered (``text``: in
        the product, the version or the requester's name; ``requester``: filed by)."""
        if state is not None and state not in {s.value for s in RequestState}:
            raise InvalidRequest(f"unknown request state {state!r}", field="state")
        with self.db.read() as session:
            scope = (
                f"requests:all:{group or ''}:{state or ''}:{kind or ''}:{text or ''}"
                f":{requester or ''}"
            )
            rows = self._page(
                session,
                principal,
                page,
                scope=scope,
                group=group,
                state=state,
                kind=kind,
                text=text,
                requester=requester,
            )
            return _infos(session, rows)

    def _page(
        self,
        session: Session,
        principal: Principal,
        page: PageRequest,
        *,
        scope: str,
        group: str | None = None,
        state: str | None = None,
        kind: str | None = None,
        text: str | None = None,
        requester: str | None = None,
        newest_first: bool = True,
        narrow: sa.ColumnElement[bool] | None = None,
        prepare: Callable[[list[Request]], None] | None = None,
        keep: Callable[[Request], bool] | None = None,
    ) -> Page[Request]:
        query = sa.select(Request).join(Group, Group.id == Request.group_id)
        if narrow is not None:
            query = query.where(narrow)
        if text:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            named = sa.select(User.username).where(User.display_name.ilike(like, escape="\\"))
            query = (
                query.join(Product, Product.id == Request.product_id)
                .outerjoin(Version, Version.id == Request.version_id)
                .where(
                    sa.or_(
                        Product.name.ilike(like, escape="\\"),
                        Version.version.ilike(like, escape="\\"),
                        Request.target_version.ilike(like, escape="\\"),
                        Request.requester.ilike(like, escape="\\"),
                        Request.requester.in_(named),
                    )
                )
            )
        if requester:
            query = query.where(Request.requester == requester)
        names = visible_groups(principal)
        if names is not None:
            query = query.where(Group.name.in_(names))
        if group:
            query = query.where(Group.name == group)
        if state:
            query = query.where(Request.state == state)
        if kind:
            query = query.where(Request.kind == kind)
        return by_id(
            session,
            query,
            Request.id,
            page,
            scope=scope,
            newest_first=newest_first,
            keep=keep,
            prepare=prepare,
        )

    def for_version(
        self,
        principal: Principal,
        group: str,
        product: str,
        version: str,
        page: PageRequest = EVERYTHING,
    ) -> Page[RequestInfo]:
        """The requests about one version, oldest first."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            row_version = find_version(
                session, row_group, find_product(session, row_group, product), version
            )
            rows = by_id(
                session,
                sa.select(Request).where(Request.version_id == row_version.id),
                Request.id,
                page,
                scope=f"requests:{group}/{product}@{row_version.version}",
            )
            return _infos(session, rows)

    def upgrades(
        self, principal: Principal, group: str, product: str, page: PageRequest = EVERYTHING
    ) -> Page[RequestInfo]:
        """The upgrade requests of one product, newest first."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            row_product = find_product(session, row_group, product)
            rows = by_id(
                session,
                sa.select(Request).where(
                    Request.product_id == row_product.id, Request.kind == "upgrade"
                ),
                Request.id,
                page,
                scope=f"upgrades:{group}/{product}",
                newest_first=True,
            )
            return _infos(session, rows)

    def history(
        self,
        principal: Principal,
        group: str,
        product: str,
        version: str,
        page: PageRequest = EVERYTHING,
    ) -> Page[AuditEntry]:
        """A page of everything that happened to one version, oldest first."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            find_version(session, row_group, find_product(session, row_group, product), version)
        return self.audit.history(f"{group}/{product}@{version}", page)

    def feedback(
        self,
        principal: Principal,
        group: str,
        product: str,
        version: str,
        page: PageRequest = EVERYTHING,
    ) -> Page[FeedbackInfo]:
        """A page of the usage feedback on one version, oldest first."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            row_version = find_version(
                session, row_group, find_product(session, row_group, product), version
            )
            rows = by_id(
                session,
                sa.select(Feedback).where(Feedback.version_id == row_version.id),
                Feedback.id,
                page,
                scope=f"feedback:{group}/{product}@{version}",
            )
            return rows.map(lambda f: FeedbackInfo(f.author, f.text, f.created_at))


def _could_decide(scope: Deciding) -> sa.ColumnElement[bool]:
    """:class:`Deciding` as SQL over ``requests`` joined to ``groups``, read along
    ``ix_requests_state_id`` (the pending ones)."""
    about = aliased(Version)  # the text filter may join ``versions`` itself
    # Versions pass through a state (submitted, accepted) and stay in the library: a state
    # they pass through is a short range of ``ix_versions_state_id``, read once; a library
    # state is looked up by key for each pending request (reading its range would grow
    # with the library).
    version_state = sa.select(about.state).where(about.id == Request.version_id).scalar_subquery()
    kinds = []
    for kind in Kind:
        if kind in scope.everywhere:
            where = [Request.kind == kind.value]
        elif scope.in_groups.get(kind):
            where = [Request.kind == kind.value, Group.name.in_(sorted(scope.in_groups[kind]))]
        else:
            continue
        state = scope.version_state.get(kind)
        if state is not None:
            where.append(
                version_state == state.value
                if state in IN_LIBRARY
                else Request.version_id.in_(sa.select(about.id).where(about.state == state.value))
            )
        if kind in scope.assigned:
            where.append(
                sa.or_(
                    Request.assigned_to.is_(None),
                    Request.assigned_to == "",
                    Request.assigned_to == scope.username,
                )
            )
        kinds.append(sa.and_(*where))
    if not kinds:
        return sa.false()
    return sa.and_(Request.requester != scope.username, sa.or_(*kinds))


def _infos(session: Session, rows: Page[Request]) -> Page[RequestInfo]:
    """A page of request rows as facts (read together: one query for their groups)."""
    return Page(tuple(request_infos(session, list(rows.items))), rows.next, rows.previous)
