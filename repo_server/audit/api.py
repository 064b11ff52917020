"""API route for reading the audit trail (shapes: :mod:`repo_server.api.schemas.audit`)."""

from __future__ import annotations

from repo_server.api.http import bp, depot, signed_in
from repo_server.api.paging import Answer, answer, page_request, paged
from repo_server.api.schemas.audit import AuditPage, AuditQuery


@bp.operation(
    "GET",
    "/audit",
    query=AuditQuery,
    replies={200: paged(AuditPage)},
    errors={403: "auditors and admins only"},
)
def search_audit(query: AuditQuery) -> Answer:
    """Audit records, oldest first, filtered by group, actor, action, target and time."""
    page = depot().audit.search(
        signed_in(),
        group=query.group or None,
        actor=query.actor or None,
        action=query.action or None,
        target=query.target or None,
        since=query.since,
        until=query.until,
        page=page_request(query),
    )
    return answer({"events": page.items}, page)
