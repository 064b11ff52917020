"""The service module's pages under ``/service`` (signed in; forms carry the CSRF token).

The ticket list (overdue complaints stand out), a form to open a ticket, a ticket's page
with its full record and the form for its next step, and the analysis page with its CSV.
The same services as the API; a refused step is shown on the page, nothing changed.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from repo_server.plugin_api import (
    N_,
    Conflict,
    Forbidden,
    InvalidRequest,
    PluginContext,
    error_words,
    gettext,
    requested_page,
)
from repo_server.plugins.product_service import rules
from repo_server.plugins.product_service.analysis import Analysis
from repo_server.plugins.product_service.fields import ticket_number
from repo_server.plugins.product_service.services import ServiceDesk
from repo_server.plugins.product_service.words import label, page_words, word

FILTERS = ("group", "product", "version", "kind")


def split_ref(text: str) -> dict[str, str]:
    """``group/product@version`` as fields; a 400 naming ``ref`` otherwise."""
    group, _, rest = text.strip().partition("/")
    product, _, version = rest.partition("@")
    if not (group and product and version) or "/" in rest:
        raise InvalidRequest(
            N_("field 'ref' must look like group/product@version, not %(ref)r", ref=text),
            field="ref",
        )
    return {"group": group, "product": product, "version": version}


def build_pages(context: PluginContext, desk: ServiceDesk, analysis: Analysis) -> Blueprint:
    """The pages blueprint over the plugin's ``desk`` and ``analysis``."""
    bp = Blueprint("service_pages", __name__, url_prefix="/service", template_folder="templates")
    bp.context_processor(page_words)

    @bp.get("/")
    def index() -> ResponseReturnValue:
        chosen = {k: request.args.get(k, "").strip() for k in FILTERS}
        show = request.args.get("show", "open")
        if show not in ("open", "overdue", "escalated", "mine", "all"):
            show = "open"
        tickets = desk.list(
            context.caller(),
            group=chosen["group"] or None,
            product=chosen["product"] or None,
            version=chosen["version"] or None,
            kind=chosen["kind"] if chosen["kind"] in rules.KINDS else None,
            open_only=show == "open",
            overdue_only=show == "overdue",
            mine=show == "mine",
            escalated=show == "escalated",
            page=requested_page(),
        )
        return render_template(
            "product_service/index.html",
            tickets=tickets.items,
            page=tickets,
            chosen=chosen,
            show=show,
            kinds=rules.KINDS,
            overdue=sum(1 for t in tickets.items if t["is_overdue"]),
        )

    @bp.route("/new", methods=["GET", "POST"])
    def new() -> ResponseReturnValue:
        values: dict[str, Any] = dict(request.form) if request.method == "POST" else {}
        values.setdefault("ref", request.args.get("ref", ""))
        if request.method == "POST":
            try:
                fields = {**values, **split_ref(str(values.get("ref", "")))}
                ticket = desk.register(context.caller(), fields)
            except InvalidRequest as error:
                flash(error_words(error), "error")
            else:
                flash(
                    gettext(
                        "Ticket %(ticket)s registered (%(charge)s).",
                        ticket=ticket["number"],
                        charge=word(ticket["charge"]),
                    ),
                    "success",
                )
                return redirect(url_for("service_pages.ticket", number=ticket["id"]))
        status = 400 if request.method == "POST" else 200
        return (
            render_template(
                "product_service/new.html",
                values=values,
                kinds=rules.KINDS,
                channels=rules.CHANNELS,
            ),
            status,
        )

    @bp.get("/S-<int:number>")
    def ticket(number: int) -> ResponseReturnValue:
        caller = context.caller()
        found = desk.get(caller, ticket_number(str(number)))
        return render_template(
            "product_service/ticket.html",
            t=found,
            allowed=desk.allowed_steps(caller, found),
            can_link=desk.may_link(caller, found),
            natures=rules.NATURES,
            severities=rules.SEVERITIES,
        )

    @bp.post("/S-<int:number>/<step>")
    def step(number: int, step: str) -> ResponseReturnValue:
        try:
            done = desk.step(context.caller(), ticket_number(str(number)), step, dict(request.form))
        except (InvalidRequest, Conflict, Forbidden) as error:
            flash(error_words(error), "error")
        else:
            flash(
                gettext("%(ticket)s: %(step)s recorded.", ticket=done["number"], step=label(step)),
                "success",
            )
        return redirect(url_for("service_pages.ticket", number=number))

    @bp.post("/S-<int:number>/quality-issue")
    def link_quality(number: int) -> ResponseReturnValue:
        try:
            done = desk.link_quality(context.caller(), number, dict(request.form))
        except (InvalidRequest, Forbidden) as error:
            flash(error_words(error), "error")
        else:
            flash(f"{done['number']}: {done['record'][-1]['text']}.", "success")
        return redirect(url_for("service_pages.ticket", number=number))

    @bp.get("/customers/<group>")
    def customers(group: str) -> ResponseReturnValue:
        found = desk.customers(context.caller(), group, requested_page())
        return render_template(
            "product_service/customers.html", group=group, customers=found.items, page=found
        )

    @bp.route("/roles/<group>", methods=["GET", "POST"])
    def roles(group: str) -> ResponseReturnValue:
        caller = context.caller()
        if request.method == "POST":
            try:
                r = desk.grant(caller, group, dict(request.form))
            except (InvalidRequest, Conflict, Forbidden) as error:
                flash(error_words(error), "error")
            else:
                flash(
                    gettext(
                        "%(name)s is now %(role)s of %(group)s.",
                        name=r["username"],
                        role=word(r["role"]),
                        group=group,
                    ),
                    "success",
                )
            return redirect(url_for("service_pages.roles", group=group))
        found = desk.roles(caller, group, requested_page())
        return render_template(
            "product_service/roles.html",
            group=group,
            roles=found.items,
            page=found,
            choices=rules.ROLES,
            manager="software_manager" in caller.groups.get(group, frozenset()),
        )

    @bp.post("/roles/<group>/<username>/<role>/revoke")
    def revoke(group: str, username: str, role: str) -> ResponseReturnValue:
        try:
            desk.revoke(context.caller(), group, username, role)
        except Forbidden as error:
            flash(error_words(error), "error")
        else:
            flash(
                gettext(
                    "%(name)s is no longer %(role)s of %(group)s.",
                    name=username,
                    role=word(role),
                    group=group,
                ),
                "success",
            )
        return redirect(url_for("service_pages.roles", group=group))

    @bp.get("/analysis")
    def analysis_page() -> ResponseReturnValue:
        fields = {k: v for k, v in request.args.items() if v.strip()}
        report = None
        if fields.get("group"):
            report = analysis.report(context.caller(), fields)
        return render_template(
            "product_service/analysis.html", report=report, fields=fields, kinds=rules.KINDS
        )

    @bp.get("/analysis.csv")
    def analysis_csv() -> ResponseReturnValue:
        fields = {k: v for k, v in request.args.items() if v.strip()}
        name, lines = analysis.csv(context.caller(), fields)
        return Response(
            stream_with_context(lines),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return bp
