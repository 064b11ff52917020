"""The cost of one page of a listing at 100,000 rows, as a ratio to the same page at 100.

For each database (SQLite file, PostgreSQL) and each size, a fresh database is migrated
to the newest schema and filled with one group holding N products, one product holding
N versions (and each other product one), and N audit records of the group. Then the
services read one page of 50 well inside each listing (a signed cursor at row N/4, as a
client following ``next`` would send), as a version manager who is also an auditor:

- ``versions``: ``CatalogService.list_versions`` (keyset on SemVer precedence and id);
- ``products``: ``CatalogService.list_products`` (keyset on the name, with each product's
  version count);
- ``audit``: ``AuditLog.search(group=...)`` (keyset on the id, filtered by group).

Each figure is the median of ``--reps`` reads after one untimed warm-up; the ratio
``median(100,000) / median(100)`` is what to read (1.0: the page costs the same). Target:
below 2.0 on both databases.

    .venv/bin/python bench/paging.py                 # both databases, 15 reps
    .venv/bin/python bench/paging.py --only sqlite --reps 5 --json /tmp/paging.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from policies.access import Actor, GlobalRole
from policies.versions import precedence_key
from repo_server.artifacts.models import Product, Version
from repo_server.artifacts.services import CatalogService
from repo_server.audit.models import AuditEvent
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.groups.models import Group
from repo_server.migrate import upgrade
from repo_server.paging import Cursors, PageRequest

SIZES = (100, 100_000)
PAGE = 50
POSTGRES = os.environ.get(
    "DEPOT_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1/postgres"
)
READER = Principal(
    None,
    "bench",
    Actor(
        username="bench",
        global_roles=frozenset({GlobalRole.VERSION_MANAGER, GlobalRole.AUDITOR}),
    ),
)


def fill(db: Database, n: int) -> None:
    """One group, N products, N versions of the first product and one of each other,
    N audit records."""
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        group_id = conn.execute(
            sa.insert(Group).returning(Group.id),
            {
                "name": "bench",
                "display_name": "bench",
                "description": "",
                "storage_area": "bench",
                "created_at": now,
                "created_by": "bench",
                "require_personal_checkin": False,
            },
        ).scalar_one()
        products = [
            {
                "group_id": group_id,
                "name": f"app-{i:06}",
                "category": "application",
                "origin": "in_house",
                "vendor": None,
                "description": "",
                "created_at": now,
                "created_by": "bench",
            }
            for i in range(n)
        ]
        conn.execute(sa.insert(Product), products)
        first = conn.execute(sa.select(sa.func.min(Product.id))).scalar_one()
        ids = conn.execute(sa.select(Product.id).order_by(Product.id)).scalars()
        # N versions of the first product, and one of every other (as in a real library,
        # where versions spread over products: the planner's statistics say so).
        versions = [version(first, f"1.{i}.0", now) for i in range(n)] + [
            version(product_id, "1.0.0", now) for product_id in ids if product_id != first
        ]
        conn.execute(sa.insert(Version), versions)
        events = [
            {
                "at": now,
                "actor": "bench",
                "token": None,
                "role": "",
                "action": "bench.fill",
                "outcome": "ok",
                "group_name": "bench",
                "target": f"bench/{i}",
                "rule": "",
                "reason": "",
                "remote_addr": "",
                "details": "{}",
                "leaf_index": i,
                "leaf": b"x",
            }
            for i in range(n)
        ]
        conn.execute(sa.insert(AuditEvent), events)
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE"))


def version(product_id: int, number: str, now: datetime) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "version": number,
        "state": "draft",
        "precedence": precedence_key(number, "in_house"),
        "library_number": None,
        "upgrade_request_id": None,
        "description": "",
        "created_at": now,
        "created_by": "bench",
        "manifest": None,
        "manifest_sha256": None,
    }


def middle_cursors(db: Database, cursors: Cursors, n: int) -> dict[str, str]:
    """For each listing, the cursor a client would hold after reading a quarter of it."""
    with db.engine.connect() as conn:
        v = conn.execute(
            sa.select(Version.precedence, Version.id)
            .where(Version.product_id == sa.select(sa.func.min(Product.id)).scalar_subquery())
            .order_by(Version.precedence.desc(), Version.id.desc())
            .offset(n // 4)
            .limit(1)
        ).one()
        audit_id = conn.execute(
            sa.select(AuditEvent.id).order_by(AuditEvent.id).offset(n // 4).limit(1)
        ).scalar_one()
    scope = json.dumps(["audit", "bench", None, None, None, "None", "None"])
    return {
        "versions": cursors.dump("versions:bench/app-000000", (v[0], v[1])),
        "products": cursors.dump("products:bench", (f"app-{n // 4:06}",)),
        "audit": cursors.dump(scope, (audit_id,)),
    }


def readers(db: Database, cursors: Cursors, at: dict[str, str]) -> dict[str, Callable[[], int]]:
    clock = Clock()
    audit = AuditLog(db, clock)
    catalog = CatalogService(db, audit, clock)

    def page(listing: str) -> PageRequest:
        return PageRequest(PAGE, at[listing], cursors)

    return {
        "versions": lambda: len(
            catalog.list_versions(READER, "bench", "app-000000", page("versions")).items
        ),
        "products": lambda: len(catalog.list_products(READER, "bench", page("products")).items),
        "audit": lambda: len(audit.search(READER, group="bench", page=page("audit")).items),
    }


def measure(read: Callable[[], int], reps: int) -> float:
    assert read() == PAGE, "a page from the middle is a full page"  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        read()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(kind: str, reps: int, workdir: Path) -> dict[str, dict[int, float]]:
    figures: dict[str, dict[int, float]] = {}
    for n in SIZES:
        url, drop = database(kind, workdir, n)
        db = Database(url)
        try:
            upgrade(db)
            started = time.perf_counter()
            fill(db, n)
            print(
                f"  {kind}: {n:>7} rows each in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            cursors = Cursors("bench")
            for listing, read in readers(db, cursors, middle_cursors(db, cursors, n)).items():
                figures.setdefault(listing, {})[n] = measure(read, reps)
        finally:
            db.dispose()
            drop()
    return figures


def database(kind: str, workdir: Path, n: int) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return f"sqlite:///{workdir / f'paging-{n}.sqlite3'}", lambda: None
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
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="depot-paging-") as tmp:
        for kind in (args.only,) if args.only else ("sqlite", "postgresql"):
            results[kind] = run(kind, args.reps, Path(tmp))
    worst = 0.0
    print(f"{'database':<11} {'listing':<9} {'100 rows':>10} {'100,000 rows':>13} {'ratio':>6}")
    for kind, listings in results.items():
        for listing, by_size in listings.items():
            small, large = by_size[SIZES[0]], by_size[SIZES[1]]
            ratio = large / small
            worst = max(worst, ratio)
            row = f"{kind:<11} {listing:<9} {small * 1000:>8.2f}ms {large * 1000:>11.2f}ms"
            print(f"{row} {ratio:>6.2f}")
    if args.json:
        args.json.write_text(json.dumps({"reps": args.reps, "page": PAGE, "results": results}))
    return 0 if worst < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
