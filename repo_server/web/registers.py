"""The registers' pages: the library register (with its CSV export) and the physical items."""

from __future__ import annotations

from flask import Response, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue
from flask_login import login_required

from repo_server.api.paging import requested_page
from repo_server.registers.items import ItemFilter
from repo_server.registers.library import STATES, RegisterFilter
from repo_server.web.session import page_principal
from repo_server.web.views import bp, depot

FILTERS = ("group", "category", "origin", "state", "q")


def _register_filter() -> RegisterFilter:
    values = {name: request.args.get(name, "").strip()[:200] for name in FILTERS}
    return RegisterFilter(**values)


@bp.get("/register")
@login_required
def register() -> ResponseReturnValue:
    """The library register, filtered by the query string, a page at a time."""
    wanted = _register_filter()
    page = depot().register.entries(page_principal(), wanted, requested_page())
    figures = depot().register.statistics(page_principal(), wanted)
    return render_template(
        "register.html", page=page, wanted=wanted, states=STATES, figures=figures
    )


@bp.get("/register.csv")
@login_required
def register_csv() -> ResponseReturnValue:
    """The whole register, filtered as on the page, as a CSV file."""
    lines = depot().register.csv(page_principal(), _register_filter())
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="register.csv"'},
    )


@bp.get("/items")
@login_required
def items() -> ResponseReturnValue:
    """The physical items; ``?overdue=1`` only the loans past their date."""
    wanted = ItemFilter(
        group=request.args.get("group", "")[:63],
        status=request.args.get("status", "")[:16],
        overdue=request.args.get("overdue", "") in ("1", "true"),
        q=request.args.get("q", "")[:200],
    )
    page = depot().items.list(page_principal(), wanted, requested_page())
    return render_template("items.html", page=page, wanted=wanted)


@bp.get("/items/<identifier>")
@login_required
def item(identifier: str) -> ResponseReturnValue:
    """One physical item and every step it went through."""
    return render_template("item.html", item=depot().items.get(page_principal(), identifier))
