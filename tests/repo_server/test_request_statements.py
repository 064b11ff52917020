"""How many SQL statements one small request costs: what a busy client pays per call.

Counted with an SQLAlchemy event on the app's engine, never timed (bench/peers.py times
them). A token just checked is reused for up to ``token_cache_ms`` by the process, with one
statement asking whether it has been revoked or its person disabled since."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from tests.support import World

FILES = "/api/v1/groups/team/products/app/versions/1.0.0/files"
PRODUCTS = "/api/v1/groups/team/products"
#: SQLite's explicit ``BEGIN`` (PostgreSQL's is not a cursor statement): not counted.
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK"})


@contextmanager
def counted(world: World) -> Iterator[list[str]]:
    """The statements the app's engine runs inside the block."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement not in TRANSACTION_CONTROL:
            seen.append(statement)

    engine = world.depot.db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def statements(world: World, path: str, token: str | None) -> list[str]:
    """The statements of a second ``GET path`` (the first warms the token and the app).

    The token stays checked for as long as the test runs (on a busy machine the two
    requests may be more than the default second apart)."""
    if world.depot.auth.tokens.seconds:
        world.depot.auth.tokens.seconds = 3600
    assert world.call("GET", path, token).status_code == 200
    with counted(world) as seen:
        response = world.call("GET", path, token)
    assert response.status_code == 200, response.json
    return seen


def test_a_version_listing_with_a_checked_token_costs_four_statements(lib: World) -> None:
    seen = statements(lib, FILES, lib.tokens["bob"])
    assert len(seen) <= 4, "\n---\n".join(seen)


def test_a_group_listing_with_a_checked_token_costs_four_statements(lib: World) -> None:
    seen = statements(lib, PRODUCTS, lib.tokens["bob"])
    assert len(seen) <= 4, "\n---\n".join(seen)


def test_a_checked_token_costs_one_statement(lib: World) -> None:
    with_token = statements(lib, FILES, lib.tokens["bob"])
    lib.depot.auth.tokens.seconds = 0  # the cache off: the full check, every time
    full = statements(lib, FILES, lib.tokens["bob"])
    assert len(full) - len(with_token) >= 4
    lib.depot.auth.tokens.seconds = 3600
    statements(lib, FILES, lib.tokens["bob"])
    with counted(lib) as seen:
        assert lib.call("GET", "/api/v1/auth/whoami", lib.tokens["bob"]).status_code == 200
    assert len(seen) == 1, "\n".join(seen)


def test_health_reads_nothing_twice(world: World) -> None:
    assert world.call("GET", "/api/v1/health/live").status_code == 200
    with counted(world) as seen:
        assert world.call("GET", "/api/v1/health/live").status_code == 200
    assert seen == []


def test_the_register_reads_a_page_in_the_same_statements_whatever_its_length(
    lib: World,
) -> None:
    from tests.fixtures.factories import accept, check_in, version

    accept(lib, "team/app@1.0.0")
    check_in(lib, "team/app@1.0.0")
    one = statements(lib, "/api/v1/register", lib.tokens["victor"])
    for name in ("api", "batch", "cli"):
        ref = f"team/{name}@1.0.0"
        version(lib, ref, files={"app.tar.gz": name.encode()})
        accept(lib, ref)
        check_in(lib, ref)
    four = statements(lib, "/api/v1/register", lib.tokens["victor"])
    assert len(api_entries(lib)) == 4
    assert len(four) == len(one), "\n---\n".join(four)


def api_entries(lib: World) -> list[object]:
    response = lib.call("GET", "/api/v1/register", lib.tokens["victor"])
    found: list[object] = response.json["entries"]
    return found


def waiting_elsewhere(lib: World, first: int, last: int) -> None:
    """Versions ``team/tool-<first>@1.0.0`` to ``team/tool-<last>@1.0.0`` delivered to carol
    for acceptance: pending requests that are not the version manager's to decide."""
    from tests.fixtures.factories import api, ref_path, version

    for number in range(first, last + 1):
        ref = f"team/tool-{number}@1.0.0"
        version(lib, ref, files={"app.tar.gz": ref.encode()})
        api(lib, "alice", "POST", ref_path(ref) + "/submit", {"to": "carol"}, 201)


def test_an_inbox_page_reads_the_same_statements_however_many_requests_wait_for_others(
    lib: World,
) -> None:
    from tests.fixtures.factories import accept, check_in, check_out

    accept(lib, "team/app@1.0.0")
    check_in(lib, "team/app@1.0.0")
    waiting_elsewhere(lib, 1, 1)
    mine = check_out(lib, "team/app@1.0.0", approver=None)  # the version manager's to decide
    inbox = "/api/v1/requests?limit=2"
    few = statements(lib, inbox, lib.tokens["victor"])
    waiting_elsewhere(lib, 2, 12)
    many = statements(lib, inbox, lib.tokens["victor"])
    found = lib.call("GET", inbox, lib.tokens["victor"]).json["requests"]
    assert [r["id"] for r in found] == [mine]
    pending = lib.call("GET", "/api/v1/requests?view=all&state=pending&limit=50", lib.tokens["ivy"])
    assert len(pending.json["requests"]) == 13
    assert len(many) == len(few), "\n---\n".join(many)


def test_a_versions_page_reads_its_files_along_their_index_without_a_sort(lib: World) -> None:
    """The files of a page of versions come in the unique index's order (version, name):
    no sort of the page's files. Checked on SQLite, whose plan does not depend on the
    tables' size; PostgreSQL's planner reads such tiny tables whole."""
    from tests.fixtures.factories import version

    version(lib, "team/app@1.1.0", new_product=False, files={"b.bin": b"b", "a.bin": b"a"})
    seen: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "FROM files" in statement:
            seen.append((statement, parameters))

    engine = lib.depot.db.engine
    path = "/api/v1/groups/team/products/app/versions"
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        listed = lib.call("GET", path, lib.tokens["bob"]).json["versions"]
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert [(v["version"], [f["name"] for f in v["files"]]) for v in listed] == [
        ("1.1.0", ["a.bin", "b.bin"]),
        ("1.0.0", ["app.tar.gz", "manual.pdf"]),
    ]
    [(statement, parameters)] = seen
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        details = [str(row[-1]) for row in plan]
        assert not any("TEMP B-TREE" in d for d in details), details
