"""``depot-server notify``: reminders for cron, and a test mail through the relay."""

from __future__ import annotations

import click

from repo_server.cli_support import Ctx, emit, fail, handled, pass_ctx


@click.group("notify")
def notify_group() -> None:
    """Mail about requests (docs/operations.md, "Mail")."""


@notify_group.command("remind")
@click.option(
    "--older-than",
    "hours",
    type=click.IntRange(1, 90 * 24),
    help="Remind of requests pending longer than this many hours "
    "(default: notify_remind_after_hours, 48).",
)
@pass_ctx
@handled
def remind(ctx: Ctx, hours: int | None) -> None:
    """Mail whoever may decide each request that has waited too long.

    Run it from cron as often as you like: a person is reminded of a request once a day
    (UTC) at most. Mail the relay did not take is sent by the next run.
    """
    if not ctx.depot.notify.mailer.enabled:
        fail("mail is off: set smtp_host and smtp_from (docs/operations.md)", 2)
    run = ctx.depot.notify.remind(older_than_hours=hours)
    emit(
        ctx,
        {"requests": run.requests, "sent": run.sent, "already_reminded": run.skipped},
        text=f"{run.requests} request(s) waiting too long: {run.sent} reminder(s) sent, "
        f"{run.skipped} already sent today",
    )


@notify_group.command("test")
@click.argument("address")
@pass_ctx
@handled
def test_mail(ctx: Ctx, address: str) -> None:
    """Send a test mail to ADDRESS through the configured relay."""
    if not ctx.depot.notify.test_mail(address):
        fail(f"the relay {ctx.settings.smtp_host}:{ctx.settings.smtp_port} did not take it "
             "(see the log line above)", 1)  # fmt: skip
    emit(ctx, {"sent": True, "to": address}, text=f"test mail sent to {address}")
