"""``depot requests``, ``request``, ``approve``, ``refuse``: reading and deciding requests.

Upgrade, acceptance, check-in and check-out requests are filed by one person and
decided by another (see ``client/commands/lifecycle.py`` for filing them). What people
typed — reasons, comments, release notes — is printed escaped, never as rich markup.
"""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from client.api import Api
from client.context import Context, pass_context
from client.errors import ClientError, Exit, InputError
from client.output import human_size
from client.paging import collect, page_options_all_pages

KIND_NAMES = {
    "upgrade": "upgrade",
    "acceptance": "acceptance",
    "checkin": "check-in",
    "checkout": "check-out",
    "register": "registration",
}
KINDS = click.Choice(list(KIND_NAMES))
STATES = click.Choice(["pending", "approved", "refused"])


def when(text: str | None, *, seconds: bool = False) -> str:
    """``2026-11-28 03:56`` from ``2026-11-28T03:56:50Z`` (``-`` for none)."""
    if not text:
        return "-"
    return text.replace("T", " ").replace("Z", "")[: 19 if seconds else 16]


def request_id(text: str) -> int:
    """The number in ``12`` or ``#12``; a usage error otherwise."""
    digits = text.strip().removeprefix("#")
    if not (digits.isascii() and digits.isdigit()) or int(digits) < 1:
        raise InputError(f"cannot read request id {text!r}: expected a number such as 12 or #12")
    return int(digits)


def filed(info: dict[str, Any]) -> str:
    """``filed check-in request #4: check-in of team/app@1.0.0 (pending)``."""
    return (
        f"filed {KIND_NAMES.get(info['kind'], info['kind'])} request #{info['id']}: "
        f"{escape(info['title'])} ({info['state']})"
    )


def columns(rows: list[list[str]]) -> list[str]:
    """Rows of plain text as aligned lines (the last column is not padded); escaped."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        escape(
            "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
        )
        for row in rows
    ]


def decide(
    api: Api,
    number: int,
    *,
    approve: bool,
    comment: str,
    report: str | None = None,
    ctx: Context | None = None,
) -> dict[str, Any]:
    """POST ``/api/v1/requests/ID/approve`` (or ``refuse``) and return the decided request.

    With ``ctx`` and a personal key (`depot keys generate`), a decision that leaves an
    approval statement carries the decider's own signature on it.
    """
    body: dict[str, Any] = {"comment": comment}
    if report is not None:
        body["report"] = report
    verb = "approve" if approve else "refuse"
    if ctx is not None:
        statement = _signed_statement(ctx, api, number, verb, comment)
        if statement is not None:
            body["statement"] = statement
    try:
        info: dict[str, Any] = api.json("POST", f"/api/v1/requests/{number}/{verb}", body)
    except ClientError as error:
        if report is None and error.exit_code == Exit.INVALID and "report" in error.message:
            error.hint = (
                "an acceptance is decided with its test report: "
                "`depot accept REF --report FILE` or `depot reject REF --report FILE --comment ...`"
            )
        raise
    return info


def _signed_statement(
    ctx: Context, api: Api, number: int, verb: str, comment: str
) -> dict[str, Any] | None:
    from client.commands.trust import sign_statement

    try:
        return sign_statement(ctx, api, str(number), verb, comment)
    except ClientError as error:
        if "takes no signed statement" in error.message:
            return None  # an upgrade decision, or a refusal: nothing to sign
        raise


def decided(info: dict[str, Any]) -> str:
    """``approved check-out request #5: check-out of team/app@1.0.0 ...``."""
    kind = info["kind"]
    approved = info["state"] == "approved"
    if kind == "acceptance":
        verb = "accepted" if approved else "rejected"
    else:
        verb = "approved" if approved else "refused"
    text = f"{verb} {KIND_NAMES.get(kind, kind)} request #{info['id']}: {escape(info['title'])}"
    report = info["details"].get("report")
    if kind == "acceptance" and isinstance(report, dict):
        text += f"\nreport {escape(str(report['name']))}  sha256:{report['sha256']}"
    if kind == "checkout" and approved and info.get("expires_at"):
        text += (
            f"\n{escape(info['requester'])} may download it until {when(info['expires_at'])} UTC"
        )
    if kind == "checkin" and approved and info["details"].get("library_number"):
        text += (
            f"\nlibrary number {info['details']['library_number']}, signed manifest "
            f"sha256:{info['details'].get('manifest_sha256', '')}"
        )
    if kind == "upgrade" and approved:
        text += f"\n{escape(info['ref'])} may now be created"
    if info.get("comment"):
        text += f"\ncomment: {escape(info['comment'])}"
    return text


@click.command()
@click.argument("number", metavar="ID")
@click.option("--comment", default="", help="Why you approve (kept in the audit trail).")
@pass_context
def approve(ctx: Context, number: str, comment: str) -> None:
    """Approve request ID (12 or #12): a registration, an upgrade, a check-in or a check-out.

    Nobody decides a request they filed. An acceptance is decided with its test report:
    use `depot accept` instead.
    """
    info = decide(ctx.api(), request_id(number), approve=True, comment=comment, ctx=ctx)
    ctx.output.emit(info, text=decided(info))


@click.command()
@click.argument("number", metavar="ID")
@click.option("--comment", required=True, help="Why you refuse (required).")
@pass_context
def refuse(ctx: Context, number: str, comment: str) -> None:
    """Refuse request ID (12 or #12), with a comment saying why.

    An acceptance is rejected with its test report: use `depot reject` instead.
    """
    info = decide(ctx.api(), request_id(number), approve=False, comment=comment, ctx=ctx)
    ctx.output.emit(info, text=decided(info))


@click.command()
@click.option("--mine", is_flag=True, help="The requests you filed.")
@click.option("--all", "everything", is_flag=True, help="Every request you may see.")
@click.option("--group", help="Only requests of this group.")
@click.option("--state", type=STATES, help="Only requests in this state.")
@click.option("--kind", type=KINDS, help="Only requests of this kind.")
@page_options_all_pages
@pass_context
def requests(
    ctx: Context,
    mine: bool,
    everything: bool,
    group: str | None,
    state: str | None,
    kind: str | None,
    limit: int | None,
    all_pages: bool,
) -> None:
    """List requests: by default those that wait for your decision (your inbox).

    --mine lists the requests you filed, --all every request in the groups you see
    (newest first); --group, --state and --kind narrow any of these lists.
    """
    if mine and everything:
        raise InputError("give --mine or --all, not both")
    view = "mine" if mine else "all" if everything else "inbox"
    api = ctx.api()
    found: list[dict[str, Any]] = collect(
        lambda **q: api.get("/api/v1/requests", **q),
        "requests",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
        view=view,
        group=group,
        state=state,
        kind=kind,
    )
    # The server filters only the ``all`` view; the others are narrowed here.
    found = [
        r
        for r in found
        if (group is None or r["group"] == group)
        and (state is None or r["state"] == state)
        and (kind is None or r["kind"] == kind)
    ]
    table = Table("id", "kind", "what", "requester", "state", "filed")
    for r in found:
        table.add_row(
            f"#{r['id']}",
            KIND_NAMES.get(r["kind"], r["kind"]),
            escape(r["title"]),
            escape(r["requester"]),
            r["state"],
            when(r["created_at"]),
        )
    narrowed = bool(group or state or kind)
    empty = {
        "inbox": "Nothing waits for your decision.",
        "mine": "You have filed no requests.",
        "all": "No requests.",
    }[view]
    if narrowed:
        empty = empty.rstrip(".") + " that match."
    ctx.output.emit(found, table if found else None, None if found else empty)


def _details(info: dict[str, Any]) -> list[str]:
    details = info["details"]
    lines = []
    labels = (
        ("reason", "reason"),
        ("scope", "scope"),
        ("purpose", "purpose"),
        ("days", "days"),
        ("comment", "delivery note"),
    )
    for key, label in labels:
        if details.get(key) not in (None, ""):
            lines.append(f"{label}: {escape(str(details[key]))}")
    if details.get("release_notes"):
        lines.append("release notes:")
        lines.extend(f"  {escape(line)}" for line in str(details["release_notes"]).splitlines())
    if details.get("documents"):
        lines.append(f"documents: {escape(', '.join(map(str, details['documents'])))}")
    report = details.get("report")
    if isinstance(report, dict):
        lines.append(
            f"report: {escape(str(report['name']))}  {human_size(int(report['size']))}  "
            f"sha256:{report['sha256']}  (uploaded by {escape(str(report['uploaded_by']))})"
        )
    return lines


def show_request(detail: dict[str, Any]) -> str:
    """The text of `depot request ID`."""
    lines = [f"request #{detail['id']}: {escape(detail['title'])}", f"state: {detail['state']}"]
    lines.append(
        f"filed by {escape(detail['requester'])} ({detail['requester_role']}) "
        f"on {when(detail['created_at'])}"
    )
    if detail.get("assigned_to"):
        lines.append(f"delivered to: {escape(detail['assigned_to'])}")
    if detail.get("decided_by"):
        lines.append(
            f"decided by {escape(detail['decided_by'])} ({detail['decided_role']}) "
            f"on {when(detail['decided_at'])}"
        )
    if detail.get("comment"):
        lines.append(f"comment: {escape(detail['comment'])}")
    if detail.get("expires_at"):
        lines.append(f"check-out valid until: {when(detail['expires_at'])} UTC")
    lines.extend(_details(detail))
    version = detail.get("version_record")
    if version:
        number = version.get("library_number")
        lines.append(
            f"version: {escape(version['ref'])} ({version['state']}"
            + (f", library number {number}" if number else "")
            + ")"
        )
        files = version["files"]
        lines.append(f"files ({len(files)}):" if files else "files: none")
        lines.extend(
            "  " + line
            for line in columns(
                [
                    [f["name"], f["role"], human_size(f["size"]), f"sha256:{f['sha256']}"]
                    for f in files
                ]
            )
        )
        if files:
            lines.append(f"  download: depot pull {escape(version['ref'])} [NAME...] -o DIR")
    items = detail.get("archive_items") or []
    if items:
        lines.append(f"archive items ({len(items)}):")
        lines.extend(
            "  " + line
            for line in columns(
                [
                    [i["kind"], i["label"], f"at {i['location']}", f"kept by {i['custodian']}"]
                    for i in items
                ]
            )
        )
    if detail["state"] == "pending":
        if detail["you_may_approve"]:
            lines.append("you may approve: yes")
        else:
            lines.append(f"you may approve: no — {escape(detail['why_not'] or 'not allowed')}")
        if detail["you_may_refuse"] != detail["you_may_approve"]:
            lines.append(f"you may refuse: {'yes' if detail['you_may_refuse'] else 'no'}")
    history = detail.get("history") or []
    if history:
        lines.append("history:")
        lines.extend("  " + line for line in columns([event_row(e) for e in history]))
    return "\n".join(lines)


def event_row(event: dict[str, Any]) -> list[str]:
    """One audit event as the columns of `depot history`: time, actor, role, action,
    outcome, target, reason (with the request's number, and the rule of a refusal)."""
    details = event.get("details") or {}
    # A delivery note or a check-out's purpose is kept in the details, not as the reason.
    reason = str(event.get("reason") or details.get("comment") or details.get("purpose") or "")
    if event.get("outcome") != "ok" and event.get("rule"):
        reason = f"{event['rule']}: {reason}" if reason else event["rule"]
    number = details.get("request")
    if isinstance(number, int):
        reason = f"#{number} {reason}".rstrip()
    return [
        when(event["at"], seconds=True),
        event["actor"],
        event.get("role") or "-",
        event["action"],
        event["outcome"],
        event["target"],
        reason,
    ]


@click.command("request")
@click.argument("first", metavar="[show]")
@click.argument("second", metavar="ID", required=False)
@pass_context
def request_show(ctx: Context, first: str, second: str | None) -> None:
    """Show request ID (12 or #12) in full: `depot request 12` or `depot request show 12`.

    What it asks, who filed and decided it, the version's files with their size and
    sha256 (its decider downloads them with `depot pull`), the archive items, whether you
    may approve it (and why not), and the version's history.
    """
    if first == "show":
        if second is None:
            raise InputError("give the request's number: depot request show ID")
        number = second
    elif second is not None:
        raise InputError(f"unexpected {second!r}: depot request [show] ID")
    else:
        number = first
    detail = ctx.api().get(f"/api/v1/requests/{request_id(number)}")
    ctx.output.emit(detail, text=show_request(detail))
