"""The cost of one page of the smaller listings at 100,000 rows, as a ratio to 100 rows:
one figure per index that makes their pages (migrations 0027 and quality_0004).

For each database (SQLite file, PostgreSQL) and each size N, a fresh database is migrated
(core and quality module) and each listing's table gets N rows, half of them in the
listing read (one group's members and OIDC trusts, one person's keys and stop-use notices,
one version's feedback, one group's quarantines, versions past their end of
support) and half elsewhere; the suppliers are N names, and one version's history is 200
of the N audit records. Then a page of 20 well inside the
listing (a signed cursor at row N/8) is read with the very query of its service
(``repo_server.paging.fetch``/``by_id``), median of ``--reps`` reads after one warm-up.
``median(100,000) / median(100)``: 1.0 means the page costs the same. Target: below 2.0.

    .venv/bin/python bench/paging_listings.py                     # both databases
    .venv/bin/python bench/paging_listings.py --only sqlite --reps 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo_server.audit.models import AuditEvent
from repo_server.auth.models import OidcTrust, User
from repo_server.db import Database
from repo_server.groups.models import Membership
from repo_server.lifecycle.models import Feedback
from repo_server.migrate import upgrade
from repo_server.paging import Cursors, PageRequest, by_id, fetch
from repo_server.plugins.quality.models import ArchiveEntry, Issue, Notice, Quarantine, Supplier
from repo_server.trust.models import PersonKeyRecord

SIZES = (100, 100_000)
PAGE = 20
REF = "bench/app@1.0.0"
NOW = datetime.now(UTC)
POSTGRES = os.environ.get(
    "DEPOT_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1/postgres"
)


def filled(table: sa.Table, i: int, **values: Any) -> dict[str, Any]:
    """A row of ``table``: ``values``, and a plain value for every other required column."""
    row: dict[str, Any] = {}
    for column in table.columns:
        kind = getattr(column.type, "impl", column.type)
        if column.name in values:
            row[column.name] = values[column.name]
        elif column.primary_key or column.nullable or column.server_default is not None:
            continue
        elif column.default is not None and not callable(getattr(column.default, "arg", None)):
            row[column.name] = column.default.arg  # type: ignore[attr-defined]
        elif isinstance(kind, sa.DateTime):
            row[column.name] = NOW
        elif isinstance(kind, sa.Date):
            row[column.name] = NOW.date()
        elif isinstance(kind, sa.Boolean):
            row[column.name] = False
        elif isinstance(kind, sa.Integer):
            row[column.name] = i
        elif isinstance(kind, sa.LargeBinary):
            row[column.name] = b"x"
        else:
            row[column.name] = f"x{i}"
    return row


def fill(db: Database, n: int) -> None:
    """N rows in each listing's table (half of them in the listing read)."""
    half = range(n)
    inside = lambda i: i % 2 == 0  # noqa: E731
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (User, [filled(User.__table__, i, username=f"u-{i:06}") for i in half]),
        (
            Membership,
            [
                filled(Membership.__table__, i, group_id=1 if inside(i) else 2, user_id=i + 1)
                for i in half
            ],
        ),
        (OidcTrust, [filled(OidcTrust.__table__, i, group_id=1 if inside(i) else 2) for i in half]),
        (
            PersonKeyRecord,
            [
                filled(
                    PersonKeyRecord.__table__,
                    i,
                    username="bench" if inside(i) else f"p{i}",
                    keyid=f"k{i:08}",
                )
                for i in half
            ],
        ),
        (Feedback, [filled(Feedback.__table__, i, version_id=1 if inside(i) else 2) for i in half]),
        (
            AuditEvent,
            [
                filled(
                    AuditEvent.__table__,
                    i,
                    # One version's history is 200 records; the trail around it grows.
                    target=f"{REF}/f{i}" if i < 200 else f"bench/app@{i}.0.0/f",
                    leaf_index=i,
                    leaf=b"x",
                    details="{}",
                )
                for i in half
            ],
        ),
        (Issue, [filled(Issue.__table__, i) for i in half]),
        (
            Notice,
            [
                filled(Notice.__table__, i, issue_id=i + 1, person="bench" if inside(i) else "x")
                for i in half
            ],
        ),
        (
            Quarantine,
            [
                filled(
                    Quarantine.__table__,
                    i,
                    issue_id=i + 1,
                    group_name="bench" if inside(i) else "other",
                )
                for i in half
            ],
        ),
        (
            ArchiveEntry,
            [
                filled(
                    ArchiveEntry.__table__,
                    i,
                    group_name="bench",
                    product="app",
                    version=f"{i}.0.0",
                    end_of_support=(
                        date(2020, 1, 1) + timedelta(days=i % 1000)
                        if inside(i)
                        else date(2999, 1, 1)
                    ),
                )
                for i in half
            ],
        ),
        (Supplier, [filled(Supplier.__table__, i, name=f"s-{i:06}") for i in half]),
    ]
    # A plain engine (no foreign keys on SQLite): the rows point at groups, users and
    # versions this benchmark does not make.
    plain = sa.create_engine(db.engine.url)
    with plain.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET session_replication_role = replica"))
        for model, rows in tables:
            conn.execute(sa.insert(model), rows)
        conn.commit()
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE"))
            conn.commit()
    plain.dispose()


def readers(n: int) -> dict[str, Callable[[Session, Cursors], int]]:
    """Each listing's page, read as its service reads it, from a cursor at row N/8."""
    middle = n // 8

    def page(cursors: Cursors, cursor: str) -> PageRequest:
        return PageRequest(PAGE, cursor, cursors)

    def members(s: Session, c: Cursors) -> int:
        query = sa.select(User).where(
            sa.exists().where(Membership.group_id == 1, Membership.user_id == User.id)
        )
        cursor = c.dump("members:bench", (f"u-{middle * 2:06}",))
        found = fetch(
            s, query, (User.username,), page(c, cursor), scope="members:bench",
            key=lambda u: (u.username,), scalars=True,
        )  # fmt: skip
        return len(found.items)

    def by(model: Any, where: Any, scope: str, newest_first: bool = False) -> Any:
        def read(s: Session, c: Cursors) -> int:
            start = n - middle * 2 if newest_first else middle * 2
            cursor = c.dump(scope, (start,))
            query = sa.select(model).where(where)
            found = by_id(
                s, query, model.id, page(c, cursor), scope=scope, newest_first=newest_first
            )
            return len(found.items)

        return read

    def history(s: Session, c: Cursors) -> int:
        prefix = REF + "/"
        under = AuditEvent.target.startswith(prefix, autoescape=True)
        if s.get_bind().dialect.name == "sqlite":
            under = sa.and_(AuditEvent.target >= prefix, AuditEvent.target < REF + "0", under)
        query = sa.select(AuditEvent).where(sa.or_(AuditEvent.target == REF, under))
        cursor = c.dump(f"history:{REF}", (50,))
        return len(by_id(s, query, AuditEvent.id, page(c, cursor), scope=f"history:{REF}").items)

    def archive(s: Session, c: Cursors) -> int:
        query = sa.select(ArchiveEntry).where(ArchiveEntry.end_of_support <= NOW.date())
        cursor = c.dump("quality.archive.ended", ("2020-01-05", 1))
        found = fetch(
            s, query, (ArchiveEntry.end_of_support, ArchiveEntry.id), page(c, cursor),
            scope="quality.archive.ended", key=lambda r: (r.end_of_support.isoformat(), r.id),
            scalars=True, keep=lambda r: r.group_name in {"bench"},
        )  # fmt: skip
        return len(found.items)

    def suppliers(s: Session, c: Cursors) -> int:
        cursor = c.dump("quality.suppliers", (f"s-{middle:06}",))
        found = fetch(
            s, sa.select(Supplier), (Supplier.name,), page(c, cursor),
            scope="quality.suppliers", key=lambda x: (x.name,), scalars=True,
        )  # fmt: skip
        return len(found.items)

    return {
        "members": members,
        "oidc-trusts": by(OidcTrust, OidcTrust.group_id == 1, "oidc-trusts:bench"),
        "keys": by(PersonKeyRecord, PersonKeyRecord.username == "bench", "keys:bench"),
        "feedback": by(Feedback, Feedback.version_id == 1, "feedback:bench"),
        "history": history,
        "quarantines": by(
            Quarantine,
            sa.and_(Quarantine.group_name.in_(["bench"]), Quarantine.lifted_at.is_(None)),
            "quality.quarantines",
            newest_first=True,
        ),
        "notices": by(Notice, Notice.person == "bench", "quality.notices:bench", True),
        "archive": archive,
        "suppliers": suppliers,
    }


def measure(db: Database, read: Callable[[Session, Cursors], int], reps: int) -> float:
    cursors = Cursors("bench")
    with Session(db.engine) as session:
        assert read(session, cursors) == PAGE, "a page from the middle is a full page"
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            read(session, cursors)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(kind: str, reps: int, workdir: Path) -> dict[str, dict[int, float]]:
    figures: dict[str, dict[int, float]] = {}
    for n in SIZES:
        url, drop = database(kind, workdir, n)
        db = Database(url)
        try:
            upgrade(db, plugins=("quality",))
            started = time.perf_counter()
            fill(db, n)
            print(f"  {kind}: {n:>7} rows each in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr)  # fmt: skip
            for listing, read in readers(n).items():
                figures.setdefault(listing, {})[n] = measure(db, read, reps)
        finally:
            db.dispose()
            drop()
    return figures


def database(kind: str, workdir: Path, n: int) -> tuple[str, Callable[[], None]]:
    """A fresh database of ``kind`` for size ``n``, and how to drop it."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / f'listings-{n}.sqlite3'}", lambda: None
    name = f"depot_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()

    return POSTGRES.rsplit("/", 1)[0] + "/" + name, drop


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="depot-paging-") as tmp:
        for kind in (args.only,) if args.only else ("sqlite", "postgresql"):
            results[kind] = run(kind, args.reps, Path(tmp))
    worst = 0.0
    print(f"{'database':<11} {'listing':<12} {'100 rows':>10} {'100,000 rows':>13} {'ratio':>6}")
    for kind, listings in results.items():
        for listing, by_size in listings.items():
            small, large = by_size[SIZES[0]], by_size[SIZES[1]]
            worst = max(worst, large / small)
            row = f"{kind:<11} {listing:<12} {small * 1000:>8.2f}ms {large * 1000:>11.2f}ms"
            print(f"{row} {large / small:>6.2f}")
    return 0 if worst < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
