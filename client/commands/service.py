"""``depot service``: after-sales service tickets and complaints against a version.

A ticket is registered (``open``), answered (``respond``), assessed, dispatched to a
technician, worked (``work``, as often as needed), completed with the customer's
confirmation, surveyed (satisfaction 1-5), followed up and closed; or, from any open
step, cancelled, marked a duplicate of another ticket or withdrawn, with a reason. The
group's software manager grants the service roles (``roles``, ``grant``, ``revoke``).
Complaints run on clocks (first response, first verification); ``list --overdue`` shows
the late ones.
The server decides everything; what people typed is printed escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from client.api import seg
from client.commands.requests import columns, when
from client.context import Context, pass_context
from client.errors import InputError
from client.modules import Module
from client.paging import collect, page_options
from client.refs import parse_ref

SERVICE = Module("product_service", "/api/v1/service", "service")
call = SERVICE.call


def number(text: str) -> str:
    """``S-12`` from ``S-12``, ``s12`` or ``12``; a usage error otherwise."""
    digits = text.strip().upper().removeprefix("S").removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or int(digits) < 1:
        raise InputError(f"cannot read ticket number {text!r}: expected S-12 (or 12)")
    return f"S-{int(digits)}"


def clocks_text(t: dict[str, Any]) -> str:
    late = [f"{o['clock']} {o['late']}" for o in t.get("overdue") or []]
    if late:
        return "OVERDUE: " + ", ".join(late)
    return "on time" if t["kind"] == "complaint" and t["open"] else "-"


def show_ticket(t: dict[str, Any]) -> str:
    """The text of ``depot service show``."""
    contact = " · ".join(x for x in (t["contact"]["phone"], t["contact"]["email"]) if x)
    lines = [
        f"{t['number']}: {t['kind']} from {escape(t['customer'])} ({t['status']})"
        + (f", customer {t['customer_id']}" if t.get("customer_id") else ""),
        f"version: {escape(t['ref'])}",
        f"reported by {t['channel']}; contact {escape(t['contact']['name'])} ({escape(contact)})",
        f"delivered on {t['delivered_on']}: {t['charge']}"
        + (
            f" ({t['warranty_source']} warranty {t['warranty_days']} days)"
            if t.get("warranty_source")
            else ""
        ),
        f"registered by {escape(t['registered_by'])} on {when(t['registered_at'])} UTC",
    ]
    if t.get("response_due_at"):
        lines.append(
            f"first response due {when(t['response_due_at'])} UTC"
            + (f", given {when(t['responded_at'])}" if t.get("responded_at") else "")
        )
    if t.get("verification_due_at"):
        lines.append(
            f"first verification due {when(t['verification_due_at'])} UTC"
            + (f", done {when(t['assessed_at'])}" if t.get("assessed_at") else "")
        )
    for o in t.get("overdue") or []:
        lines.append(f"[bold red]OVERDUE[/]: {o['clock']} {o['late']}")
    for e in t.get("escalations") or []:
        to = ", ".join(e["to"]) or "nobody (no supervisor)"
        lines.append(f"escalated: {e['clock']} on {when(e['at'])} UTC to {escape(to)}")
    if t.get("nature"):
        lines.append(f"assessment: {t['nature']}, {t['severity']}: {escape(t['problem'] or '')}")
    if t.get("technician"):
        lines.append(f"technician: {escape(t['technician'])}")
    if t.get("satisfaction"):
        lines.append(f"satisfaction: {t['satisfaction']}/5")
    if t.get("quality_issue"):
        lines.append(f"quality issue: {t['quality_issue']}")
    if t.get("duplicate_of"):
        lines.append(f"duplicate of: {t['duplicate_of']}")
    if t.get("end_reason"):
        lines.append(f"{t['status']} on {when(t['ended_at'])} UTC: {escape(t['end_reason'])}")
    if t.get("duplicates"):
        lines.append("duplicates: " + ", ".join(t["duplicates"]))
    lines.append("description:")
    lines.extend(f"  {escape(line)}" for line in t["description"].splitlines())
    if t.get("next_steps"):
        lines.append("next: " + ", ".join(s.replace("_", "-") for s in t["next_steps"]))
    lines.append("record:")
    lines.extend(
        "  " + line
        for line in columns(
            [
                [when(e["at"]), e["actor"], e["step"].replace("_", "-"), e["text"]]
                for e in t["record"]
            ]
        )
    )
    return "\n".join(lines)


@click.group()
def service() -> None:
    """Service tickets and complaints against a product version (the service module)."""


@service.command("open")
@click.argument("ref")
@click.option(
    "--kind",
    type=click.Choice(["service", "complaint"]),
    default="service",
    show_default=True,
    help="A service request or a complaint (complaints run on clocks).",
)
@click.option(
    "--channel",
    type=click.Choice(["phone", "mail", "web"]),
    required=True,
    help="How the customer reported it.",
)
@click.option("--customer", required=True, help="The customer (organisation).")
@click.option("--contact", required=True, help="The contact person's name.")
@click.option("--phone", default="", help="The contact's phone number.")
@click.option("--email", default="", help="The contact's e-mail address.")
@click.option("--description", required=True, help="What the customer reports.")
@click.option(
    "--delivered-on",
    default=None,
    metavar="YYYY-MM-DD",
    help="When the version was delivered to this customer (default: its check-in).",
)
@pass_context
def open_ticket(
    ctx: Context,
    ref: str,
    kind: str,
    channel: str,
    customer: str,
    contact: str,
    phone: str,
    email: str,
    description: str,
    delivered_on: str | None,
) -> None:
    """Register a ticket against GROUP/PRODUCT@VERSION.

    Give the contact's --phone or --email (or both). Service within the warranty days
    after delivery is free, after that chargeable.
    """
    version = parse_ref(ref, need="version")
    body = {
        "group": version.group,
        "product": version.product,
        "version": version.version,
        "kind": kind,
        "channel": channel,
        "customer": customer,
        "contact": contact,
        "contact_phone": phone,
        "contact_email": email,
        "description": description,
        "delivered_on": delivered_on,
    }
    t = call(ctx.api(), "POST", "/tickets", body)
    text = f"registered {t['number']}: {t['kind']} on {escape(t['ref'])} ({t['charge']})"
    if t.get("response_due_at"):
        text += (
            f"\nfirst response due {when(t['response_due_at'])} UTC, "
            f"first verification due {when(t['verification_due_at'])} UTC"
        )
    ctx.output.emit(t, text=text)


@service.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only tickets not closed.")
@click.option("--overdue", is_flag=True, help="Only complaints past a clock.")
@click.option("--version", "ref", metavar="REF", help="Only tickets of GROUP[/PRODUCT[@VERSION]].")
@click.option("--kind", type=click.Choice(["service", "complaint"]), help="Only this kind.")
@click.option("--mine", is_flag=True, help="Only the tickets dispatched to you.")
@click.option("--escalated", is_flag=True, help="Only open tickets escalated to the supervisors.")
@page_options
@pass_context
def list_tickets(
    ctx: Context,
    open_only: bool,
    overdue: bool,
    mine: bool,
    escalated: bool,
    ref: str | None,
    kind: str | None,
    limit: int | None,
    all_pages: bool,
) -> None:
    """List the tickets of the groups you see (or hold a service role in), newest first;
    overdue ones are marked. --mine: a technician's own tickets."""
    where = parse_ref(ref) if ref else None
    api = ctx.api()
    found = collect(
        lambda **q: call(api, "GET", "/tickets", **q),
        "tickets",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
        group=where.group if where else None,
        product=where.product if where else None,
        version=where.version if where else None,
        kind=kind,
        open="1" if open_only else None,
        overdue="1" if overdue else None,
        mine="1" if mine else None,
        escalated="1" if escalated else None,
    )
    table = Table(
        "ticket", "version", "kind", "customer", "status", "charge", "registered", "clocks"
    )
    for t in found:
        table.add_row(
            t["number"],
            escape(t["ref"]),
            t["kind"],
            escape(t["customer"]),
            t["status"].replace("_", " "),
            t["charge"],
            when(t["registered_at"]),
            clocks_text(t),
            style="bold red" if t["is_overdue"] else None,
        )
    empty = "No overdue tickets." if overdue else "No tickets."
    ctx.output.emit(found, table if found else None, None if found else empty)


@service.command("show")
@click.argument("ticket", metavar="S-N")
@pass_context
def show(ctx: Context, ticket: str) -> None:
    """Show ticket S-N with its full record."""
    t = call(ctx.api(), "GET", f"/tickets/{seg(number(ticket))}")
    ctx.output.emit(t, text=show_ticket(t))


def _step(ctx: Context, ticket: str, step: str, body: dict[str, Any]) -> None:
    t = call(ctx.api(), "POST", f"/tickets/{seg(number(ticket))}/{step}", body)
    last = t["record"][-1]
    ctx.output.emit(
        t, text=f"{t['number']} ({t['status'].replace('_', ' ')}): {escape(last['text'])}"
    )


@service.command("respond")
@click.argument("ticket", metavar="S-N")
@click.option("--note", default="", help="What the customer was told.")
@pass_context
def respond(ctx: Context, ticket: str, note: str) -> None:
    """Record the first response to the customer."""
    _step(ctx, ticket, "respond", {"note": note})


@service.command("assess")
@click.argument("ticket", metavar="S-N")
@click.option(
    "--nature",
    required=True,
    type=click.Choice(["defect", "usage", "configuration", "enhancement", "other"]),
)
@click.option("--severity", required=True, type=click.Choice(["low", "medium", "high", "critical"]))
@click.option(
    "--problem", required=True, help="A short label (used for the most frequent problems)."
)
@click.option("--note", default="", help="What the verification found.")
@pass_context
def assess(ctx: Context, ticket: str, nature: str, severity: str, problem: str, note: str) -> None:
    """Record the assessment (first verification): nature, severity and problem."""
    body = {"nature": nature, "severity": severity, "problem": problem, "note": note}
    _step(ctx, ticket, "assess", body)


@service.command("dispatch")
@click.argument("ticket", metavar="S-N")
@click.option("--to", "technician", required=True, help="The technician's username.")
@pass_context
def dispatch(ctx: Context, ticket: str, technician: str) -> None:
    """Dispatch the ticket to a technician (again to hand it over)."""
    _step(ctx, ticket, "dispatch", {"technician": technician})


@service.command("work")
@click.argument("ticket", metavar="S-N")
@click.option("--note", required=True, help="What was done.")
@pass_context
def work(ctx: Context, ticket: str, note: str) -> None:
    """Record service work (as often as needed)."""
    _step(ctx, ticket, "service", {"note": note})


@service.command("complete")
@click.argument("ticket", metavar="S-N")
@click.option("--confirmed-by", required=True, help="Who confirmed completion for the customer.")
@click.option("--note", default="")
@pass_context
def complete(ctx: Context, ticket: str, confirmed_by: str, note: str) -> None:
    """Record completion, confirmed with the customer."""
    _step(ctx, ticket, "complete", {"confirmed_by": confirmed_by, "note": note})


@service.command("survey")
@click.argument("ticket", metavar="S-N")
@click.option("--score", required=True, type=int, help="Satisfaction from 1 to 5.")
@click.option("--comment", default="")
@pass_context
def survey(ctx: Context, ticket: str, score: int, comment: str) -> None:
    """Record the customer's satisfaction (1-5)."""
    _step(ctx, ticket, "survey", {"score": score, "comment": comment})


@service.command("follow-up")
@click.argument("ticket", metavar="S-N")
@click.option("--note", required=True, help="What the follow-up visit found.")
@pass_context
def follow_up(ctx: Context, ticket: str, note: str) -> None:
    """Record the follow-up visit."""
    _step(ctx, ticket, "follow_up", {"note": note})


@service.command("close")
@click.argument("ticket", metavar="S-N")
@click.option("--note", default="")
@pass_context
def close(ctx: Context, ticket: str, note: str) -> None:
    """Close the ticket (after the follow-up visit)."""
    _step(ctx, ticket, "close", {"note": note})


@service.command("link")
@click.argument("ticket", metavar="S-N")
@click.option("--quality-issue", "issue", required=True, metavar="Q-N", help="Its number.")
@pass_context
def link(ctx: Context, ticket: str, issue: str) -> None:
    """Link a complaint to a quality issue (kept as a reference)."""
    t = call(ctx.api(), "POST", f"/tickets/{seg(number(ticket))}/quality-issue", {"issue": issue})
    ctx.output.emit(t, text=f"{t['number']}: {escape(t['record'][-1]['text'])}")


@service.command("customers")
@click.argument("group")
@page_options
@pass_context
def customers(ctx: Context, group: str, limit: int | None, all_pages: bool) -> None:
    """The customer register (客户档案) of GROUP."""
    group_table(
        ctx,
        f"/customers/{seg(group)}",
        "customers",
        (limit, all_pages),
        ("customer", "name", "contact", "contract", "warranty", "tickets"),
        lambda c: (
            c["number"],
            escape(c["name"]),
            escape(c["contact"]["name"]),
            escape(c["contract"]) or "-",
            "-" if c["warranty_days"] is None else f"{c['warranty_days']} days",
            str(c["tickets"]),
        ),
        "No customers.",
    )


def group_table(
    ctx: Context,
    path: str,
    key: str,
    pages: tuple[int | None, bool],
    headers: tuple[str, ...],
    cells: Callable[[dict[str, Any]], tuple[str, ...]],
    empty: str,
) -> None:
    """Show the rows under ``key`` of a group's listing ``path`` (``pages``: ``--limit``
    and ``--all``) as a table with ``headers``, each row's ``cells``; ``empty`` if none."""
    api = ctx.api()
    limit, all_pages = pages
    found = collect(
        lambda **q: call(api, "GET", path, **q),
        key,
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
    )
    table = Table(*headers)
    for item in found:
        table.add_row(*cells(item))
    ctx.output.emit(found, table if found else None, None if found else empty)


@service.group("customer")
def customer() -> None:
    """Enter a customer in a group's register, or record its contract's warranty."""


@customer.command("add")
@click.argument("group")
@click.argument("name")
@click.option("--contact", default="", help="The contact person's name.")
@click.option("--phone", default="", help="The contact's phone number.")
@click.option("--email", default="", help="The contact's e-mail address.")
@pass_context
def customer_add(ctx: Context, group: str, name: str, contact: str, phone: str, email: str) -> None:
    """Enter customer NAME in the register of GROUP (a clerk or supervisor)."""
    body = {"name": name, "contact": contact, "contact_phone": phone, "contact_email": email}
    c = call(ctx.api(), "POST", f"/customers/{seg(group)}", body)
    ctx.output.emit(
        c, text=f"{c['number']}: {escape(c['name'])} entered in the register of {c['group']}"
    )


@customer.command("warranty")
@click.argument("group")
@click.argument("number", metavar="C-N")
@click.option("--contract", default="", help="The contract's reference.")
@click.option("--days", type=int, default=None, help="Its warranty (none: the product's).")
@pass_context
def customer_warranty(
    ctx: Context, group: str, number: str, contract: str, days: int | None
) -> None:
    """Record customer C-N's contract and its own warranty (a supervisor)."""
    body = {"contract": contract, "warranty_days": days}
    c = call(ctx.api(), "PUT", f"/customers/{seg(group)}/{seg(number)}/warranty", body)
    warranty = (
        "no warranty of its own"
        if c["warranty_days"] is None
        else (f"warranty {c['warranty_days']} days")
    )
    ctx.output.emit(c, text=f"{c['number']}: contract {escape(c['contract']) or '-'}, {warranty}")


@service.command("warranty")
@click.argument("ref", metavar="GROUP/PRODUCT")
@click.option("--days", type=int, required=True, help="The product's warranty in days.")
@pass_context
def warranty(ctx: Context, ref: str, days: int) -> None:
    """Give a product its own warranty (a supervisor), for customers without a contract
    warranty."""
    where = parse_ref(ref, need="product")
    w = call(
        ctx.api(),
        "PUT",
        f"/warranties/{seg(where.group)}/{seg(where.product or '')}",
        {"warranty_days": days},
    )
    ctx.output.emit(w, text=f"{w['group']}/{w['product']}: warranty {w['warranty_days']} days")


REASON = click.option("--reason", required=True, help="Why (kept in the ticket's record).")


@service.command("cancel")
@click.argument("ticket", metavar="S-N")
@REASON
@pass_context
def cancel(ctx: Context, ticket: str, reason: str) -> None:
    """Cancel an open ticket (registered in error), with the reason."""
    _step(ctx, ticket, "cancel", {"reason": reason})


@service.command("duplicate")
@click.argument("ticket", metavar="S-N")
@click.option("--of", "original", required=True, metavar="S-M", help="The ticket it duplicates.")
@REASON
@pass_context
def duplicate(ctx: Context, ticket: str, original: str, reason: str) -> None:
    """Mark an open ticket as a duplicate of ticket S-M, with the reason."""
    _step(ctx, ticket, "duplicate", {"of": number(original), "reason": reason})


@service.command("withdraw")
@click.argument("ticket", metavar="S-N")
@REASON
@pass_context
def withdraw(ctx: Context, ticket: str, reason: str) -> None:
    """Record that the customer withdrew an open ticket, with the reason."""
    _step(ctx, ticket, "withdraw", {"reason": reason})


ROLES = click.Choice(["clerk", "technician", "supervisor"])


@service.command("roles")
@click.argument("group")
@page_options
@pass_context
def roles(ctx: Context, group: str, limit: int | None, all_pages: bool) -> None:
    """The service roles granted in GROUP (clerk, technician, supervisor)."""
    group_table(
        ctx,
        f"/roles/{seg(group)}",
        "roles",
        (limit, all_pages),
        ("person", "role", "granted by", "granted"),
        lambda r: (
            escape(r["username"]),
            r["role"],
            escape(r["granted_by"]),
            when(r["granted_at"]),
        ),
        "No service roles.",
    )


@service.command("grant")
@click.argument("group")
@click.argument("username")
@click.option("--role", required=True, type=ROLES, help="The service role.")
@pass_context
def grant(ctx: Context, group: str, username: str, role: str) -> None:
    """Give USERNAME a service role in GROUP (its software manager); no membership of
    the group's storage area comes with it."""
    r = call(ctx.api(), "POST", f"/roles/{seg(group)}", {"username": username, "role": role})
    ctx.output.emit(r, text=f"{escape(r['username'])} is now {r['role']} of {escape(r['group'])}")


@service.command("revoke")
@click.argument("group")
@click.argument("username")
@click.option("--role", required=True, type=ROLES, help="The service role.")
@pass_context
def revoke(ctx: Context, group: str, username: str, role: str) -> None:
    """Take a service role in GROUP away from USERNAME (its software manager)."""
    r = call(ctx.api(), "DELETE", f"/roles/{seg(group)}/{seg(username)}/{seg(role)}")
    ctx.output.emit(
        r, text=f"{escape(r['username'])} is no longer {r['role']} of {escape(r['group'])}"
    )


def _summary(name: str, s: dict[str, Any], unit: str) -> str:
    if not s["count"]:
        return f"{name}: -"
    return (
        f"{name}: mean {s['mean']} {unit}, median {s['median']} {unit}, "
        f"worst {s['worst']} {unit} ({s['count']})"
    )


def pairs(counts: dict[str, Any]) -> str:
    """``open 2, closed 1`` (``-`` when empty)."""
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()) or "-"


def analysis_text(r: dict[str, Any]) -> str:
    scope = (
        r["group"]
        + (f"/{r['product']}" if r["product"] else "")
        + (f"@{r['version']}" if r["version"] else "")
    )
    period = " ".join(
        x
        for x in (
            f"from {r['since']}" if r.get("since") else "",
            f"to {r['until']}" if r.get("until") else "",
        )
        if x
    )
    if period:
        scope += f" ({period})"
    c, s = r["complaints"], r["satisfaction"]
    lines = [
        f"{escape(scope)}: {r['tickets']} tickets, {r['cases']} cases",
        f"ended without service: {pairs(r['ended'])}",
        f"by kind: {pairs(r['by_kind'])}",
        f"by status: {pairs(r['by_status'])}",
        f"by channel: {pairs(r['by_channel'])}",
        f"by charge: {pairs(r['by_charge'])}",
        _summary("first response", r["first_response_hours"], "h"),
        _summary("verification", r["verification_working_days"], "working days"),
        _summary("completion", r["completion_hours"], "h"),
        f"complaints: {c['count']}, missed a clock {c['late']}, overdue now {c['overdue_now']}",
        "satisfaction: "
        + (
            f"mean {s['mean']} of 5 ({s['count']}); " + pairs(s["distribution"])
            if s["count"]
            else "-"
        ),
    ]
    if r.get("by_technician"):
        lines.append("per technician (tickets, completed, response h, resolution h, rating):")
        lines.extend(
            "  " + line
            for line in columns(
                [
                    [
                        escape(name),
                        str(f["tickets"]),
                        str(f["completed"]),
                        str(f["response_hours"]["mean"] if f["response_hours"]["count"] else "-"),
                        str(
                            f["resolution_hours"]["mean"] if f["resolution_hours"]["count"] else "-"
                        ),
                        str(f["satisfaction"]["mean"] or "-"),
                    ]
                    for name, f in r["by_technician"].items()
                ]
            )
        )
    if r["top_problems"]:
        lines.append("most frequent problems:")
        lines.extend(
            "  " + line
            for line in columns(
                [[str(p["count"]), p["nature"], p["problem"]] for p in r["top_problems"]]
            )
        )
    return "\n".join(lines)


@service.command("analysis")
@click.argument("ref")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save one row per ticket as CSV to this file.",
)
@click.option("--since", metavar="YYYY-MM-DD", help="Only tickets registered on or after.")
@click.option("--until", metavar="YYYY-MM-DD", help="Only tickets registered on or before.")
@pass_context
def analysis(
    ctx: Context, ref: str, csv_file: Path | None, since: str | None, until: str | None
) -> None:
    """Counts, response times, satisfaction, the figures per technician and the most
    frequent problems of GROUP (every product), GROUP/PRODUCT or GROUP/PRODUCT@VERSION,
    over a period (--since, --until)."""
    where = parse_ref(ref)
    params = {
        "group": where.group,
        "product": where.product,
        "version": where.version,
        "since": since,
        "until": until,
    }
    api = ctx.api()
    if csv_file is None:
        r = call(api, "GET", "/analysis", **params)
        ctx.output.emit(r, text=analysis_text(r))
        return
    response = SERVICE.guard(
        api,
        lambda: api.send(
            "GET",
            SERVICE.root + "/analysis.csv",
            params=params,
            stream=True,
            headers={"Accept": "text/csv"},
        ),
    )
    size = 0
    with csv_file.open("wb") as out:
        for chunk in response.stream(1 << 16):
            out.write(chunk)
            size += len(chunk)
    response.release_conn()
    ctx.output.emit(
        {"file": str(csv_file), "bytes": size}, text=f"saved {escape(str(csv_file))} ({size} bytes)"
    )
