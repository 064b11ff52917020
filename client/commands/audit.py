"""``depot audit``: read the audit trail (auditors and admins)."""

from __future__ import annotations

import click
from rich.table import Table

from client.context import Context, pass_context


@click.command()
@click.option("--group")
@click.option("--actor")
@click.option("--action")
@click.option("--target", help="Records whose target starts with this, e.g. team/app@1.0.")
@click.option("--since", help="ISO 8601 time, e.g. 2026-11-01T00:00:00Z.")
@click.option("--after", type=int, default=0, help="Only records after this id (paging).")
@click.option("--limit", type=int, default=100, show_default=True)
@pass_context
def audit(
    ctx: Context,
    group: str | None,
    actor: str | None,
    action: str | None,
    target: str | None,
    since: str | None,
    after: int,
    limit: int,
) -> None:
    """Show audit records, oldest first."""
    events = ctx.api().get(
        "/api/v1/audit",
        group=group,
        actor=actor,
        action=action,
        target=target,
        since=since,
        after=after or None,
        limit=limit,
    )["events"]
    table = Table("id", "at", "actor", "action", "outcome", "target", "from", "reason")
    for e in events:
        table.add_row(
            str(e["id"]),
            e["at"],
            e["actor"],
            e["action"],
            e["outcome"],
            e["target"],
            e["remote_addr"],
            e["reason"],
        )
    ctx.output.emit(events, table)
