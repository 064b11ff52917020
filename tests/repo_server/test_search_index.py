"""The catalogue search through its trigram indexes (migration 0029) finds exactly what a
plain substring match finds, in the same order and pages, and nothing of a hidden group.

The names are written straight into the tables (the API would refuse most of them), so the
triggers that keep SQLite's FTS5 tables in step are exercised too; a rename and a deletion
afterwards check that they follow. No timing here: bench/scale.py measures the cost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.groups.models import Group
from tests.support import World

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

PRODUCTS = [
    "Tricky-App", "50%_off", "it's", '"quoted"', "软件产品包", "a_b", "a%b", "AbC",
    "back\\slash", "x",
]  # fmt: skip
VERSIONS = ["1.0.0", "2.0.0-RC1", "3.0.0+build_5", "4.0.0-软件"]
FILES = [
    "App-Linux.TAR.gz", "100%.bin", "under_score.txt", "O'Brien.txt", 'say "hi".txt',
    "软件产品说明书.pdf", "x", "AB", "back\\slash.bin", "weird%_\\mix", "ÉTÉ-notes.txt",
]  # fmt: skip
#: In ``other``, which bob does not see: the same names, and one of its own.
HIDDEN = ["Tricky-App", "secret-app-软件", "App-Linux.TAR.gz"]
TERMS = [
    "app", "APP", "tricky", "TrIcKy-aPp", "%", "_", "%_", "50%", "a_b", "a%b", "'", "it's",
    '"', '"hi"', 'say "hi"', "软", "软件", "软件产品", "产品说明书", "x", "ab", "AB", "b",
    "\\", "back\\", "\\sl", ".tar", "rc1", "1.0", "0.0", "nothing-here", "secret", "ÉTÉ",
    "é", "-notes", "*", "app OR x", "NEAR(a b)",
]  # fmt: skip


def _id(conn: sa.Connection, table: Any, **values: Any) -> int:
    return int(conn.execute(sa.insert(table).returning(table.id), values).scalar_one())


def _fill(world: World) -> None:
    """The tricky names: products in ``team``, versions of Tricky-App, files of its first
    version; and a few in ``other``."""
    with world.depot.db.engine.begin() as conn:
        groups = dict(conn.execute(sa.select(Group.name, Group.id)).all())  # type: ignore[arg-type]

        def product(group: str, name: str) -> int:
            return _id(conn, Product, group_id=groups[group], name=name, category="system",
                       origin="in_house", vendor=None, description="", created_at=NOW,
                       created_by="alice")  # fmt: skip

        def version(product_id: int, number: str) -> int:
            return _id(conn, Version, product_id=product_id, version=number,
                       state="draft", precedence="", description="", created_at=NOW,
                       created_by="alice")  # fmt: skip

        def file(version_id: int, name: str) -> None:
            _id(conn, StoredFile, version_id=version_id, name=name, size=1, sha256="0" * 64,
                uploaded_by="bob", uploaded_at=NOW)  # fmt: skip

        ids = [product("team", name) for name in PRODUCTS]
        versions = [version(ids[0], number) for number in VERSIONS]
        for name in FILES:
            file(versions[0], name)
        hidden = product("other", HIDDEN[0])
        product("other", HIDDEN[1])
        file(version(hidden, "1.0.0"), HIDDEN[2])


def _names(world: World, group: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every (kind, hit) of ``group``, in the search's order, with the name searched."""
    with world.depot.db.engine.connect() as conn:
        in_group = Group.name == group
        products = conn.execute(
            sa.select(Product.id, Product.name).join(Group).where(in_group).order_by(Product.id)
        ).all()
        versions = conn.execute(
            sa.select(Version.id, Product.name, Version.version)
            .join(Product, Version.product_id == Product.id)
            .join(Group)
            .where(in_group)
            .order_by(Version.id)
        ).all()
        files = conn.execute(
            sa.select(StoredFile.id, Product.name, Version.version, StoredFile.name)
            .join(Version, StoredFile.version_id == Version.id)
            .join(Product, Version.product_id == Product.id)
            .join(Group)
            .where(in_group)
            .order_by(StoredFile.id)
        ).all()
    return (
        [(p, ("product", group, p, None, None)) for _, p in products]
        + [(v, ("version", group, p, v, None)) for _, p, v in versions]
        + [(f, ("file", group, p, v, f)) for _, p, v, f in files]
    )  # type: ignore[return-value]


def _ascii_lower(text: str) -> str:
    """What SQLite's ``lower()`` does (ASCII only); PostgreSQL's here is the same for the
    names above that have no other capital letters than ASCII ones and É."""
    return "".join(c.lower() if c.isascii() else c for c in text)


def _expected(world: World, term: str) -> list[tuple[Any, ...]]:
    """A plain substring match, case-insensitive, in the search's order."""
    needle = term.lower()
    found = []
    for name, hit in _names(world, "team"):
        folded = _ascii_lower(name) if world.depot.db.dialect == "sqlite" else name.lower()
        if needle in folded:
            found.append(hit)
    return found


def _search(world: World, term: str, limit: int) -> list[tuple[Any, ...]]:
    """Every hit of the API's search for ``term`` as bob, ``limit`` a page."""
    hits: list[tuple[Any, ...]] = []
    cursor = ""
    while True:
        path = f"/api/v1/search?q={quote(term, safe='')}&limit={limit}{cursor}"
        response = world.call("GET", path, world.tokens["bob"])
        assert response.status_code == 200, (term, response.json)
        body = response.json
        hits += [
            (r["kind"], r["group"], r["product"], r.get("version"), r.get("file"))
            for r in body["results"]
        ]
        if not body["next"]:
            return hits
        cursor = f"&cursor={quote(body['next'], safe='')}"


def test_the_index_finds_what_a_substring_match_finds(team: World) -> None:
    _fill(team)
    for term in TERMS:
        expected = _expected(team, term)
        assert _search(team, term, 500) == expected, term
        assert _search(team, term, 2) == expected, term
        assert all(hit[1] == "team" for hit in expected)
    assert _search(team, "secret", 500) == []
    # The index follows a rename and a deletion.
    with team.depot.db.engine.begin() as conn:
        conn.execute(
            sa.update(StoredFile).where(StoredFile.name == "O'Brien.txt").values(name="renamed")
        )
        conn.execute(sa.delete(StoredFile).where(StoredFile.name == "App-Linux.TAR.gz"))
        conn.execute(sa.update(Product).where(Product.name == "AbC").values(name="zyx-软件"))
    for term in ("brien", "renamed", "linux", "app", "abc", "zyx", "软件"):
        assert _search(team, term, 2) == _expected(team, term), term
    assert _search(team, "brien", 500) == [] and _search(team, "linux", 500) == []


@contextmanager
def _statements(world: World) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "UNION ALL" in statement:
            seen.append((statement, parameters))

    sa.event.listen(world.depot.db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(world.depot.db.engine, "before_cursor_execute", note)


def _plan(world: World, term: str) -> str:
    with _statements(world) as seen:
        assert world.call("GET", f"/api/v1/search?q={term}", world.tokens["bob"]).status_code == 200
    [(statement, parameters)] = seen
    with world.depot.db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # The tables are tiny: without this the planner reads them whole. The question
            # is whether the index answers the statement at all.
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_indexscan = off")
            conn.exec_driver_sql("SET enable_nestloop = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        else:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return "\n".join(" ".join(str(c) for c in row) for row in rows)


@pytest.mark.parametrize("term", ["app-linux", "软件产品"])
def test_a_term_of_three_characters_is_looked_up_in_the_trigram_index(
    team: World, term: str
) -> None:
    plan = _plan(team, term)
    if team.depot.db.dialect == "postgresql":
        for index in ("ix_products_name_trigrams", "ix_versions_version_trigrams",
                      "ix_files_name_trigrams"):  # fmt: skip
            assert f"Bitmap Index Scan on {index}" in plan, plan
        with team.depot.db.engine.connect() as conn:
            definitions = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE right(indexname, 9) = '_trigrams'"
            ).scalars()
            # No pending list for the searches to read through after a bulk load.
            found = [d.replace("'", "") for d in definitions]
            assert ["fastupdate=off" in d for d in found] == [True] * 3, found
    else:
        for fts in ("products_search", "versions_search", "files_search"):
            assert f"SCAN {fts} VIRTUAL TABLE INDEX" in plan, plan
        assert "SCAN files" not in plan.replace("SCAN files_search", ""), plan


def test_a_term_of_two_characters_reads_the_names(team: World) -> None:
    """FTS5's trigrams cannot answer it: SQLite falls back to the LIKE alone."""
    plan = _plan(team, "ap")
    if team.depot.db.dialect == "sqlite":
        assert "_search" not in plan, plan
