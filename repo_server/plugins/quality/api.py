"""The quality module's JSON API, mounted under ``/api/v1/quality`` (bearer tokens).

Handlers read the request and call the services; the services decide and answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from repo_server.plugin_api import InvalidRequest, body_field, json_body
from repo_server.plugins.quality.services import QualityServices

Json = Any


def _flag(name: str) -> bool:
    value = request.args.get(name, "").lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise InvalidRequest(f"parameter {name!r} must be true or false", field=name)


def build_api(services: QualityServices) -> Blueprint:
    """The API blueprint over ``services``."""
    api = Blueprint("quality_api", __name__, url_prefix="/quality")
    context = services.context
    issues = services.issues

    @api.get("/")
    def root() -> Json:
        context.caller()
        return {"module": "quality", "version": 1}

    # -- issues ----------------------------------------------------------------------

    @api.get("/issues")
    def list_issues() -> Json:
        found = issues.search(
            context.caller(),
            open_only=_flag("open"),
            status=request.args.get("status") or None,
            issue_class=request.args.get("class") or None,
            ref=request.args.get("version") or None,
            supplier=request.args.get("supplier") or None,
        )
        return {"issues": found}

    @api.post("/issues")
    def report() -> Json:
        caller = context.caller()
        body = json_body()
        ref = body_field(body, "version", str, required=True)
        return issues.report(caller, ref, body), 201

    @api.get("/issues/<number>")
    def get_issue(number: str) -> Json:
        return issues.get(context.caller(), number)

    @api.post("/issues/<number>/classify")
    def classify(number: str) -> Json:
        return issues.classify(context.caller(), number, json_body())

    @api.post("/issues/<number>/confirm")
    def confirm(number: str) -> Json:
        return issues.decide(context.caller(), number, json_body(), confirm=True)

    @api.post("/issues/<number>/dismiss")
    def dismiss(number: str) -> Json:
        return issues.decide(context.caller(), number, json_body(), confirm=False)

    @api.post("/issues/<number>/handle")
    def handle(number: str) -> Json:
        return issues.handle(context.caller(), number, json_body())

    @api.post("/issues/<number>/lift")
    def lift(number: str) -> Json:
        return issues.lift(context.caller(), number, json_body())

    @api.post("/issues/<number>/close")
    def close(number: str) -> Json:
        return issues.close(context.caller(), number, json_body())

    @api.get("/quarantines")
    def quarantines() -> Json:
        caller = context.caller()
        return {"quarantines": issues.quarantines(caller, active_only=not _flag("all"))}

    @api.get("/trends")
    def trends() -> Json:
        return {"months": issues.trends(context.caller())}

    # -- archive ---------------------------------------------------------------------

    @api.get("/archive")
    def past_end_of_support() -> Json:
        return {"versions": services.archive.past_end_of_support(context.caller())}

    @api.get("/archive/<group>/<product>/<version>")
    def get_archive(group: str, product: str, version: str) -> Json:
        return services.archive.get(context.caller(), group, product, version)

    @api.put("/archive/<group>/<product>/<version>")
    def put_archive(group: str, product: str, version: str) -> Json:
        caller = context.caller()
        return services.archive.put(caller, group, product, version, json_body())

    # -- suppliers -------------------------------------------------------------------

    @api.get("/suppliers")
    def list_suppliers() -> Json:
        return {"suppliers": services.suppliers.search(context.caller())}

    @api.post("/suppliers")
    def create_supplier() -> Json:
        return services.suppliers.create(context.caller(), json_body()), 201

    @api.get("/suppliers/<name>")
    def get_supplier(name: str) -> Json:
        return services.suppliers.get(context.caller(), name)

    @api.patch("/suppliers/<name>")
    def update_supplier(name: str) -> Json:
        return services.suppliers.update(context.caller(), name, json_body())

    @api.post("/suppliers/<name>/evaluations")
    def evaluate(name: str) -> Json:
        return services.suppliers.evaluate(context.caller(), name, json_body()), 201

    return api
