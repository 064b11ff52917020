"""Liveness and readiness of the server, for load balancers and monitoring."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from repo_server.api.contract import Reply
from repo_server.api.http import bp, depot
from repo_server.api.schemas.service import Health
from repo_server.errors import Unavailable


@bp.operation(
    "GET",
    "/health",
    auth="public",
    replies={200: Reply(Health)},
    errors={503: "a component is down (it is named)"},
)
def health() -> dict[str, str]:
    """``{"status": "ok"}`` when the database and the blob store answer; else 503."""
    problem = depot().health()
    if problem:
        raise Unavailable(problem)
    return {"status": "ok", "version": _version()}


def _version() -> str:
    try:
        return version("depot")
    except PackageNotFoundError:
        return "unknown"
