"""The library register (版本信息台账): every version in the library, across groups.

The version manager keeps the version information of every product (article 5); this is
her register and the auditors'. Called by the API (``GET /api/v1/register``,
``.../register/export``), ``depot register`` and the register page. Each caller sees the
groups whose records they see (:func:`repo_server.visibility.visible_groups`).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.lifecycle import IN_LIBRARY, Block, Kind, RequestState, State
from repo_server.artifacts.models import Product, Version
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import InvalidRequest
from repo_server.groups.models import Group
from repo_server.hooks import NO_PLUGINS, Plugins, VersionRef
from repo_server.lifecycle.models import Request
from repo_server.paging import EVERYTHING, Page, PageRequest, fetch
from repo_server.visibility import visible_groups

#: Where a version in the library stands, as the register says it.
STATES = ("in_library", "checked_out", "retired", "quarantined")
#: The columns of the CSV export, in order.
COLUMNS = (
    "library_number",
    "ref",
    "group",
    "product",
    "version",
    "category",
    "origin",
    "vendor",
    "checked_in_at",
    "requested_by",
    "accepted_by",
    "checked_in_by",
    "state",
    "checked_out_until",
)


@dataclass(frozen=True)
class RegisterEntry:
    """One version in the library as the register lists it."""

    library_number: int | None
    group: str
    product: str
    version: str
    category: str
    origin: str
    vendor: str | None
    #: When the check-in was approved, who filed it, who accepted the version, who approved.
    checked_in_at: datetime | None
    requested_by: str | None
    accepted_by: str | None
    checked_in_by: str | None
    #: ``in_library``, ``checked_out`` (an approved check-out runs), ``retired``,
    #: ``quarantined`` (a plugin stops its use).
    state: str
    #: The end of the latest running check-out, while one runs.
    checked_out_until: datetime | None

    @property
    def ref(self) -> str:
        """``group/product@version``."""
        return f"{self.group}/{self.product}@{self.version}"


@dataclass(frozen=True)
class RegisterFilter:
    """What narrows the register: group, category, origin, state and a text ``q`` that
    matches the product, the version or the vendor."""

    group: str = ""
    category: str = ""
    origin: str = ""
    state: str = ""
    q: str = ""

    def scope(self) -> str:
        """The listing's name for its cursors (a cursor is not replayed with other filters)."""
        return "register:" + ":".join(asdict(self).values())


@dataclass(frozen=True)
class RegisterCount:
    """How many versions of one group's products of one category the register holds, and
    where they stand."""

    group: str
    category: str
    versions: int
    in_library: int
    checked_out: int
    retired: int
    quarantined: int


@dataclass(frozen=True)
class RegisterMonth:
    """The check-ins and check-outs approved in one month (``YYYY-MM``, UTC)."""

    month: str
    checkins: int
    checkouts: int


@dataclass(frozen=True)
class RegisterStatistics:
    """The register in figures: counts per group and category, and per month."""

    counts: tuple[RegisterCount, ...]
    months: tuple[RegisterMonth, ...]


class LibraryRegister:
    """Reads the library register of one server."""

    def __init__(self, db: Database, clock: Clock, plugins: Plugins = NO_PLUGINS) -> None:
        self.db = db
        self.clock = clock
        self.plugins = plugins

    def entries(
        self, principal: Principal, wanted: RegisterFilter, page: PageRequest = EVERYTHING
    ) -> Page[RegisterEntry]:
        """A page of the register, the latest created versions first."""
        if wanted.state and wanted.state not in STATES:
            raise InvalidRequest(
                f"unknown register state {wanted.state!r}; use one of: {', '.join(STATES)}",
                field="state",
            )
        now = self.clock.now()
        with self.db.read() as session:
            query = _query(principal, wanted)
            made: dict[int, RegisterEntry] = {}

            def prepare(batch: list[Any]) -> None:
                made.update(self._entries(session, batch, now))

            rows = fetch(
                session,
                query,
                (Version.id,),
                page,
                scope=wanted.scope(),
                key=lambda row: (row[0].id,),
                descending=True,
                keep=(lambda row: made[row[0].id].state == wanted.state) if wanted.state else None,
                prepare=prepare,
            )
            return rows.map(lambda row: made[row[0].id])

    def statistics(self, principal: Principal, wanted: RegisterFilter) -> RegisterStatistics:
        """The register (filtered) in figures: per group and category, how many versions
        and in which state; per month, the check-ins and check-outs of those versions
        that were approved then, oldest month first."""
        rows = self.entries(principal, wanted).items
        tally: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for entry in rows:
            tally[entry.group, entry.category][entry.state] += 1
        counts = tuple(
            RegisterCount(
                group,
                category,
                sum(states.values()),
                *(states[state] for state in STATES),
            )
            for (group, category), states in sorted(tally.items())
        )
        refs = {(e.group, e.product, e.version) for e in rows}
        months: dict[str, Counter[str]] = defaultdict(Counter)
        with self.db.read() as session:
            decided = session.execute(
                sa.select(
                    Group.name, Product.name, Version.version, Request.kind, Request.decided_at
                )
                .select_from(Request)
                .join(Version, Version.id == Request.version_id)
                .join(Product, Product.id == Version.product_id)
                .join(Group, Group.id == Product.group_id)
                .where(
                    Request.state == RequestState.APPROVED.value,
                    Request.kind.in_([Kind.CHECKIN.value, Kind.CHECKOUT.value]),
                    Request.decided_at.is_not(None),
                )
            )
            for group, product, version, kind, at in decided:
                if at is not None and (group, product, version) in refs:
                    months[at.strftime("%Y-%m")][kind] += 1
        return RegisterStatistics(
            counts,
            tuple(
                RegisterMonth(month, kinds[Kind.CHECKIN.value], kinds[Kind.CHECKOUT.value])
                for month, kinds in sorted(months.items())
            ),
        )

    def csv(self, principal: Principal, wanted: RegisterFilter) -> Iterator[str]:
        """The whole register (filtered) as CSV lines, the column names first. A cell that
        starts with = + - @ is prefixed with ``'`` (no formula runs in a spreadsheet)."""
        found = self.entries(principal, wanted).items
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        for item in found:
            writer.writerow([_cell(_value(item, column)) for column in COLUMNS])
        yield buffer.getvalue()

    def _entries(
        self, session: Session, rows: list[Any], now: datetime
    ) -> dict[int, RegisterEntry]:
        """The entries of a batch of (version, product, group) rows: their approved
        requests in one statement, their blocks asked once for the batch."""
        if not rows:
            return {}
        requests: dict[int, list[Request]] = defaultdict(list)
        for request in session.scalars(
            sa.select(Request)
            .where(
                Request.version_id.in_([row[0].id for row in rows]),
                Request.state == RequestState.APPROVED.value,
            )
            .order_by(Request.id)
        ):
            if request.version_id is not None:  # always: the query asks for these versions
                requests[request.version_id].append(request)
        refs = {row[0].id: VersionRef(row[2].name, row[1].name, row[0].version) for row in rows}
        blocks = self.plugins.blocks_each(list(refs.values()))
        return {
            row[0].id: _entry(
                row[0], row[1], row[2], requests[row[0].id], blocks.get(refs[row[0].id], ()), now
            )
            for row in rows
        }


def _entry(
    version: Version,
    product: Product,
    group: Group,
    requests: list[Request],
    blocks: tuple[Block, ...],
    now: datetime,
) -> RegisterEntry:
    """One version's entry, from its approved requests and what blocks it."""
    checkin = next((r for r in requests if r.kind == Kind.CHECKIN.value), None)
    acceptance = next((r for r in requests if r.kind == Kind.ACCEPTANCE.value), None)
    running = [
        r.expires_at
        for r in requests
        if r.kind == Kind.CHECKOUT.value and r.expires_at is not None and now < r.expires_at
    ]
    until = max(running, default=None)
    state = "checked_out" if until is not None else "in_library"
    if version.state == State.RETIRED.value:
        state, until = "retired", None
    elif any(b.stops_use for b in blocks):
        state = "quarantined"
    return RegisterEntry(
        version.library_number,
        group.name,
        product.name,
        version.version,
        product.category,
        product.origin,
        product.vendor,
        checkin.decided_at if checkin else None,
        checkin.requester if checkin else None,
        acceptance.decided_by if acceptance else None,
        checkin.decided_by if checkin else None,
        state,
        until,
    )


def _query(principal: Principal, wanted: RegisterFilter) -> sa.Select[Any]:
    """The versions of the library that ``principal`` sees and ``wanted`` keeps (its state
    apart from ``retired``: the other states are read per row), with product and group."""
    query: sa.Select[Any] = cast(
        "sa.Select[Any]",
        sa.select(Version, Product, Group)
        .join(Product, Product.id == Version.product_id)
        .join(Group, Group.id == Product.group_id)
        .where(Version.state.in_([s.value for s in IN_LIBRARY])),
    )
    names = visible_groups(principal)
    if names is not None:
        query = query.where(Group.name.in_(names))
    if wanted.group:
        query = query.where(Group.name == wanted.group)
    if wanted.category:
        query = query.where(Product.category == wanted.category)
    if wanted.origin:
        query = query.where(Product.origin == wanted.origin)
    if wanted.state == "retired":
        query = query.where(Version.state == State.RETIRED.value)
    elif wanted.state:
        query = query.where(Version.state == State.CHECKED_IN.value)
    if wanted.q.strip():
        like = f"%{wanted.q.strip().lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(Product.name).like(like),
                sa.func.lower(Version.version).like(like),
                sa.func.lower(sa.func.coalesce(Product.vendor, "")).like(like),
            )
        )
    return query


def _value(item: RegisterEntry, column: str) -> str:
    value = getattr(item, column)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _cell(text: str) -> str:
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
