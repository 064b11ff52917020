"""`depot quality archive`, `retirements` and `supplier`: end of support (of a version or a
whole product) and the retirement requests it prepares, and the supplier register."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from client.api import seg
from client.commands.quality_common import call, listed
from client.context import Context, pass_context
from client.errors import InputError
from client.paging import page_options, page_options_all_pages
from client.refs import parse_ref


@click.command("archive")
@click.argument("ref", required=False)
@click.option("--end-of-support", default=None, help="YYYY-MM-DD ('' clears it).")
@click.option("--build-date", default=None, help="YYYY-MM-DD ('' goes back to the upload's).")
@page_options
@pass_context
def archive(
    ctx: Context,
    ref: str | None,
    end_of_support: str | None,
    build_date: str | None,
    limit: int | None,
    all_pages: bool,
) -> None:
    """Show (or set) the quality archive of GROUP/PRODUCT@VERSION, or the end of support of
    a whole GROUP/PRODUCT; without REF, list the versions past their end of support.

    From the end of support on, a version is withdrawn: no check-out, no download (not
    even under a check-out approved before), and its retirement is prepared for the
    version manager (`depot quality retirements`).
    """
    api = ctx.api()
    if ref is None:
        found = listed(ctx, "/archive", "versions", limit, all_pages)
        table = Table("version", "end of support", "build batch", "build date")
        for a in found:
            ends = sorted(d for d in (a["end_of_support"], a["product_end_of_support"]) if d)
            table.add_row(
                escape(a["ref"]),
                f"[red]{ends[0] if ends else ''}[/]"
                + (" (product)" if a["product_end_of_support"] in ends[:1] else ""),
                escape(",".join(a["build_batch"])),
                a["build_date"] or "",
            )
        ctx.output.emit(found, table if found else None, "No version is past its end of support.")
        return
    target = parse_ref(ref, need="product")
    assert target.product
    if target.version is None:
        _product(ctx, target.group, target.product, end_of_support, build_date)
        return
    path = f"/archive/{seg(target.group)}/{seg(target.product)}/{seg(target.version)}"
    body = {
        k: v
        for k, v in (("end_of_support", end_of_support), ("build_date", build_date))
        if v is not None
    }
    info = call(api, "PUT", path, body) if body else call(api, "GET", path)
    end = info["end_of_support"] or "not set"
    product_end = info["product_end_of_support"]
    if info["past_end_of_support"]:
        end = f"[red]{end} (past: withdrawn, no check-out, no download)[/]"
    lines = [
        f"[bold]{escape(info['ref'])}[/]",
        f"build batch:    {escape(', '.join(info['build_batch']) or 'none recorded')}",
        f"build date:     {info['build_date'] or 'unknown'}",
        f"end of support: {end}",
    ]
    if product_end:
        lines.append(f"product's end:  {product_end}")
    ctx.output.emit(info, text="\n".join(lines))


def _product(
    ctx: Context, group: str, product: str, end_of_support: str | None, build_date: str | None
) -> None:
    if build_date is not None:
        raise InputError("--build-date belongs to a version: give GROUP/PRODUCT@VERSION")
    path = f"/archive/{seg(group)}/{seg(product)}"
    api = ctx.api()
    body = {"end_of_support": end_of_support}
    info = call(api, "PUT", path, body) if end_of_support is not None else call(api, "GET", path)
    end = info["end_of_support"] or "not set"
    if info["past_end_of_support"]:
        end = f"[red]{end} (past: every version withdrawn)[/]"
    ctx.output.emit(info, text=f"[bold]{escape(group)}/{escape(product)}[/]\nend of support: {end}")


@click.command("retirements")
@click.option("--all", "everything", is_flag=True, help="Retired ones too.")
@page_options_all_pages
@pass_context
def retirements(ctx: Context, everything: bool, limit: int | None, all_pages: bool) -> None:
    """List the retirement requests prepared for the version manager (versions past their
    end of support, withdrawn); `depot retire` closes one."""
    found = listed(
        ctx,
        "/retirements",
        "retirements",
        limit,
        all_pages,
        **({"all": "true"} if everything else {}),
    )
    table = Table("version", "end of support", "prepared", "state")
    for r in found:
        state = r["state"] + (f" by {escape(r['retired_by'])}" if r["retired_by"] else "")
        table.add_row(escape(r["ref"]), r["end_of_support"], r["prepared_at"], state)
    ctx.output.emit(found, table if found else None, "No retirement request is waiting.")


@click.group("supplier")
def supplier() -> None:
    """The supplier register: vendors, qualifications, evaluations."""


@supplier.command("add")
@click.argument("name")
@click.option("--qualification", required=True, help="The vendor's qualification.")
@click.option("--qualified-until", default=None, help="YYYY-MM-DD.")
@click.option("--contact", default="", help="Who to call.")
@click.option("--evaluation-months", type=int, default=None, help="Evaluated every N months.")
@pass_context
def supplier_add(
    ctx: Context,
    name: str,
    qualification: str,
    qualified_until: str | None,
    contact: str,
    evaluation_months: int | None,
) -> None:
    """Add a supplier to the register (quality manager); name it as purchased products
    name their vendor to link them."""
    body = {
        "name": name,
        "qualification": qualification,
        "qualified_until": qualified_until,
        "contact": contact,
        "evaluation_months": evaluation_months,
    }
    info = call(ctx.api(), "POST", "/suppliers", body)
    ctx.output.emit(info, text=f"supplier {escape(info['name'])} added")


@supplier.command("list")
@click.option("--due", is_flag=True, help="Only suppliers whose evaluation is due.")
@page_options
@pass_context
def supplier_list(ctx: Context, due: bool, limit: int | None, all_pages: bool) -> None:
    """List the supplier register (evaluations due are marked)."""
    found = listed(
        ctx, "/suppliers", "suppliers", limit, all_pages, **({"due": "true"} if due else {})
    )
    table = Table("supplier", "status", "qualified until", "latest score", "next evaluation")
    for s in found:
        until = s["qualified_until"] or ""
        if s["qualification_expired"]:
            until = f"[red]{until} expired[/]"
        score = f"{s['latest_period']}: {s['latest_score']}/5" if s["latest_score"] else ""
        upcoming = s["evaluation_due_on"]
        if s["evaluation_due"]:
            upcoming = f"[red]due since {upcoming}[/]"
        status = s["status"] if s["status"] == "active" else f"[red]{s['status']}[/]"
        table.add_row(escape(s["name"]), status, until, score, upcoming)
    empty = "No supplier's evaluation is due." if due else "No suppliers yet."
    ctx.output.emit(found, table if found else None, empty)


@supplier.command("show")
@click.argument("name")
@pass_context
def supplier_show(ctx: Context, name: str) -> None:
    """Show a supplier, its evaluations and the issues linked to it."""
    info = call(ctx.api(), "GET", f"/suppliers/{seg(name)}")
    lines = [
        f"[bold]{escape(info['name'])}[/] ({info['status']})",
        f"qualification:   {escape(info['qualification'])}",
        f"qualified until: {info['qualified_until'] or 'not set'}",
        f"contact:         {escape(info['contact'])}",
        "next evaluation: "
        + (
            f"[red]due since {info['evaluation_due_on']}[/]"
            if info["evaluation_due"]
            else info["evaluation_due_on"]
        )
        + f" (every {info['evaluation_months']} months)",
        "products:",
    ]
    lines += [
        f"  {escape(p['group'])}/{escape(p['product'])} ({p['category']})" for p in info["products"]
    ] or ["  none"]
    lines += [
        "evaluations:",
    ]
    lines += [
        f"  {e['period']}: {e['score']}/5 by {escape(e['evaluator'])} {escape(e['notes'])}"
        for e in info["evaluations"]
    ] or ["  none"]
    lines.append("issues:")
    lines += [
        f"  {i['number']} {escape(i['ref'])} {i['class']} {i['status']}: {escape(i['title'])}"
        for i in info["issues"]
    ] or ["  none"]
    ctx.output.emit(info, text="\n".join(lines))


@supplier.command("evaluate")
@click.argument("name")
@click.option("--period", required=True, help="The period evaluated: 2026-H1, 2026-Q3, 2026.")
@click.option("--score", required=True, type=int, help="1 (poor) to 5 (excellent).")
@click.option("--notes", default="", help="What the evaluation found.")
@pass_context
def supplier_evaluate(ctx: Context, name: str, period: str, score: int, notes: str) -> None:
    """Record a periodic evaluation of a supplier (quality manager)."""
    body = {"period": period, "score": score, "notes": notes}
    info = call(ctx.api(), "POST", f"/suppliers/{seg(name)}/evaluations", body)
    ctx.output.emit(info, text=f"{escape(name)} evaluated for {period}: {score}/5")


@supplier.command("update")
@click.argument("name")
@click.option("--status", type=click.Choice(["active", "suspended"]), default=None)
@click.option("--qualification", default=None)
@click.option("--qualified-until", default=None, help="YYYY-MM-DD.")
@click.option("--contact", default=None)
@click.option("--evaluation-months", type=int, default=None, help="Evaluated every N months.")
@pass_context
def supplier_update(
    ctx: Context,
    name: str,
    status: str | None,
    qualification: str | None,
    qualified_until: str | None,
    contact: str | None,
    evaluation_months: int | None,
) -> None:
    """Change a supplier's status, qualification or contact (quality manager); a
    suspended supplier's products get no new check-in."""
    body = {
        k: v
        for k, v in (
            ("status", status),
            ("qualification", qualification),
            ("qualified_until", qualified_until),
            ("contact", contact),
            ("evaluation_months", evaluation_months),
        )
        if v is not None
    }
    info = call(ctx.api(), "PATCH", f"/suppliers/{seg(name)}", body)
    ctx.output.emit(info, text=f"supplier {escape(info['name'])} updated ({info['status']})")
