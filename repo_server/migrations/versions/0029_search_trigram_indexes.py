"""Trigram indexes for the catalogue search: a substring of a product, version or file
name is found without reading every name

PostgreSQL: the ``pg_trgm`` extension and a GIN index on ``lower(<name>)`` per table,
which answers the search's ``lower(name) LIKE '%text%'`` as it is written (without a
pending list: see below). SQLite: an FTS5
table with the ``trigram`` tokenizer per table (external content: the index only, the
names stay in their table), filled from the rows already there and kept in step by
triggers; the search looks a term of three characters or more up in it with ``MATCH``
(repo_server/artifacts/search.py).

The triggers belong to their table: a later migration that rebuilds ``products``,
``versions`` or ``files`` on SQLite (Alembic's batch mode copies the table and drops the
old one) drops them with it and must create them again (``_sqlite_triggers`` below).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

#: The table, its searched column, and the name of its index (PostgreSQL) or FTS5 table.
NAMES = (
    ("products", "name", "ix_products_name_trigrams", "products_search"),
    ("versions", "version", "ix_versions_version_trigrams", "versions_search"),
    ("files", "name", "ix_files_name_trigrams", "files_search"),
)


def _sqlite_triggers(table: str, column: str, fts: str) -> list[str]:
    """The triggers that keep ``fts`` in step with ``table`` (FTS5's external content
    pattern: a 'delete' row takes the old value out of the index)."""
    # The names are this module's constants, never input.
    remove = f"INSERT INTO {fts} ({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});"  # noqa: S608
    add = f"INSERT INTO {fts} (rowid, {column}) VALUES (new.id, new.{column});"  # noqa: S608
    return [
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF id, {column} ON {table} "
        f"BEGIN {remove} {add} END",
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # A trusted extension since PostgreSQL 13: the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # fastupdate off: a new name goes into the index at once, not into GIN's pending
        # list, which every search would read through until a vacuum (after a bulk load
        # of 100,000 files the planner priced the list so high it read the table instead).
        for table, column, index, _ in NAMES:
            op.execute(
                f"CREATE INDEX {index} ON {table} USING gin (lower({column}) gin_trgm_ops)"
                " WITH (fastupdate = off)"
            )
    elif dialect == "sqlite":
        for table, column, _, fts in NAMES:
            op.execute(
                f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, content='{table}', "
                "content_rowid='id', tokenize='trigram')"
            )
            op.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")  # noqa: S608
            for statement in _sqlite_triggers(table, column, fts):
                op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # The extension stays: other schemas of the database may use it.
        for _, _, index, _ in NAMES:
            op.execute(f"DROP INDEX IF EXISTS {index}")
    elif dialect == "sqlite":
        for _, _, _, fts in NAMES:
            for suffix in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
