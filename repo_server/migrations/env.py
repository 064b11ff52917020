"""Alembic environment: runs Depot's migrations on the connection it is handed.

Called through :mod:`repo_server.migrate` (``depot-server db upgrade``), never with a
global alembic.ini: the database URL comes from the server's settings.
"""

from __future__ import annotations

from alembic import context

from repo_server.migrate import include_in_compare
from repo_server.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run Depot's migrations through `depot-server db upgrade`")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_in_compare,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
