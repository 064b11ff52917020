"""The database: declarative base, column types, engine and transactions.

SQLite (the embedded default) is opened in WAL mode with foreign keys on; write
transactions begin IMMEDIATE so two worker processes never deadlock on a lock upgrade.
PostgreSQL runs with its defaults (READ COMMITTED) and the same code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from repo_server.errors import Conflict

log = logging.getLogger(__name__)

#: The work waiting for the write transaction this thread (or task) is in to end; ``None``
#: outside one. See :meth:`Database.after_write`.
_AFTER_WRITE: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "depot_after_write", default=None
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every model; constraint names follow one convention for migrations."""

    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings Depot relies on."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    # A database host that stops answering fails a new connection in 10 s (a 503), rather
    # than holding the request until the client gives up.
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"connect_timeout": 10},
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("depot_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def _run_after_write(work: Callable[[], None]) -> None:
    try:
        work()
    except Exception:  # the transaction's own answer stands; the failure is logged
        log.exception("work deferred until a write transaction ended failed")


class Database:
    """The engine and the two kinds of transaction services use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(depot_write=True), expire_on_commit=False
        )
        self._on_commit: list[Callable[[], None]] = []

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def write(self, *, conflict: str = "") -> Iterator[Session]:
        """A transaction that may write: committed on success, rolled back on error.

        With ``conflict``, a unique constraint broken inside or at commit — another request
        created the same thing at the same moment — is a :class:`Conflict` with that message
        (the 409 the request would have got a moment later) rather than a database error.
        """
        outermost = _AFTER_WRITE.get() is None
        token = _AFTER_WRITE.set([]) if outermost else None
        try:
            with self._write.begin() as session:
                yield session
            for listener in self._on_commit:
                listener()
        except sa.exc.IntegrityError as error:
            if not conflict:
                raise
            raise Conflict(conflict) from error
        finally:
            if token is not None:
                waiting = _AFTER_WRITE.get() or []
                _AFTER_WRITE.reset(token)
                for work in waiting:
                    _run_after_write(work)

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every write transaction of this process commits (the
        token cache forgets what it checked: roles or memberships may have changed)."""
        self._on_commit.append(listener)

    def after_write(self, work: Callable[[], None]) -> None:
        """Run ``work`` once the write transaction this thread is in has ended (committed
        or rolled back), or now outside one.

        For work that needs a write transaction of its own (recording a failure in the
        audit trail, :meth:`repo_server.plugin_host.PluginHost.blocks`): on SQLite, a
        second writer inside the first one's transaction would wait for the first to end,
        which it never does (30 s of ``busy_timeout``, then a 503). ``work`` that raises
        is logged and never hides the transaction's own outcome.
        """
        waiting = _AFTER_WRITE.get()
        if waiting is None:
            _run_after_write(work)
        else:
            waiting.append(work)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (rolled back at the end)."""
        with self._read() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown and in tests)."""
        self.engine.dispose()
