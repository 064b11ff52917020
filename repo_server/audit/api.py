"""API route for reading the audit trail (auditors and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import request

from repo_server.api.http import bp, depot, signed_in
from repo_server.errors import InvalidRequest


def _time(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name} must be an ISO 8601 time", field=name) from None
    if moment.tzinfo is None:
        raise InvalidRequest(f"{name} needs a timezone (e.g. a trailing Z)", field=name)
    return moment


def _int(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer", field=name) from None


@bp.get("/audit")
def search_audit() -> dict[str, Any]:
    """Audit records, oldest first, filtered by group, actor, action, target and time.

    Page with ``after`` (the last ``id`` seen) and ``limit`` (at most 1000).
    """
    entries = depot().audit.search(
        signed_in(),
        group=request.args.get("group") or None,
        actor=request.args.get("actor") or None,
        action=request.args.get("action") or None,
        target=request.args.get("target") or None,
        since=_time("since"),
        until=_time("until"),
        after_id=_int("after", 0),
        limit=_int("limit", 100),
    )
    return {"events": [e.to_json() for e in entries]}
