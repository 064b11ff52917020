"""API route for reading the audit trail (shapes: :mod:`repo_server.api.schemas.audit`)."""

from __future__ import annotations

from typing import Any

from repo_server.api.contract import Reply
from repo_server.api.http import bp, depot, signed_in
from repo_server.api.schemas.audit import AuditPage, AuditQuery


@bp.operation(
    "GET",
    "/audit",
    query=AuditQuery,
    replies={200: Reply(AuditPage)},
    errors={403: "auditors and admins only"},
)
def search_audit(query: AuditQuery) -> dict[str, Any]:
    """Audit records, oldest first, filtered by group, actor, action, target and time.

    Page with ``after`` (the last ``id`` seen) and ``limit`` (at most 1000).
    """
    entries = depot().audit.search(
        signed_in(),
        group=query.group or None,
        actor=query.actor or None,
        action=query.action or None,
        target=query.target or None,
        since=query.since,
        until=query.until,
        after_id=query.after,
        limit=query.limit,
    )
    return {"events": entries}
