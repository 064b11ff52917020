"""``depot stand-in`` (who decides in a version manager's place, and when) and
``depot notify`` (which mail you get)."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

import click
from rich.table import Table

from client.api import seg
from client.context import Context, pass_context
from client.errors import InputError
from client.paging import collect, page_options


def parse_moment(text: str, *, now: datetime | None = None, end_of_day: bool = False) -> str:
    """``7d``/``12h`` from now, or ``2026-12-20`` (its start, or with ``end_of_day`` its
    end, in UTC), as RFC 3339 text; anything else is sent as written (an ISO 8601 time
    with its offset: the server checks it and names the field when it cannot read it)."""
    now = now or datetime.now(UTC)
    text = text.strip()
    found = re.fullmatch(r"([0-9]{1,5})([dh])", text)
    if found:
        amount = int(found.group(1))
        delta = timedelta(days=amount) if found.group(2) == "d" else timedelta(hours=amount)
        return _rfc3339(now + delta)
    day = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", text)
    if day:
        year, month, number = (int(part) for part in day.groups())
        if not (1 <= month <= 12 and 1 <= number <= calendar.monthrange(year, month)[1]):
            raise InputError(f"{text!r} is not a day of the calendar")
        start = datetime(year, month, number, tzinfo=UTC)
        return _rfc3339(start + timedelta(days=1) if end_of_day else start)
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})", text):
        raise InputError(
            f"cannot read {text!r}: use 7d, 12h, 2026-12-20 or 2026-12-20T18:00:00+08:00"
        )
    return text


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@click.group("stand-in")
def stand_in() -> None:
    """Stand-ins: someone who decides in a version manager's place for a period."""


@stand_in.command("add")
@click.argument("user")
@click.option(
    "--until",
    required=True,
    help="End of the period: 7d, 12h, a day (2026-12-20: to its end, UTC) or an ISO time.",
)
@click.option("--from", "starts", default=None, help="Start of the period (default: now).")
@click.option("--for", "stands_for", default=None, help="Whose stand-in (an admin; default: you).")
@click.option("--reason", default="", help="Why, e.g. annual leave.")
@pass_context
def stand_in_add(
    ctx: Context, user: str, until: str, starts: str | None, stands_for: str | None, reason: str
) -> None:
    """Name USER to decide in your place (a version manager's requests) for a period."""
    body: dict[str, object] = {
        "stand_in": user,
        "ends_at": parse_moment(until, end_of_day=True),
        "reason": reason,
    }
    if starts:
        body["starts_at"] = parse_moment(starts)
    if stands_for:
        body["stands_for"] = stands_for
    answer = ctx.api().json("POST", "/api/v1/stand-ins", body)
    ctx.output.emit(
        answer,
        text=(
            f"{answer['stand_in']} stands in for {answer['stands_for']} from "
            f"{answer['starts_at']} until {answer['ends_at']} (appointment {answer['id']})"
        ),
    )


@stand_in.command("list")
@page_options
@pass_context
def stand_in_list(ctx: Context, limit: int | None, all_pages: bool) -> None:
    """Stand-in appointments, newest first (yours; a version manager, admin or auditor:
    all)."""
    api = ctx.api()
    rows = collect(
        lambda **q: api.get("/api/v1/stand-ins", **q),
        "stand_ins",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
    )
    table = Table("id", "stand-in", "for", "from", "until", "status", "reason")
    for row in rows:
        status = "revoked" if row["revoked_at"] else "active" if row["active"] else "inactive"
        table.add_row(
            str(row["id"]),
            row["stand_in"],
            row["stands_for"],
            row["starts_at"],
            row["ends_at"],
            status,
            row["reason"],
        )
    ctx.output.emit(rows, table)


@stand_in.command("revoke")
@click.argument("appointment_id")
@pass_context
def stand_in_revoke(ctx: Context, appointment_id: str) -> None:
    """End a stand-in appointment now (by its id in `depot stand-in list`)."""
    answer = ctx.api().json("POST", f"/api/v1/stand-ins/{seg(appointment_id)}/revoke")
    ctx.output.emit(
        answer, text=f"{answer['stand_in']} no longer stands in for {answer['stands_for']}"
    )


@click.group("notify")
def notify() -> None:
    """Which mail you get about requests."""


def _show(ctx: Context, answer: dict[str, object]) -> None:
    table = Table("mail", "on")
    table.add_row("address", str(answer["email"] or "(none: ask an admin to set it)"))
    for key, label in (
        ("awaiting", "a request waits for my decision"),
        ("decided", "a request of mine was decided"),
        ("reminders", "reminders of what waits too long"),
    ):
        table.add_row(label, "yes" if answer[key] else "no")
    table.add_row("language of pages and mail", str(answer.get("language") or "(the browser's)"))
    table.add_row("time zone", str(answer.get("time_zone") or "(the server's)"))
    ctx.output.emit(answer, table)


@notify.command("show")
@pass_context
def notify_show(ctx: Context) -> None:
    """Your notification settings."""
    _show(ctx, ctx.api().json("GET", "/api/v1/me/notifications"))


@notify.command("set")
@click.option("--awaiting/--no-awaiting", default=None, help="Mail when a request waits for me.")
@click.option("--decided/--no-decided", default=None, help="Mail when my request is decided.")
@click.option("--reminders/--no-reminders", default=None, help="Reminders of waiting requests.")
@click.option(
    "--language",
    type=click.Choice(["en", "zh-CN", "browser"]),
    default=None,
    help="Language of the pages and the mail (browser: as the browser asks).",
)
@click.option(
    "--time-zone",
    default=None,
    help="Time zone of the dates you read, e.g. Asia/Shanghai ('' for the server's).",
)
@pass_context
def notify_set(
    ctx: Context,
    awaiting: bool | None,
    decided: bool | None,
    reminders: bool | None,
    language: str | None,
    time_zone: str | None,
) -> None:
    """Turn kinds of mail on or off; set the language and time zone of pages and mail."""
    body: dict[str, bool | str] = {
        key: value
        for key, value in (("awaiting", awaiting), ("decided", decided), ("reminders", reminders))
        if value is not None
    }
    if language is not None:
        body["language"] = "" if language == "browser" else language
    if time_zone is not None:
        body["time_zone"] = time_zone.strip()
    if not body:
        raise InputError(
            "say what to change: --awaiting/--no-awaiting, --decided, --reminders, "
            "--language, --time-zone"
        )
    _show(ctx, ctx.api().json("PATCH", "/api/v1/me/notifications", body))
