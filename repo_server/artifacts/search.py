"""The catalogue search's statement: which products, versions and files of the caller's
groups a text is a substring of (or which files have a digest), in one union.

Called by :meth:`repo_server.artifacts.services.Catalog.search`, which checks the input and
pages the union by ``(phase, id)``: products first, then versions, then files, each in the
order they were stored.

A name matches when ``lower(name) LIKE '%text%'`` (the text lowered by Python, ``%``, ``_``
and ``\\`` taken literally). No B-tree index answers a pattern that starts with ``%``, so
migration 0029 gives each searched column a trigram index:

- PostgreSQL: a ``pg_trgm`` GIN index on ``lower(name)``, which the planner uses for the
  ``LIKE`` as it stands (for a term of one or two characters there is no trigram to look up,
  and it reads the table as before).
- SQLite: an FTS5 table with the ``trigram`` tokenizer per table (``<table>_search``,
  external content, kept in step by triggers). A term of three characters or more is first
  looked up there with ``MATCH``, and the ``LIKE`` is still applied to the rows it gives:
  FTS5 folds the case of every letter, SQLite's ``lower()`` and ``LIKE`` only of ASCII ones,
  so ``MATCH`` finds every row the ``LIKE`` keeps, and maybe a few more that the ``LIKE``
  then drops: the answer is exactly the ``LIKE``'s. FTS5's trigrams match nothing for a
  term of one or two characters, so such a term falls back to the ``LIKE`` alone, over
  every name of the caller's groups (its cost grows with the catalogue).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

import sqlalchemy as sa

from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.groups.models import Group

#: The shortest term a trigram index can look up.
TRIGRAM = 3

#: SQLite's FTS5 table of each searched table (migration 0029). They are not in the
#: models' metadata: ``repo_server.migrate.include_in_compare`` leaves them out of
#: Alembic's comparison, with their shadow tables.
SQLITE_SEARCH_TABLES = {
    "products": "products_search",
    "versions": "versions_search",
    "files": "files_search",
}
#: PostgreSQL's GIN index of each searched column (migration 0029), left out of the
#: comparison too: the models do not declare expression indexes.
POSTGRESQL_TRIGRAM_INDEXES = frozenset(
    {"ix_products_name_trigrams", "ix_versions_version_trigrams", "ix_files_name_trigrams"}
)


def contains(
    model: type[Product | Version | StoredFile], name_column: Any, text: str, dialect: str
) -> sa.ColumnElement[bool]:
    """``model``'s ``name_column`` contains ``text`` (see the module's text); the model's
    integer primary key is the rowid of its FTS5 table on SQLite."""
    lowered = text.lower()
    escaped = lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = sa.func.lower(name_column).like(f"%{escaped}%", escape="\\")
    if dialect != "sqlite" or len(lowered) < TRIGRAM:
        return like
    fts = SQLITE_SEARCH_TABLES[model.__tablename__]
    phrase = '"' + lowered.replace('"', '""') + '"'  # one FTS5 string: nothing is syntax
    index = sa.table(fts, sa.column("rowid"))
    found = sa.select(index.c.rowid).where(sa.literal_column(fts).op("MATCH")(phrase))
    return sa.and_(model.id.in_(found), like)


def search_statement(
    names: Collection[str] | None, text: str, sha256: str | None, dialect: str
) -> sa.Select[Any]:
    """The hits, as rows of ``phase`` (0 product, 1 version, 2 file), ``id``, ``group``,
    ``product``, ``version``, ``file``, ``sha256`` and ``size``, of the groups ``names``
    (``None``: every group)."""
    in_scope = Group.name.in_(names) if names is not None else sa.true()
    files = (
        sa.select(
            sa.literal_column("2", sa.Integer).label("phase"),
            StoredFile.id.label("id"),
            Group.name.label("group"),
            Product.name.label("product"),
            Version.version.label("version"),
            StoredFile.name.label("file"),
            StoredFile.sha256.label("sha256"),
            StoredFile.size.label("size"),
        )
        .join(Product, Product.group_id == Group.id)
        .join(Version, Version.product_id == Product.id)
        .join(StoredFile, StoredFile.version_id == Version.id)
        .where(in_scope)
    )
    if sha256 is not None:
        return cast("sa.Select[Any]", files.where(StoredFile.sha256 == sha256))
    none = sa.cast(sa.null(), sa.String)
    products = (
        sa.select(
            sa.literal_column("0", sa.Integer).label("phase"),
            Product.id.label("id"),
            Group.name.label("group"),
            Product.name.label("product"),
            none.label("version"),
            none.label("file"),
            none.label("sha256"),
            sa.cast(sa.null(), sa.BigInteger).label("size"),
        )
        .join(Product, Product.group_id == Group.id)
        .where(in_scope, contains(Product, Product.name, text, dialect))
    )
    versions = (
        sa.select(
            sa.literal_column("1", sa.Integer).label("phase"),
            Version.id.label("id"),
            Group.name.label("group"),
            Product.name.label("product"),
            Version.version.label("version"),
            none.label("file"),
            none.label("sha256"),
            sa.cast(sa.null(), sa.BigInteger).label("size"),
        )
        .join(Product, Product.group_id == Group.id)
        .join(Version, Version.product_id == Product.id)
        .where(in_scope, contains(Version, Version.version, text, dialect))
    )
    in_files = files.where(contains(StoredFile, StoredFile.name, text, dialect))
    hits = sa.union_all(products, versions, in_files).subquery("hits")
    return cast("sa.Select[Any]", sa.select(hits))
