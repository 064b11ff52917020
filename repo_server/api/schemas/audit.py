"""The audit trail on the wire (``/api/v1/audit``, a version's history)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from repo_server.api.paging import Paged, PageQuery
from repo_server.api.schemas.common import Moment, Out


class AuditEvent(Out):
    """One audit record: who did what to which target, the outcome and the rule."""

    id: int
    at: Moment
    actor: str
    token: str | None
    role: str
    action: str
    outcome: Literal["ok", "refused", "failed", "interrupted"]
    group: str | None
    target: str
    rule: str
    reason: str
    remote_addr: str
    details: dict[str, Any]


class AuditPage(Paged):
    """A page of audit records, oldest first."""

    events: list[AuditEvent]


class AuditQuery(PageQuery):
    """Filters of the audit trail."""

    group: Annotated[str, Field(max_length=63)] = ""
    actor: Annotated[str, Field(max_length=64)] = ""
    action: Annotated[str, Field(max_length=64)] = ""
    target: Annotated[str, Field(max_length=500)] = ""
    since: AwareDatetime | None = Field(None, description="ISO 8601 with a timezone")
    until: AwareDatetime | None = Field(None, description="ISO 8601 with a timezone")
