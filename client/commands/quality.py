"""The `depot quality` commands: quality issues against versions, the quarantine of a
build batch, the quality archive and the supplier register (the quality module).

People report issues; the quality manager (the `quality_manager` role) decides serious
ones, records handling steps, lifts quarantines and keeps the supplier register. The
server decides everything; these commands send what the person typed and print what the
server answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from client.commands.quality_common import QUALITY, call, listed, number
from client.commands.quality_more import archive, retirements, supplier
from client.commands.quality_sign import export, signed, verify
from client.commands.requests import when
from client.context import Context, pass_context
from client.errors import InputError
from client.paging import page_options, page_options_all_pages
from client.refs import parse_ref


def issue_table(issues: list[dict[str, Any]]) -> Table:
    table = Table("issue", "version", "class", "status", "title", "supplier", "reported")
    for i in issues:
        status = i["status"] + (" [red]quarantine[/]" if i["active_quarantines"] else "")
        table.add_row(
            i["number"],
            escape(i["ref"]),
            i["class"],
            status,
            escape(i["title"]),
            escape(i["supplier"] or ""),
            f"{escape(i['reported_by'])} {when(i['reported_at'])}",
        )
    return table


def issue_text(i: dict[str, Any]) -> str:
    lines = [
        f"[bold]{i['number']}[/] {escape(i['title'])} ({i['class']}, {i['status']})",
        f"version:     {escape(i['ref'])}",
        f"reported:    {escape(i['reported_by'])} {when(i['reported_at'])}",
    ]
    if i.get("supplier"):
        lines.append(f"supplier:    {escape(i['supplier'])}")
    if i.get("cause"):
        lines.append(f"cause:       {i['cause']} (decided by {escape(i['decided_by'] or '')})")
    if i.get("resolution"):
        lines.append(f"resolution:  {escape(i['resolution'])}")
    if i.get("active_quarantines"):
        lines.append(f"[red]quarantine:  {i['active_quarantines']} version(s) stopped[/]")
    if i.get("description"):
        lines.append(f"\n{escape(i['description'])}")
    for q in i.get("quarantines", []):
        state = "[red]active[/]" if q["active"] else f"lifted {when(q['lifted_at'])}"
        lines.append(f"  quarantine {escape(q['ref'])} batch {','.join(q['batch'])}: {state}")
    if i.get("events"):
        lines.append("\nrecord:")
        for e in i["events"]:
            text = escape(e["text"]).replace("\n", "\n      ")
            lines.append(f"  {when(e['at'])} {escape(e['actor'])} {e['step']}: {text}")
    return "\n".join(lines)


@click.group()
def quality() -> None:
    """Quality issues, quarantines, the quality archive and suppliers (quality module)."""


@quality.command("report")
@click.argument("ref")
@click.option("--title", required=True, help="A short title of the issue.")
@click.option("--description", required=True, help="What happened, where, how often.")
@click.option("--serious", "issue_class", flag_value="serious", help="A serious issue (严重).")
@click.option("--general", "issue_class", flag_value="general", help="A general issue (一般).")
@click.option("--supplier", default=None, help="The vendor, by its name in the register.")
@pass_context
def report(
    ctx: Context, ref: str, title: str, description: str, issue_class: str | None, supplier: str
) -> None:
    """Report a quality issue against GROUP/PRODUCT@VERSION (people, not pipelines)."""
    if issue_class is None:
        raise InputError("say --serious or --general")
    target = parse_ref(ref, need="version")
    body = {
        "version": str(target),
        "title": title,
        "description": description,
        "class": issue_class,
        "supplier": supplier,
    }
    info = call(ctx.api(), "POST", "/issues", body)
    ctx.output.emit(info, text=f"{info['number']} reported against {escape(info['ref'])}")


@quality.command("issues")
@click.option("--open", "open_only", is_flag=True, help="Only issues not closed.")
@click.option("--version", "ref", default=None, help="Only issues of GROUP/PRODUCT@VERSION.")
@click.option("--class", "issue_class", type=click.Choice(["general", "serious"]), default=None)
@click.option("--supplier", default=None, help="Only issues linked to this supplier.")
@page_options
@pass_context
def issues(
    ctx: Context,
    open_only: bool,
    ref: str | None,
    issue_class: str | None,
    supplier: str | None,
    limit: int | None,
    all_pages: bool,
) -> None:
    """List the quality issues you may see, newest first."""
    if ref:
        ref = str(parse_ref(ref, need="version"))
    found = listed(
        ctx,
        "/issues",
        "issues",
        limit,
        all_pages,
        open="true" if open_only else None,
        version=ref,
        **{"class": issue_class, "supplier": supplier},
    )
    ctx.output.emit(found, issue_table(found) if found else None, "No quality issues.")


@quality.command("show")
@click.argument("issue")
@pass_context
def show(ctx: Context, issue: str) -> None:
    """Show an issue with its full record."""
    info = call(ctx.api(), "GET", f"/issues/{number(issue)}")
    ctx.output.emit(info, text=issue_text(info))


def _step(ctx: Context, issue: str, step: str, body: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = call(ctx.api(), "POST", f"/issues/{number(issue)}/{step}", body)
    return info


@quality.command("confirm")
@click.argument("issue")
@click.option(
    "--cause",
    required=True,
    type=click.Choice(["product", "use", "maintenance"]),
    help="product: not caused by use or maintenance (quarantines the build batch); "
    "use or maintenance: the issue is dismissed.",
)
@click.option("--comment", default="", help="Why.")
@pass_context
def confirm(ctx: Context, issue: str, cause: str, comment: str) -> None:
    """Decide a serious issue (quality manager): confirm it or dismiss it by its cause."""
    step = "confirm" if cause == "product" else "dismiss"
    body: dict[str, Any] = {"cause": cause, "comment": comment}
    signature = signed(ctx, ctx.api(), number(issue), step, cause, comment)
    if signature is not None:
        body["signature"] = signature
    info = _step(ctx, issue, step, body)
    text = f"{info['number']} {info['status']} (cause {cause})"
    if info["active_quarantines"]:
        text += f": [red]{info['active_quarantines']} version(s) quarantined[/]"
    ctx.output.emit(info, text=text)


@quality.command("classify")
@click.argument("issue")
@click.option("--class", "issue_class", required=True, type=click.Choice(["general", "serious"]))
@click.option("--comment", default="", help="Why.")
@pass_context
def classify(ctx: Context, issue: str, issue_class: str, comment: str) -> None:
    """Class an open issue again (quality manager)."""
    info = _step(ctx, issue, "classify", {"class": issue_class, "comment": comment})
    ctx.output.emit(info, text=f"{info['number']} is now {info['class']}")


@quality.command("handle")
@click.argument("issue")
@click.option("--note", required=True, help="The handling decision, in full.")
@pass_context
def handle(ctx: Context, issue: str, note: str) -> None:
    """Record a handling step on an issue (quality manager)."""
    info = _step(ctx, issue, "handle", {"note": note})
    ctx.output.emit(info, text=f"handling step recorded on {info['number']}")


@quality.command("lift")
@click.argument("issue")
@click.option("--reason", required=True, help="Why use may resume.")
@pass_context
def lift(ctx: Context, issue: str, reason: str) -> None:
    """Lift the quarantines of an issue (quality manager)."""
    body: dict[str, Any] = {"reason": reason}
    signature = signed(ctx, ctx.api(), number(issue), "lift", None, reason)
    if signature is not None:
        body["signature"] = signature
    info = _step(ctx, issue, "lift", body)
    released = ", ".join(escape(r) for r in info["released"]) or "none (other issues remain)"
    ctx.output.emit(info, text=f"quarantine of {info['number']} lifted; released: {released}")


@quality.command("close")
@click.argument("issue")
@click.option("--resolution", required=True, help="How the issue was resolved.")
@pass_context
def close(ctx: Context, issue: str, resolution: str) -> None:
    """Close an issue with its resolution."""
    info = _step(ctx, issue, "close", {"resolution": resolution})
    ctx.output.emit(info, text=f"{info['number']} closed")


def recall_table(entries: list[dict[str, Any]]) -> Table:
    table = Table("when", "what", "version", "file", "person", "address", "check-out")
    for e in entries:
        checkout = f"#{e['checkout']} {e['checkout_state'] or ''}" if e["checkout"] else ""
        table.add_row(
            when(e["at"]),
            e["kind"],
            escape(e["ref"]),
            escape(e["file"] or ""),
            escape(e["person"]),
            escape(e["address"]),
            checkout.strip(),
        )
    return table


@quality.command("recall")
@click.argument("issue")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the whole list as CSV to this file.",
)
@click.option(
    "--export-json",
    "json_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the whole list as JSON to this file.",
)
@page_options
@pass_context
def recall(
    ctx: Context,
    issue: str,
    csv_file: Path | None,
    json_file: Path | None,
    limit: int | None,
    all_pages: bool,
) -> None:
    """Who checked out and downloaded any version of the issue's batch (person, time,
    address, check-out number): quality managers, version managers, auditors."""
    api = ctx.api()
    path = f"/issues/{number(issue)}/recall"
    if csv_file is not None or json_file is not None:
        if csv_file is not None and json_file is not None:
            raise InputError("give --csv or --export-json, not both")
        target, form = (csv_file, "csv") if csv_file is not None else (json_file, "json")
        assert target is not None
        response = QUALITY.guard(
            api, lambda: api.send("GET", f"{QUALITY.root}{path}.{form}", stream=True)
        )
        size = 0
        with target.open("wb") as out:
            for chunk in response.stream(1 << 16):
                out.write(chunk)
                size += len(chunk)
        response.release_conn()
        ctx.output.emit(
            {"file": str(target), "bytes": size},
            text=f"saved {escape(str(target))} ({size} bytes)",
        )
        return
    found = listed(ctx, path, "entries", limit, all_pages)
    ctx.output.emit(
        found,
        recall_table(found) if found else None,
        "Nobody checked out or downloaded this batch.",
    )


@quality.command("notices")
@page_options
@pass_context
def notices(ctx: Context, limit: int | None, all_pages: bool) -> None:
    """Your stop-use notices: batches you took out that were quarantined since, newest
    first."""
    found = listed(ctx, "/notices", "notices", limit, all_pages)
    text = "\n".join(f"[red]{escape(n['text'])}[/] ({n['sent_at'][:10]})" for n in found)
    ctx.output.emit(found, text=text or "No stop-use notice for you.")


@quality.command("quarantines")
@click.option("--all", "everything", is_flag=True, help="Lifted quarantines too.")
@page_options_all_pages
@pass_context
def quarantines(ctx: Context, everything: bool, limit: int | None, all_pages: bool) -> None:
    """List the quarantined versions you may see, newest first."""
    found = listed(
        ctx, "/quarantines", "quarantines", limit, all_pages, all="true" if everything else None
    )
    table = Table("version", "issue", "batch", "since", "state")
    for q in found:
        state = "[red]quarantined[/]" if q["active"] else f"lifted by {escape(q['lifted_by'])}"
        table.add_row(
            escape(q["ref"]), q["issue"], escape(",".join(q["batch"])), when(q["started_at"]), state
        )
    ctx.output.emit(found, table if found else None, "No version is quarantined.")


@quality.command("trends")
@pass_context
def trends(ctx: Context) -> None:
    """Issues reported per month by class, the last 12 months."""
    found = call(ctx.api(), "GET", "/trends")["months"]
    table = Table("month", "general", "serious", "total")
    for m in found:
        table.add_row(m["month"], str(m["general"]), str(m["serious"]), str(m["total"]))
    ctx.output.emit(found, table)


quality.add_command(archive)
quality.add_command(retirements)
quality.add_command(supplier)
quality.add_command(verify)
quality.add_command(export)
