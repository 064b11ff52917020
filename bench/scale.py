"""What the hot reads cost on a full server, as a ratio to the same reads on an empty one.

The full server holds one group ``bench`` with 100 products of 100 checked-in versions each
(10,000 versions), 10 files per version (100,000 files), an approved check-in per version,
1,000 pending check-ins (the version manager's inbox) and an audit log of 1,000,000
records; the empty one holds one product with one version of 10 files, and the same kinds
of rows once. Both are filled with bulk statements (``INSERT ... SELECT`` over a generated
series: a million rows take seconds), then the services read, as a version manager who is
also an auditor (the register's and the inbox's reader):

- ``files``: a version's files; ``versions``: a product's versions (a page from the middle);
- ``products``: the group's products; ``search``: the catalogue search for a product name;
- ``inbox``: the requests waiting for the reader; ``register``: a page of the library
  register; ``audit``: a page of the group's audit trail from its middle.

Each figure is the median of ``--reps`` reads after a warm-up; the ratio full / empty is
what to read (target: at most 1.5). ``--explain`` prints the plan of every statement each
read runs on the full database. The last lines give this process's memory (VmRSS, VmHWM)
while it reads the full database (target: under 300 MiB).

    .venv/bin/python bench/scale.py                    # PostgreSQL at 127.0.0.1, 15 reps
    .venv/bin/python bench/scale.py --db sqlite --reps 5 --explain --json /tmp/scale.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from policies.access import Actor, GlobalRole
from policies.versions import precedence_key
from repo_server.app import create_app
from repo_server.artifacts.models import Product, Version
from repo_server.auth.principal import Principal
from repo_server.core import Depot
from repo_server.db import Database
from repo_server.groups.models import Group
from repo_server.migrate import upgrade
from repo_server.paging import Cursors, PageRequest
from repo_server.registers.library import RegisterFilter
from repo_server.settings import load_settings

POSTGRES = os.environ.get(
    "DEPOT_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1/postgres"
)
PAGE = 50
READER = Principal(
    None,
    "bench",
    Actor(
        username="bench",
        global_roles=frozenset({GlobalRole.VERSION_MANAGER, GlobalRole.AUDITOR}),
    ),
)
FULL = {"products": 100, "versions": 100, "files": 10, "pending": 1000, "audit": 1_000_000}
EMPTY = {"products": 1, "versions": 1, "files": 10, "pending": 1, "audit": 1}


def series(n: int) -> str:
    """A subquery ``s(i)`` of the integers 1..n, on SQLite and PostgreSQL."""
    return (
        f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
        "SELECT i FROM s)"
    )


def fill(db: Any, size: dict[str, int]) -> None:
    """The rows of ``size`` (see the module's text), by bulk statements."""
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        group_id = conn.execute(
            sa.insert(Group).returning(Group.id),
            {"name": "bench", "display_name": "bench", "description": "",
             "storage_area": "bench", "created_at": now, "created_by": "bench",
             "require_personal_checkin": False},
        ).scalar_one()  # fmt: skip
        conn.execute(
            sa.insert(Product),
            [{"group_id": group_id, "name": f"app-{i:04}", "category": "application",
              "origin": "in_house", "vendor": None, "description": "", "created_at": now,
              "created_by": "bench"} for i in range(size["products"])],
        )  # fmt: skip
        products = list(conn.execute(sa.select(Product.id).order_by(Product.id)).scalars())
        number = 0
        rows = []
        for product_id in products:
            for i in range(size["versions"]):
                number += 1
                rows.append({
                    "product_id": product_id, "version": f"1.{i}.0", "state": "checked_in",
                    "precedence": precedence_key(f"1.{i}.0", "in_house"),
                    "library_number": number, "upgrade_request_id": None, "description": "",
                    "created_at": now, "created_by": "bench", "manifest": None,
                    "manifest_sha256": None,
                })  # fmt: skip
        conn.execute(sa.insert(Version), rows)
        stamp = now.replace(tzinfo=None).isoformat(sep=" ")  # SQLite: stored as naive UTC
        if conn.dialect.name == "postgresql":
            stamp += "+00:00"
        conn.exec_driver_sql(
            "INSERT INTO files (version_id, name, role, size, sha256, media_type, uploaded_by,"
            " uploaded_at) SELECT v.id, 'file-' || s.i || '.bin', 'artifact', 1,"
            f" '{'0' * 64}', 'application/octet-stream', 'bench', '{stamp}'"
            f" FROM versions v CROSS JOIN {series(size['files'])} s"
        )
        request = (
            "INSERT INTO requests (kind, state, group_id, product_id, version_id, requester,"
            " requester_role, created_at, decided_by, decided_at, comment, details)"
        )
        conn.exec_driver_sql(
            f"{request} SELECT 'checkin', 'approved', {group_id}, v.product_id, v.id, 'alice',"
            f" 'software_manager', '{stamp}', 'victor', '{stamp}', '', '{{}}' FROM versions v"
        )
        conn.exec_driver_sql(
            f"{request} SELECT 'checkin', 'pending', {group_id}, {products[0]},"
            f" (SELECT min(id) FROM versions), 'alice', 'software_manager', '{stamp}', NULL,"
            f" NULL, '', '{{}}' FROM {series(size['pending'])} s"
        )
        leaf = "'\\x78'::bytea" if conn.dialect.name == "postgresql" else "X'78'"
        conn.exec_driver_sql(
            "INSERT INTO audit_events (at, actor, role, action, outcome, group_name, target,"
            " rule, reason, remote_addr, details, leaf_index, leaf)"
            f" SELECT '{stamp}', 'bench', '', 'bench.fill', 'ok', 'bench', 'bench/' || s.i,"
            f" '', '', '', '{{}}', s.i - 1, {leaf} FROM {series(size['audit'])} s"
        )
        conn.exec_driver_sql("ANALYZE")


def readers(depot: Depot, middle: dict[str, str], cursors: Cursors) -> dict[str, Callable[[], int]]:
    catalog, audit = depot.catalog, depot.audit

    def page(name: str = "") -> PageRequest:
        return PageRequest(PAGE, middle.get(name) or None, cursors)

    return {
        "files": lambda: len(
            catalog.list_files(READER, "bench", "app-0000", "1.0.0", page())[1].items
        ),
        "versions": lambda: len(
            catalog.list_versions(READER, "bench", "app-0000", page("versions")).items
        ),
        "products": lambda: len(catalog.list_products(READER, "bench", page()).items),
        "search": lambda: len(catalog.search(READER, "app-0000", page=page()).items),
        "inbox": lambda: len(depot.requests.inbox(READER, page()).items),
        "register": lambda: len(depot.register.entries(READER, RegisterFilter(), page()).items),
        "audit": lambda: len(audit.search(READER, group="bench", page=page("audit")).items),
    }  # fmt: skip


def middles(depot: Depot, cursors: Cursors, size: dict[str, int]) -> dict[str, str]:
    """The cursors a client holds after reading a quarter of the long listings."""
    with depot.db.engine.connect() as conn:
        v = conn.execute(
            sa.select(Version.precedence, Version.id)
            .where(Version.product_id == sa.select(sa.func.min(Product.id)).scalar_subquery())
            .order_by(Version.precedence.desc(), Version.id.desc())
            .offset(size["versions"] // 4)
            .limit(1)
        ).one()
        audit_id = conn.exec_driver_sql(
            f"SELECT id FROM audit_events ORDER BY id LIMIT 1 OFFSET {size['audit'] // 4}"
        ).scalar_one()
    scope = json.dumps(["audit", "bench", None, None, None, "None", "None"])
    return {
        "versions": cursors.dump("versions:bench/app-0000", (v[0], v[1])),
        "audit": cursors.dump(scope, (audit_id,)),
    }


@contextmanager
def statements(depot: Depot) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    sa.event.listen(depot.db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(depot.db.engine, "before_cursor_execute", note)


def explain(depot: Depot, read: Callable[[], int]) -> list[str]:
    with statements(depot) as seen:
        read()
    plans = []
    with depot.db.engine.connect() as conn:
        for statement, parameters in seen:
            prefix = "EXPLAIN " if conn.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
            plan = "\n".join("    " + " ".join(str(c) for c in row) for row in rows)
            plans.append(f"  {' '.join(statement.split())[:300]}\n{plan}")
    return plans


def memory() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def server(kind: str, workdir: Path, size: dict[str, int]) -> tuple[Depot, Callable[[], None]]:
    """A Depot (services, no HTTP) on a new database filled to ``size``."""
    label = "full" if size is FULL else "empty"
    if kind == "sqlite":
        url, drop = f"sqlite:///{workdir / f'scale-{label}.sqlite3'}", lambda: None
    else:
        name = f"depot_bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()

        url = POSTGRES.rsplit("/", 1)[0] + "/" + name
    migrating = Database(url)
    upgrade(migrating)
    migrating.dispose()
    settings = load_settings({}, data_dir=workdir / label, database_url=url)
    (workdir / label).mkdir(exist_ok=True)
    app = create_app(settings)
    depot: Depot = app.extensions["depot"]
    started = time.perf_counter()
    fill(depot.db, size)
    print(f"  {label}: filled in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return depot, lambda: (depot.close(), drop())  # type: ignore[func-returns-value]


def measure(read: Callable[[], int], reps: int) -> float:
    read()
    times = []
    for _ in range(reps):
        began = time.perf_counter()
        read()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    plans: dict[str, list[str]] = {}
    mem: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="depot-scale-") as tmp:
        for size in (EMPTY, FULL):
            label = "full" if size is FULL else "empty"
            depot, close = server(args.db, Path(tmp), size)
            try:
                cursors = Cursors("bench")
                gc.collect()
                for name, read in readers(depot, middles(depot, cursors, size), cursors).items():
                    figures.setdefault(name, {})[label] = measure(read, args.reps)
                    if args.explain and size is FULL:
                        plans[name] = explain(depot, read)
                if size is FULL:
                    mem = memory()
            finally:
                close()
    worst = 0.0
    print(f"{'read':<10} {'empty':>10} {'full':>10} {'ratio':>6}")
    for name, by in figures.items():
        ratio = by["full"] / by["empty"]
        worst = max(worst, ratio)
        print(f"{name:<10} {by['empty'] * 1000:>8.2f}ms {by['full'] * 1000:>8.2f}ms {ratio:>6.2f}")
    print(f"memory of this process reading the full database: {mem}")
    for name, found in plans.items():
        print(f"\n== {name}")
        print("\n".join(found))
    if args.json:
        args.json.write_text(json.dumps({"reps": args.reps, "db": args.db, "figures": figures,
                                         "memory_mib": mem, "plans": plans}, indent=2))  # fmt: skip
    return 0 if worst <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
