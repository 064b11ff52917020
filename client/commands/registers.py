"""``depot register`` (the library register, 版本信息台账) and ``depot item`` (the physical
items, 实物归档): reading them, exporting the register, and the version manager's steps
on an item (add, move, custodian, lend, return)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from client.api import seg
from client.commands.requests import when
from client.context import Context, pass_context
from client.paging import collect, page_options
from client.refs import parse_ref

STATES = click.Choice(["in_library", "checked_out", "retired", "quarantined"])
CATEGORIES = click.Choice(["application", "system", "device_network"])
ORIGINS = click.Choice(["in_house", "purchased"])


def _filters(**given: str | None) -> dict[str, str]:
    return {key: value for key, value in given.items() if value}


def _state(entry: dict[str, Any]) -> str:
    if entry["state"] == "checked_out":
        return f"checked out until {when(entry['checked_out_until'])}"
    return str(entry["state"]).replace("_", " ")


@click.group()
def register() -> None:
    """The library register: every version in the library (version managers, auditors)."""


def register_filters(command: Any) -> Any:
    """The filters ``register list`` and ``register export`` share."""
    for option in reversed(
        (
            click.option("--group", help="Only this group's versions."),
            click.option("--category", type=CATEGORIES),
            click.option("--origin", type=ORIGINS),
            click.option("--state", type=STATES),
            click.option("--search", "q", help="Text in the product, version or vendor."),
        )
    ):
        command = option(command)
    return command


@register.command("list")
@register_filters
@page_options
@pass_context
def register_list(
    ctx: Context,
    group: str | None,
    category: str | None,
    origin: str | None,
    state: str | None,
    q: str | None,
    limit: int | None,
    all_pages: bool,
) -> None:
    """List the versions in the library, the latest created first."""
    api = ctx.api()
    found: list[dict[str, Any]] = collect(
        lambda **p: api.get("/api/v1/register", **p),
        "entries",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
        **_filters(group=group, category=category, origin=origin, state=state, q=q),
    )
    table = Table("no.", "version", "category", "origin", "checked in", "approvers", "state")
    for e in found:
        origin_text = "in-house" if e["origin"] == "in_house" else f"purchased ({e['vendor']})"
        approvers = ", ".join(p for p in (e["accepted_by"], e["checked_in_by"]) if p)
        table.add_row(
            str(e["library_number"] or "-"),
            escape(e["ref"]),
            e["category"].replace("_", " "),
            escape(origin_text),
            when(e["checked_in_at"]),
            escape(approvers),
            _state(e),
        )
    ctx.output.emit(found, table if found else None, None if found else "No versions.")


@register.command("stats")
@register_filters
@pass_context
def register_stats(
    ctx: Context,
    group: str | None,
    category: str | None,
    origin: str | None,
    state: str | None,
    q: str | None,
) -> None:
    """The register in figures: per group and category, how many versions and where they
    stand; per month, the check-ins and check-outs approved then."""
    params = _filters(group=group, category=category, origin=origin, state=state, q=q)
    figures: dict[str, Any] = ctx.api().get("/api/v1/register/statistics", **params)
    counts = Table("group", "category", "versions", "in library", "checked out", "retired",
                   "quarantined")  # fmt: skip
    for c in figures["counts"]:
        counts.add_row(
            escape(c["group"]),
            c["category"].replace("_", " "),
            *(str(c[k]) for k in ("versions", "in_library", "checked_out", "retired",
                                  "quarantined")),
        )  # fmt: skip
    months = Table("month", "check-ins", "check-outs")
    for m in figures["months"]:
        months.add_row(m["month"], str(m["checkins"]), str(m["checkouts"]))
    if not figures["counts"]:
        ctx.output.emit(figures, None, "No versions.")
        return
    ctx.output.emit(figures, counts, None)
    if not ctx.output.as_json:
        ctx.output.emit(figures, months, None)


@register.command("export")
@register_filters
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("-o", "--output", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the file here (default: standard output).")  # fmt: skip
@pass_context
def register_export(
    ctx: Context,
    group: str | None,
    category: str | None,
    origin: str | None,
    state: str | None,
    q: str | None,
    fmt: str,
    target: Path | None,
) -> None:
    """Export the whole register (filtered) as CSV or JSON."""
    params = _filters(group=group, category=category, origin=origin, state=state, q=q)
    path = "/api/v1/register.csv" if fmt == "csv" else "/api/v1/register/export"
    data = ctx.api().send("GET", path, params=params).data
    if target is None:
        click.echo(data.decode("utf-8"), nl=False)
        return
    target.write_bytes(data)
    ctx.output.note(f"wrote {target}")


@click.group()
def item() -> None:
    """Physical items (install media, licence dongles, manuals) and their custody."""


def _item_text(info: dict[str, Any]) -> str:
    where = f"at {info['location']}, custodian {info['custodian']}"
    if info["status"] == "on_loan":
        where += f"; lent to {info['holder']} until {when(info['due_at'])}"
        if info["overdue"]:
            where += " (OVERDUE)"
    return escape(
        f"{info['identifier']}: {info['kind']} {info['label']!r} of {info['ref']}, {where}"
    )


@item.command("list")
@click.option("--group", help="Only this group's items.")
@click.option("--on-loan", is_flag=True, help="Only items on loan.")
@click.option("--overdue", is_flag=True, help="Only items on loan past their due date.")
@click.option("--search", "q", help="Text in the identifier, kind, label, place or people.")
@page_options
@pass_context
def item_list(
    ctx: Context,
    group: str | None,
    on_loan: bool,
    overdue: bool,
    q: str | None,
    limit: int | None,
    all_pages: bool,
) -> None:
    """List physical items, the latest added first."""
    api = ctx.api()
    params = _filters(group=group, q=q, status="on_loan" if on_loan else None)
    if overdue:
        params["overdue"] = "true"
    found: list[dict[str, Any]] = collect(
        lambda **p: api.get("/api/v1/items", **p),
        "items",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
        **params,
    )
    table = Table("item", "kind", "label", "version", "location", "custodian", "status")
    for i in found:
        status = "in archive"
        if i["status"] == "on_loan":
            status = f"lent to {i['holder']} until {when(i['due_at'])}"
            status += " OVERDUE" if i["overdue"] else ""
        table.add_row(
            escape(i["identifier"]), escape(i["kind"]), escape(i["label"]), escape(i["ref"]),
            escape(i["location"]), escape(i["custodian"]), escape(status),
        )  # fmt: skip
    ctx.output.emit(found, table if found else None, None if found else "No items.")


@item.command("show")
@click.argument("identifier")
@pass_context
def item_show(ctx: Context, identifier: str) -> None:
    """One item and every step it went through."""
    info = ctx.api().get(f"/api/v1/items/{seg(identifier)}")
    lines = [_item_text(info)]
    for e in info["events"]:
        change = f"{e['before']} -> {e['after']}" if e["before"] else e["after"]
        line = f"  {when(e['at'])}  {e['action']:<9} by {e['actor']}: {change}"
        if e["comment"]:
            line += f" ({e['comment']})"
        lines.append(escape(line))
    ctx.output.emit(info, text="\n".join(lines))


@item.command("add")
@click.argument("ref")
@click.option("--kind", required=True, help="install media, licence dongle, printed manual…")
@click.option("--label", required=True)
@click.option("--location", required=True)
@click.option("--custodian", required=True)
@click.option("--id", "identifier", help="The item's own mark (default: PI-<n>).")
@pass_context
def item_add(
    ctx: Context,
    ref: str,
    kind: str,
    label: str,
    location: str,
    custodian: str,
    identifier: str | None,
) -> None:
    """Add a physical item of version GROUP/PRODUCT@VERSION (version managers)."""
    target = parse_ref(ref, need="version")
    assert target.product is not None and target.version is not None
    body: dict[str, Any] = {"kind": kind, "label": label, "location": location,
                            "custodian": custodian}  # fmt: skip
    if identifier:
        body["identifier"] = identifier
    path = (
        f"/api/v1/groups/{seg(target.group)}/products/{seg(target.product)}"
        f"/versions/{seg(target.version)}/items"
    )
    info = ctx.api().json("POST", path, body)
    ctx.output.emit(info, text="added " + _item_text(info))


def _step(ctx: Context, identifier: str, step: str, body: dict[str, Any], verb: str) -> None:
    info = ctx.api().json("POST", f"/api/v1/items/{seg(identifier)}/{step}", body)
    ctx.output.emit(info, text=f"{verb} " + _item_text(info))


@item.command("move")
@click.argument("identifier")
@click.argument("location")
@click.option("--comment", default="")
@pass_context
def item_move(ctx: Context, identifier: str, location: str, comment: str) -> None:
    """Move an item to LOCATION."""
    _step(ctx, identifier, "move", {"location": location, "comment": comment}, "moved")


@item.command("custodian")
@click.argument("identifier")
@click.argument("custodian")
@click.option("--comment", default="")
@pass_context
def item_custodian(ctx: Context, identifier: str, custodian: str, comment: str) -> None:
    """Name CUSTODIAN as the item's keeper."""
    body = {"custodian": custodian, "comment": comment}
    _step(ctx, identifier, "custodian", body, "handed over")


@item.command("lend")
@click.argument("identifier")
@click.argument("holder")
@click.option("--due", required=True, help="The day it is due back, YYYY-MM-DD (UTC).")
@click.option("--comment", default="")
@pass_context
def item_lend(ctx: Context, identifier: str, holder: str, due: str, comment: str) -> None:
    """Lend an item (借出) to HOLDER until --due."""
    _step(ctx, identifier, "lend", {"holder": holder, "due": due, "comment": comment}, "lent")


@item.command("return")
@click.argument("identifier")
@click.option("--comment", default="")
@pass_context
def item_return(ctx: Context, identifier: str, comment: str) -> None:
    """Take an item back (归还)."""
    _step(ctx, identifier, "return", {"comment": comment}, "returned")
