"""The service module's API, mounted under ``/api/v1/service`` (bearer tokens).

- ``GET  /tickets`` (``group``, ``product``, ``version``, ``kind``, ``open=1``,
  ``overdue=1``), ``POST /tickets``;
- ``GET  /tickets/S-12``, ``POST /tickets/S-12/<step>`` (``respond``, ``assess``,
  ``dispatch``, ``service``, ``complete``, ``survey``, ``follow_up``, ``close``);
- ``GET  /analysis?group=G&product=P[&version=V]`` and ``GET /analysis.csv?...``.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, stream_with_context
from flask.typing import ResponseReturnValue

from repo_server.plugin_api import InvalidRequest, PluginContext, json_body
from repo_server.plugins.product_service.analysis import Analysis
from repo_server.plugins.product_service.fields import ticket_number
from repo_server.plugins.product_service.services import ServiceDesk


def _flag(name: str) -> bool:
    value = request.args.get(name, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise InvalidRequest(f"parameter {name!r} must be 1 or 0", field=name)


def _limit() -> int:
    text = request.args.get("limit", "500")
    if not text.isdigit() or not 1 <= int(text) <= 5000:
        raise InvalidRequest("parameter 'limit' must be a number from 1 to 5000", field="limit")
    return int(text)


def build_api(context: PluginContext, desk: ServiceDesk, analysis: Analysis) -> Blueprint:
    """The API blueprint over the plugin's ``desk`` and ``analysis``."""
    bp = Blueprint("service_api", __name__, url_prefix="/service")

    @bp.get("/tickets")
    def list_tickets() -> ResponseReturnValue:
        tickets = desk.list(
            context.caller(),
            group=request.args.get("group") or None,
            product=request.args.get("product") or None,
            version=request.args.get("version") or None,
            kind=request.args.get("kind") or None,
            open_only=_flag("open"),
            overdue_only=_flag("overdue"),
            limit=_limit(),
        )
        return {"tickets": tickets}

    @bp.post("/tickets")
    def register() -> ResponseReturnValue:
        return desk.register(context.caller(), json_body()), 201

    @bp.get("/tickets/<number>")
    def show(number: str) -> ResponseReturnValue:
        return desk.get(context.caller(), ticket_number(number))

    @bp.post("/tickets/<number>/<step>")
    def do_step(number: str, step: str) -> ResponseReturnValue:
        caller = context.caller()
        found = ticket_number(number)
        return desk.step(caller, found, step.replace("-", "_"), json_body())

    @bp.get("/analysis")
    def report() -> ResponseReturnValue:
        return analysis.report(context.caller(), dict(request.args))

    @bp.get("/analysis.csv")
    def export() -> ResponseReturnValue:
        name, lines = analysis.csv(context.caller(), dict(request.args))
        return Response(
            stream_with_context(lines),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return bp
