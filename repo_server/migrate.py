"""Schema migrations: bring a database to the newest revision, or tell where it stands.

The core's migrations are the ``depot`` branch. A plugin with tables publishes its own
migrations folder under the ``depot.migrations`` entry-point group (the entry point's
name is its branch label; its first revision ``depends_on`` the core revision it needs).
Every installed plugin's folder is always known, so that a database which once ran a
plugin still migrates after the plugin is disabled; only the enabled plugins' branches
are upgraded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.environment import NameFilterParentNames, NameFilterType
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from repo_server.artifacts.search import POSTGRESQL_TRIGRAM_INDEXES, SQLITE_SEARCH_TABLES
from repo_server.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")
CORE_BRANCH = "depot"
PLUGIN_MIGRATIONS = "depot.migrations"


class MigrationError(RuntimeError):
    """An enabled plugin has no migrations installed under its name."""


def plugin_migration_folders() -> dict[str, Path]:
    """The migrations folder of every installed plugin that has one, by branch label."""
    found: dict[str, Path] = {}
    for entry in entry_points(group=PLUGIN_MIGRATIONS):
        module = entry.load()
        found[entry.name] = Path(module.__file__).parent
    return found


def include_in_compare(
    name: str | None, kind: NameFilterType, parent: NameFilterParentNames
) -> bool:
    """Alembic's ``include_name`` rule for comparing the database with the models
    (autogenerate, and the test that the migrations build the models' schema): the search's
    trigram indexes of migration 0029 are left out, since no model declares them (SQLite's
    FTS5 tables, their shadow tables ``<table>_data``, ``_idx``, ``_docsize``, ``_config``,
    and PostgreSQL's GIN indexes on ``lower(name)``); everything else is compared."""
    if kind == "table" and name is not None:
        return not any(name == t or name.startswith(f"{t}_") for t in SQLITE_SEARCH_TABLES.values())
    if kind == "index":
        return name not in POSTGRESQL_TRIGRAM_INDEXES
    return True


def alembic_config(db: Database) -> Config:
    """An Alembic configuration for ``db`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    locations = [MIGRATIONS / "versions", *plugin_migration_folders().values()]
    config.set_main_option(
        "version_locations", os.pathsep.join(str(p).replace("%", "%%") for p in locations)
    )
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def _branches(plugins: Sequence[str]) -> list[str]:
    known = plugin_migration_folders()
    return [CORE_BRANCH, *(name for name in plugins if name in known)]


def head_revision(db: Database, branch: str = CORE_BRANCH) -> str | None:
    """The newest revision the code knows on ``branch`` (default: the core's)."""
    script = ScriptDirectory.from_config(alembic_config(db))
    found = script.get_revision(f"{branch}@head")
    return found.revision if found is not None else None


def head_revisions(db: Database, plugins: Sequence[str] = ()) -> set[str]:
    """The newest revisions of the core and of the plugins ``plugins`` that have tables."""
    return {h for branch in _branches(plugins) if (h := head_revision(db, branch))}


def current_revisions(db: Database) -> set[str]:
    """Every revision the database is at or has passed, on every branch.

    Alembic's version table holds only the heads: a plugin's first revision that depends
    on a core revision takes that revision's place there, so the rest is read from the
    scripts' ancestry.
    """
    with db.engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    if not heads:
        return set()
    script = ScriptDirectory.from_config(alembic_config(db))
    return {r.revision for r in script.iterate_revisions(tuple(heads), "base") if r}


def current_revision(db: Database) -> str | None:
    """The core revision the database is at (``None``: empty database)."""
    script = ScriptDirectory.from_config(alembic_config(db))
    applied = current_revisions(db)
    core = [r.revision for r in script.iterate_revisions(f"{CORE_BRANCH}@head", "base")]
    return next((revision for revision in core if revision in applied), None)


def branch_revisions(db: Database, plugins: Sequence[str] = ()) -> dict[str, str | None]:
    """The revision the database is at on the core's branch and on each of ``plugins``'
    (``None``: not migrated yet), by branch name."""
    script = ScriptDirectory.from_config(alembic_config(db))
    applied = current_revisions(db)
    folders = {MIGRATIONS / "versions": CORE_BRANCH}
    folders.update({path: name for name, path in plugin_migration_folders().items()})
    found: dict[str, str | None] = dict.fromkeys(_branches(plugins))
    for branch in found:
        for revision in script.iterate_revisions(f"{branch}@head", "base"):
            in_branch = folders.get(Path(revision.path).parent) == branch
            if revision and in_branch and revision.revision in applied:
                found[branch] = revision.revision
                break
    return found


def branch_heads(db: Database, plugins: Sequence[str] = ()) -> dict[str, str | None]:
    """The newest revision the code knows on the core's branch and on each of ``plugins``'."""
    return {branch: head_revision(db, branch) for branch in _branches(plugins)}


def upgrade(db: Database, revision: str = "head", *, plugins: Sequence[str] = ()) -> None:
    """Migrate ``db`` to ``revision`` (default: the newest) and the tables of the enabled
    ``plugins`` to theirs, in one transaction."""
    config = alembic_config(db)
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several app nodes may start at once: one migrates, the others wait.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(72540001)"))
        config.attributes["connection"] = connection
        if revision != "head":
            command.upgrade(config, revision)
            return
        for branch in _branches(plugins):
            command.upgrade(config, f"{branch}@head")


def is_current(db: Database, plugins: Sequence[str] = ()) -> bool:
    """True when the database is at the newest revision of the core and of ``plugins``."""
    try:
        return head_revisions(db, plugins) <= current_revisions(db)
    except sa.exc.OperationalError:
        return False
