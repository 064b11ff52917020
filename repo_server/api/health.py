"""Liveness and readiness of the server, for load balancers and `depot-server check`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from repo_server.api.http import bp, depot
from repo_server.errors import Unavailable
from storage import StorageError


@bp.get("/health")
def health() -> dict[str, Any]:
    """``{"status": "ok"}`` when the database and the blob store answer; else 503."""
    services = depot()
    try:
        with services.db.read() as session:
            session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        raise Unavailable("the database is not reachable") from None
    try:
        services.store.check()
    except StorageError:
        raise Unavailable("the blob store is not reachable") from None
    return {"status": "ok", "version": _version()}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("depot")
    except PackageNotFoundError:
        return "unknown"
