"""Stop-use notices (停止使用通告): when a serious issue is confirmed, each person who
took a version of the batch out (the recall list) is told to stop using it. The core has
no mail: the notice is recorded for the pages, the CLI and the API."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo_server.plugin_api import Caller, PluginContext
from repo_server.plugins.quality.common import notice_json
from repo_server.plugins.quality.models import Issue, Notice

LIMIT = 500


def send_notices(
    context: PluginContext, session: Session, caller: Caller, issue: Issue, refs: list[str]
) -> None:
    """A notice to each person who checked out or downloaded one of ``refs``, in the
    decision's transaction (``session``), audited as ``quality.notice.send``."""
    taken: dict[str, set[str]] = {}
    for entry in context.usage(refs).items:
        taken.setdefault(entry.person, set()).add(entry.ref)
    if not taken:
        return
    now = context.now()
    for person in sorted(taken):
        session.add(
            Notice(
                issue_id=issue.id,
                person=person,
                versions=",".join(sorted(taken[person])),
                sent_at=now,
                sent_by=caller.username,
            )
        )
    context.record(
        session,
        caller,
        "quality.notice.send",
        target=issue.ref,
        group=issue.group_name,
        details={"issue": issue.number, "people": sorted(taken)},
    )


def notices_of(context: PluginContext, caller: Caller) -> list[dict[str, Any]]:
    """The stop-use notices addressed to ``caller``, newest first."""
    with context.read() as session:
        rows = session.execute(
            sa.select(Notice, Issue)
            .join(Issue, Notice.issue_id == Issue.id)
            .where(Notice.person == caller.username)
            .order_by(Notice.id.desc())
            .limit(LIMIT)
        ).all()
        return [notice_json(n, i) for n, i in rows]
