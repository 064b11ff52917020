"""Keyset pagination: one page of a listing, and the opaque cursor to the next one.

Every listing service takes a :class:`PageRequest` (built at the HTTP edge from ``limit``
and ``cursor``, see :mod:`repo_server.api.paging`) and answers a :class:`Page`. The page
is read with :func:`fetch`: ``WHERE (k1, k2, ...) > (last seen) ORDER BY k1, k2, ...
LIMIT n + 1`` on a unique, indexed ordering, never ``OFFSET``. So a page costs the same at
100,000 rows as at 100, and rows inserted while someone pages never make a row appear
twice or vanish (a row inserted behind the cursor is simply not on a later page).

A cursor is the listing's ``scope`` and the key of the last row, signed with the server's
secret (itsdangerous): a garbled or forged cursor, or one made for another listing, group
or filter, is a 400 :class:`InvalidRequest`, never a 500 and never someone else's rows.
Services read the cursor only after they resolved the group, so a group the caller cannot
see stays the same 404 as a missing one, whatever the cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy.orm import QueryableAttribute, Session

from repo_server.errors import InvalidRequest

#: Rows on a page when the caller does not say, and the most a caller may ask for.
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")
U = TypeVar("U")
#: The values of a row's ordering columns (names and ids: text and integers; days as ISO
#: text).
Key = tuple[str | int, ...]
#: An ordering column: a mapped attribute (``Group.name``) or a column expression.
Column = QueryableAttribute[Any] | sa.ColumnElement[Any]


class Cursors:
    """Signs and reads cursors with the server's secret key (one per app)."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="depot.paging.v1")

    def dump(self, scope: str, key: Key, *, before: bool = False) -> str:
        """The opaque cursor that continues ``scope`` after the row whose key is ``key``
        (``before``: the page that ends just before it, for a "previous" link)."""
        return str(self._serializer.dumps([scope, "before" if before else "after", list(key)]))

    def load(self, scope: str, cursor: str, width: int) -> tuple[Key, bool]:
        """The key in ``cursor`` and whether it reads backwards; a 400 if the cursor is
        garbled, forged, or not ``scope``'s."""
        try:
            found = self._serializer.loads(cursor)
        except BadData:
            raise _bad_cursor("it is garbled or was not made by this server") from None
        if not (isinstance(found, list) and len(found) == 3 and found[0] == scope):
            raise _bad_cursor("it belongs to another listing, group or filter")
        _, way, key = found
        if not (
            way in ("after", "before")
            and isinstance(key, list)
            and len(key) == width
            and all(isinstance(part, str | int) for part in key)
        ):
            raise _bad_cursor("it does not fit this listing")  # a cursor of an older server
        return tuple(key), way == "before"


def _bad_cursor(why: str) -> InvalidRequest:
    return InvalidRequest(
        f"cursor is not valid: {why}; start again without a cursor", field="cursor"
    )


@dataclass(frozen=True)
class PageRequest:
    """Which page a caller wants: at most ``limit`` rows after ``cursor``.

    ``limit=None`` (:data:`EVERYTHING`) is for the server's own callers (``depot-server``
    commands, checks that need every row); the HTTP edge always sets a bounded limit and
    ``cursors``. Without ``cursors`` a page has no cursors (``depot-server audit list``).
    """

    limit: int | None = None
    cursor: str | None = None
    cursors: Cursors | None = None


EVERYTHING = PageRequest()


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing: its rows, the cursor to the next page (``None``: the last)
    and to the previous one (``None``: the first; for the pages' "previous" links)."""

    items: tuple[T, ...]
    next: str | None = None
    previous: str | None = None

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        """The same page with each row converted (rows to a service's frozen facts)."""
        return Page(tuple(convert(item) for item in self.items), self.next, self.previous)


def fetch(
    session: Session,
    query: sa.Select[Any],
    order: Sequence[Column],
    page: PageRequest,
    *,
    scope: str,
    key: Callable[[Any], Key],
    descending: bool = False,
    scalars: bool = False,
    keep: Callable[[Any], bool] | None = None,
    prepare: Callable[[list[Any]], None] | None = None,
) -> Page[Any]:
    """One page of ``query``, ordered by ``order`` (unique together, and indexed).

    ``key`` gives a row's values of ``order`` (for the cursors); ``scope`` names the
    listing and everything that narrows it (group, filters), so that a cursor cannot be
    replayed elsewhere. ``descending`` reverses the order (newest first). ``scalars``
    returns the first column of each row (ORM entities) instead of rows. ``keep`` drops
    rows a rule outside SQL refuses (the inbox: what this caller may decide); the page is
    then filled from the following rows, read a page at a time. ``prepare`` sees each
    batch of rows as read, before ``keep``: what each row needs from other tables is then
    read for the whole batch at once (no statement per row).
    """
    columns = list(order)
    backwards = False
    start: Key | None = None
    if page.cursor:
        if page.cursors is None:
            raise _bad_cursor("this caller cannot read cursors")
        start, backwards = page.cursors.load(scope, page.cursor, len(columns))
    down = descending != backwards
    ordered = query.order_by(*(column.desc() if down else column for column in columns))
    want = None if page.limit is None else page.limit + 1
    rows: list[Any] = []
    while True:
        batch_query = ordered if start is None else ordered.where(_beyond(columns, start, down))
        if want is not None:
            batch_query = batch_query.limit(want)
        batch = list(session.scalars(batch_query) if scalars else session.execute(batch_query))
        if prepare is not None:
            prepare(batch)
        rows.extend(row for row in batch if keep is None or keep(row))
        if want is None or len(batch) < want or len(rows) >= want:
            break
        start = key(batch[-1])
    more = page.limit is not None and len(rows) > page.limit
    if more:
        rows = rows[: page.limit]
    if backwards:
        rows.reverse()
    return _answer(rows, page, scope=scope, key=key, more=more, backwards=backwards)


def by_id(
    session: Session,
    query: sa.Select[Any],
    column: QueryableAttribute[int],
    page: PageRequest,
    *,
    scope: str,
    newest_first: bool = False,
    keep: Callable[[Any], bool] | None = None,
    prepare: Callable[[list[Any]], None] | None = None,
) -> Page[Any]:
    """One page of the ORM entities ``query`` selects, in the order of their integer id
    ``column`` (oldest first, or ``newest_first``): the common case of :func:`fetch`."""
    name = column.key
    return fetch(
        session,
        query,
        (column,),
        page,
        scope=scope,
        key=lambda entity: (getattr(entity, name),),
        descending=newest_first,
        scalars=True,
        keep=keep,
        prepare=prepare,
    )


def page_of(
    items: Sequence[T],
    page: PageRequest,
    *,
    scope: str,
    key: Callable[[T], Key],
    width: int,
) -> Page[T]:
    """One page of ``items``, a listing computed outside SQL, in the order of ``key``
    (unique, ``width`` values of str or int), with the same cursors as :func:`fetch`.

    Each page reads the whole list: for listings a rule computes from several tables
    and that stay short (the versions past their end of support), never for a table."""
    rows = sorted(items, key=key)
    start: Key | None = None
    backwards = False
    if page.cursor:
        if page.cursors is None:
            raise _bad_cursor("this caller cannot read cursors")
        start, backwards = page.cursors.load(scope, page.cursor, width)
    if start is not None:
        rows = [r for r in rows if (key(r) < start if backwards else key(r) > start)]
    more = page.limit is not None and len(rows) > page.limit
    if more and page.limit is not None:
        rows = rows[-page.limit :] if backwards else rows[: page.limit]
    return _answer(rows, page, scope=scope, key=key, more=more, backwards=backwards)


def _answer(
    rows: list[Any],
    page: PageRequest,
    *,
    scope: str,
    key: Callable[[Any], Key],
    more: bool,
    backwards: bool,
) -> Page[Any]:
    """The page of ``rows`` (in listing order) with its cursors: ``more`` says rows follow
    in the direction read, ``backwards`` that the page was read towards the start."""
    if not rows or page.cursors is None:
        return Page(tuple(rows))
    has_next = more if not backwards else True
    has_previous = more if backwards else bool(page.cursor)
    return Page(
        tuple(rows),
        page.cursors.dump(scope, key(rows[-1])) if has_next else None,
        page.cursors.dump(scope, key(rows[0]), before=True) if has_previous else None,
    )


def _beyond(columns: list[Column], start: Key, down: bool) -> Any:
    """``(columns) > start`` (``<`` going down): one row-value comparison, which the
    ordering's index answers on SQLite and PostgreSQL."""
    if len(columns) == 1:
        left: Any = columns[0]
        right: Any = _bound(columns[0], start[0])
    else:
        left = sa.tuple_(*columns)
        right = sa.tuple_(*(_bound(c, v) for c, v in zip(columns, start, strict=True)))
    return left < right if down else left > right


def _bound(column: Column, value: str | int) -> Any:
    """``value`` of a cursor as a parameter of ``column``'s type: a day is kept in the
    cursor as its ISO text (``end_of_support``)."""
    if isinstance(column.type, sa.Date) and isinstance(value, str):
        return sa.literal(date.fromisoformat(value), type_=column.type)
    return sa.literal(value, type_=column.type)
