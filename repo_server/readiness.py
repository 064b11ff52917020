"""Whether this server can do its work now: each part it needs, checked as it is.

Liveness (``GET /api/v1/health/live``) says only that the process answers. Readiness
(``GET /api/v1/health/ready``, ``depot-server check``) says whether every part a request
may need is there: the database answers and is at the code's migrations, the blob store
is where the settings say (a moved or unmounted folder is *not* re-created), the online
signing keys are readable and are the ones the newest keyring names, and every plugin the
settings enable is loaded. Each check names what is wrong in one line.

It sits with the entry points because it asks the migrations what the code expects.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from repo_server.core import Depot
from repo_server.trust.keystore import KeysUnavailable
from storage import StorageError


@dataclass(frozen=True)
class Check:
    """One part of the server and whether it is usable (``detail`` says what is wrong)."""

    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Readiness:
    """The checks for one server; the code's migration heads are read once."""

    def __init__(self, depot: Depot) -> None:
        self.depot = depot
        self._lock = threading.Lock()
        self._heads: dict[str, str | None] | None = None
        self._good_version_rows: frozenset[str] | None = None

    def checks(self) -> list[Check]:
        """Every check, in the order an operator fixes them."""
        database = self._database()
        found = [database]
        found.append(self._migrations() if database.ok else Check("migrations", False, "unknown"))
        found += [self._blob_store(), self._keys(), self._plugins()]
        return found

    def ready(self) -> tuple[bool, list[Check]]:
        """Whether every check passed, and the checks."""
        found = self.checks()
        return all(check.ok for check in found), found

    def report(self) -> tuple[bool, list[dict[str, Any]]]:
        """:meth:`ready` as plain data, for the health endpoint."""
        ok, found = self.ready()
        return ok, [check.as_dict() for check in found]

    # -- the checks --------------------------------------------------------------------

    def _database(self) -> Check:
        try:
            with self.depot.db.read() as session:
                session.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as error:
            return Check("database", False, f"not reachable: {_first_line(error)}")
        return Check("database", True, "reachable")

    def _migrations(self) -> Check:
        from repo_server.migrate import branch_heads, branch_revisions

        db, plugins = self.depot.db, self.depot.settings.plugin_names
        try:
            with db.engine.connect() as connection:
                rows = frozenset(
                    connection.execute(sa.text("SELECT version_num FROM alembic_version"))
                    .scalars()
                    .all()
                )
        except sa.exc.SQLAlchemyError:
            return Check("migrations", False, "the database has no schema: run db upgrade")
        if rows and rows == self._good_version_rows:
            return Check("migrations", True, "at the newest revision")
        with self._lock:
            if self._heads is None:
                self._heads = branch_heads(db, plugins)
            heads = self._heads
        current = branch_revisions(db, plugins)
        behind = [b for b, head in heads.items() if current.get(b) != head]
        if behind:
            parts = ", ".join(f"{b} at {current.get(b) or 'nothing'} of {heads[b]}" for b in behind)
            return Check(
                "migrations", False, f"behind the code ({parts}): run `depot-server db upgrade`"
            )
        self._good_version_rows = rows
        return Check("migrations", True, "at the newest revision")

    def _blob_store(self) -> Check:
        store = self.depot.store
        try:
            store.check()
        except StorageError as error:
            return Check("blob store", False, str(error))
        return Check("blob store", True, f"{store.description} usable")

    def _keys(self) -> Check:
        try:
            version = self.depot.keys.check_files()
        except KeysUnavailable as error:
            return Check("signing keys", False, error.message)
        except sa.exc.SQLAlchemyError:
            return Check("signing keys", False, "unknown: the database is not reachable")
        return Check("signing keys", True, f"online keys of keyring {version} readable")

    def _plugins(self) -> Check:
        wanted = self.depot.settings.plugin_names
        missing = [name for name in wanted if name not in self.depot.plugins.names]
        if missing:
            return Check("plugins", False, f"enabled but not loaded: {', '.join(missing)}")
        return Check("plugins", True, ", ".join(wanted) or "none enabled")


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
