"""What the quality services share: the caller as rule facts, refusals, JSON forms."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa

from repo_server.plugin_api import (
    N_,
    Caller,
    Conflict,
    Forbidden,
    InvalidRequest,
    PluginContext,
    iso,
)
from repo_server.plugins.quality import rules
from repo_server.plugins.quality.models import Issue, IssueEvent, Notice, Quarantine

ROLE_RULE = "quality.role"


def who(caller: Caller) -> rules.Who:
    """The caller as the facts :mod:`rules` weighs."""
    return rules.Who(caller.username, caller.global_roles, caller.groups, caller.is_pipeline)


def enforce(
    context: PluginContext,
    caller: Caller,
    verdict: rules.Verdict,
    action: str,
    target: str,
    *,
    group: str | None = None,
    issue: str | None = None,
    audit: bool = True,
) -> None:
    """Raise the refusal ``verdict`` holds: a 403 (audited unless ``audit`` is false: the
    refusal is recorded in a transaction of its own, never inside a write, with the rule
    ``quality.role``, the ``group`` and the ``issue`` number) or a 409."""
    if verdict.allowed:
        return
    if verdict.kind == "forbidden":
        if audit:
            context.record_refusal(
                caller,
                action,
                target=target,
                reason=verdict.message,
                rule=ROLE_RULE,
                group=group,
                details={"issue": issue} if issue else None,
            )
        raise Forbidden(verdict.message, rule=ROLE_RULE)
    raise Conflict(verdict.message)


def text(value: Any, name: str, *, required: bool = True, limit: int = 10_000) -> str:
    """A text field: a string, stripped, not over ``limit``; a 400 naming it otherwise."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidRequest(N_("field '%(field)s' must be a string", field=name), field=name)
    cleaned: str = value.strip()
    if required and not cleaned:
        raise InvalidRequest(N_("field '%(field)s' is required", field=name), field=name)
    if len(cleaned) > limit:
        raise InvalidRequest(
            N_("field '%(field)s' is over %(limit)d characters", field=name, limit=limit),
            field=name,
        )
    return cleaned


def choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``; a 400 naming the field and the choices otherwise."""
    if not isinstance(value, str) or value not in allowed:
        raise InvalidRequest(
            N_(
                "field '%(field)s' must be one of %(allowed)s (got %(value)r)",
                field=name,
                allowed=", ".join(allowed),
                value=value,
            ),
            field=name,
        )
    return value


def day(value: Any, name: str) -> date | None:
    """A ``YYYY-MM-DD`` field, ``None`` when empty; a 400 naming it otherwise."""
    if value is None or value == "":
        return None
    parsed = rules.parse_date(value) if isinstance(value, str) else None
    if parsed is None:
        raise InvalidRequest(
            N_(
                "field '%(field)s' must be a date YYYY-MM-DD (got %(value)r)",
                field=name,
                value=value,
            ),
            field=name,
        )
    return parsed


def issue_json(issue: Issue, *, active_quarantines: int = 0) -> dict[str, Any]:
    return {
        "number": issue.number,
        "ref": issue.ref,
        "group": issue.group_name,
        "product": issue.product,
        "version": issue.version,
        "title": issue.title,
        "description": issue.description,
        "class": issue.issue_class,
        "supplier": issue.supplier,
        "status": issue.status,
        "cause": issue.cause,
        "resolution": issue.resolution,
        "reported_by": issue.reported_by,
        "reported_at": iso(issue.reported_at),
        "decided_by": issue.decided_by,
        "decided_at": iso(issue.decided_at),
        "closed_by": issue.closed_by,
        "closed_at": iso(issue.closed_at),
        "active_quarantines": active_quarantines,
    }


def event_json(event: IssueEvent) -> dict[str, Any]:
    signature = json.loads(event.signature) if event.signature else None
    return {
        "at": iso(event.at),
        "actor": event.actor,
        "step": event.step,
        "text": event.text,
        "signature": signature,
    }


def notice_json(notice: Notice, issue: Issue) -> dict[str, Any]:
    versions = [v for v in notice.versions.split(",") if v]
    return {
        "issue": issue.number,
        "person": notice.person,
        "versions": versions,
        "sent_at": iso(notice.sent_at),
        "sent_by": notice.sent_by,
        "text": (
            f"Stop-use notice (停止使用通告): serious quality issue {issue.number} "
            f"({issue.title}) was confirmed and the build batch is quarantined. You took "
            f"{', '.join(versions)} out of the library: stop using it and isolate it."
        ),
    }


def quarantine_json(row: Quarantine, issue_number: str | None = None) -> dict[str, Any]:
    return {
        "issue": issue_number or f"Q-{row.issue_id}",
        "ref": row.ref,
        "group": row.group_name,
        "product": row.product,
        "version": row.version,
        "batch": [b for b in row.batch.split(",") if b],
        "active": row.lifted_at is None,
        "started_at": iso(row.started_at),
        "started_by": row.started_by,
        "lifted_at": iso(row.lifted_at),
        "lifted_by": row.lifted_by,
        "lift_reason": row.lift_reason,
    }


def visible_to(caller: Caller, column: Any) -> Any:
    """A WHERE clause keeping the rows of ``column``'s groups that ``caller`` may see."""
    groups = caller.visible_groups
    return sa.true() if groups is None else column.in_(sorted(groups))
