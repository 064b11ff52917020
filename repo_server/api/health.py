"""Liveness and readiness of the server, for load balancers, orchestrators and monitoring.

- ``/health/live``: the process answers (restart it if not); touches nothing else.
- ``/health/ready``: every part a request needs is usable (see repo_server/readiness.py);
  503 with each check when not (take the node out of rotation).
- ``/health``: the readiness answer in short, as before (503 naming what is down).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import current_app

from repo_server.api.contract import Reply
from repo_server.api.http import bp
from repo_server.api.schemas.service import Health, Liveness, ReadinessReport
from repo_server.errors import Unavailable


def _readiness() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every readiness check, and those that failed."""
    check: Callable[[], tuple[bool, list[dict[str, Any]]]] = current_app.extensions[
        "depot.readiness"
    ]
    _, checks = check()
    return checks, [c for c in checks if not c["ok"]]


@bp.operation(
    "GET",
    "/health",
    auth="public",
    replies={200: Reply(Health)},
    errors={503: "a part the server needs is not usable (the first one is named)"},
)
def health() -> dict[str, str]:
    """``{"status": "ok"}`` when the server is ready; else 503 naming what is wrong."""
    _, failing = _readiness()
    if failing:
        raise Unavailable(f"{failing[0]['name']}: {failing[0]['detail']}")
    return {"status": "ok", "version": _version()}


@bp.operation("GET", "/health/live", auth="public", replies={200: Reply(Liveness)})
def live() -> dict[str, str]:
    """The process answers requests (nothing else is checked)."""
    return {"status": "alive", "version": _version()}


@bp.operation(
    "GET",
    "/health/ready",
    auth="public",
    replies={200: Reply(ReadinessReport)},
    errors={503: "a part is not usable: the answer's checks say which and why"},
)
def ready() -> dict[str, Any]:
    """Each part a request needs (database, migrations, blob store, signing keys,
    plugins), and whether it is usable; 503 listing the checks when one is not."""
    checks, failing = _readiness()
    if failing:
        names = ", ".join(c["name"] for c in failing)
        raise Unavailable(f"not ready: {names}", checks=checks)
    return {"ready": True, "checks": checks}


@cache
def _version() -> str:
    """The installed package's version, read once per process (not at every probe)."""
    try:
        return version("depot")
    except PackageNotFoundError:
        return "unknown"
