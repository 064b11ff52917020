"""``depot audit``: read the audit trail (auditors and admins)."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from client.context import Context, pass_context
from client.paging import collect, page_options


@click.group(invoke_without_command=True)
@click.option("--group")
@click.option("--actor")
@click.option("--action")
@click.option("--target", help="Records whose target starts with this, e.g. team/app@1.0.")
@click.option("--since", help="ISO 8601 time, e.g. 2026-11-01T00:00:00Z.")
@page_options
@pass_context
def audit(
    ctx: Context,
    group: str | None,
    actor: str | None,
    action: str | None,
    target: str | None,
    since: str | None,
    limit: int | None,
    all_pages: bool,
) -> None:
    """Show audit records, oldest first (auditors and admins); `depot audit verify` checks
    that the server's log only grew since this client last looked."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    api = ctx.api()
    events = collect(
        lambda **q: api.get("/api/v1/audit", **q),
        "events",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
        group=group,
        actor=actor,
        action=action,
        target=target,
        since=since,
    )
    table = Table("id", "at", "actor", "action", "outcome", "target", "from", "reason")
    for e in events:
        table.add_row(
            str(e["id"]),
            e["at"],
            e["actor"],
            e["action"],
            e["outcome"],
            escape(e["target"]),
            e["remote_addr"],
            escape(e["reason"] or ""),
        )
    ctx.output.emit(events, table)


@audit.command("verify")
@pass_context
def audit_verify_command(ctx: Context) -> None:
    """Check the server's signed log checkpoint and that the log only grew (append-only)
    since the checkpoint this client stored last time."""
    from client.commands.trust import audit_verify

    audit_verify(ctx)
