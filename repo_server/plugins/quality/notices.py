"""Stop-use notices (停止使用通告): when a serious issue is confirmed, each person who
took a version of the batch out (the recall list) is told to stop using it. The core has
no mail: the notice is recorded for the pages, the CLI and the API."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo_server.plugin_api import EVERYTHING, Caller, Page, PageRequest, PluginContext, fetch
from repo_server.plugins.quality.common import notice_json
from repo_server.plugins.quality.models import Issue, Notice


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


def notices_of(
    context: PluginContext, caller: Caller, page: PageRequest = EVERYTHING
) -> Page[dict[str, Any]]:
    """A page of the stop-use notices addressed to ``caller``, newest first (read by
    ``ix_quality_notices_person_id``)."""
    with context.read() as session:
        rows = fetch(
            session,
            cast(
                "sa.Select[Any]",
                sa.select(Notice, Issue)
                .join(Issue, Notice.issue_id == Issue.id)
                .where(Notice.person == caller.username),
            ),
            (Notice.id,),
            page,
            scope=f"quality.notices:{caller.username}",
            key=lambda row: (row[0].id,),
            descending=True,
        )
        return rows.map(lambda row: notice_json(row[0], row[1]))
