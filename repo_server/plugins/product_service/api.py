"""The service module's API, mounted under ``/api/v1/service`` (bearer tokens).

Each route declares its shapes (:mod:`.schemas`); the handlers call the desk and the
analysis, which decide and answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, stream_with_context
from flask.typing import ResponseReturnValue

from repo_server.plugin_api import (
    ApiBlueprint,
    Caller,
    Header,
    PluginContext,
    Reply,
    answer,
    page_request,
    paged,
)
from repo_server.plugins.product_service import rules
from repo_server.plugins.product_service.analysis import CSV_COLUMNS, Analysis
from repo_server.plugins.product_service.fields import ticket_number
from repo_server.plugins.product_service.schemas import (
    STEPS,
    ServiceAnalysis,
    ServiceContractWarranty,
    ServiceCustomer,
    ServiceCustomerList,
    ServiceCustomersQuery,
    ServiceNewCustomer,
    ServiceNewRole,
    ServiceNewTicket,
    ServiceProductWarranty,
    ServiceProductWarrantySet,
    ServiceQualityLink,
    ServiceRole,
    ServiceRoleList,
    ServiceRoleRemoved,
    ServiceRolesQuery,
    ServiceScope,
    ServiceStep,
    ServiceTicketDetail,
    ServiceTicketList,
    ServiceTicketsQuery,
)
from repo_server.plugins.product_service.services import ServiceDesk

NUMBER = {
    "type": "string",
    "maxLength": 20,
    "description": "the ticket number, S-12 (or 12); anything else answers 404",
}
STEP = {
    "enum": [*STEPS, "follow-up"],
    "description": "the step to record (follow-up is accepted for follow_up)",
}
GROUP = {"type": "string", "maxLength": 100, "description": "a project group"}
USERNAME = {"type": "string", "maxLength": 64, "description": "a person's username"}
ROLE = {"enum": list(rules.ROLES), "description": "a service role"}
CUSTOMER = {"type": "string", "maxLength": 20, "description": "a customer's number, C-3"}
PRODUCT = {"type": "string", "maxLength": 100, "description": "a product of the group"}
SUPERVISOR = {
    403: "not a supervisor of the group, or an auditor (the rule is named)",
    404: "no such group, customer or product, or not one you may see",
}
TICKET = {404: "no such ticket, or not one you may see"}
GRANT = {
    403: "not the group's software manager, or an auditor (the rule is named)",
    404: "no such group, or not one you may see",
}
HIDDEN = {404: "no such group, product or version, or not one you may see"}


def _flag(value: str) -> bool:
    return value in ("1", "true", "yes")


def build_api(context: PluginContext, desk: ServiceDesk, analysis: Analysis) -> ApiBlueprint:
    """The API blueprint over the plugin's ``desk`` and ``analysis``."""
    bp = ApiBlueprint(
        "service_api",
        __name__,
        url_prefix="/service",
        path_schemas={
            "number": NUMBER,
            "step": STEP,
            "group": GROUP,
            "username": USERNAME,
            "role": ROLE,
            "customer": CUSTOMER,
            "product": PRODUCT,
        },
        tag="service",
    )

    @bp.operation(
        "GET", "/tickets", query=ServiceTicketsQuery, replies={200: paged(ServiceTicketList)}
    )
    def list_tickets(query: ServiceTicketsQuery) -> ResponseReturnValue:
        """Service tickets of the groups you see, newest first."""
        tickets = desk.list(
            context.caller(),
            group=query.group or None,
            product=query.product or None,
            version=query.version or None,
            kind=query.kind,
            open_only=_flag(query.open),
            overdue_only=_flag(query.overdue),
            mine=_flag(query.mine),
            escalated=_flag(query.escalated),
            page=page_request(query),
        )
        return answer({"tickets": tickets.items}, tickets)

    @bp.operation(
        "POST",
        "/tickets",
        body=ServiceNewTicket,
        replies={201: Reply(ServiceTicketDetail, "registered")},
        errors={**HIDDEN, 403: "people only (a group token may not register)"},
    )
    def register(body: ServiceNewTicket) -> ResponseReturnValue:
        """Register a service ticket or complaint against a version (people only)."""
        return desk.register(context.caller(), body.sent()), 201

    @bp.operation(
        "GET", "/tickets/<number>", replies={200: Reply(ServiceTicketDetail)}, errors=TICKET
    )
    def show(number: str) -> ResponseReturnValue:
        """One service ticket with its record and next steps."""
        return desk.get(context.caller(), ticket_number(number))

    @bp.operation(
        "POST",
        "/tickets/<number>/quality-issue",
        body=ServiceQualityLink,
        replies={200: Reply(ServiceTicketDetail)},
        errors={
            **TICKET,
            400: "not a quality issue number, or not a complaint",
            403: "not a clerk or supervisor of the group, or an auditor (the rule is named)",
        },
    )
    def link_quality(number: str, body: ServiceQualityLink) -> ResponseReturnValue:
        """Link a complaint to a quality issue (Q-12), kept as a reference."""
        return desk.link_quality(context.caller(), ticket_number(number), body.sent())

    @bp.operation(
        "POST",
        "/tickets/<number>/<step>",
        body=ServiceStep,
        replies={200: Reply(ServiceTicketDetail)},
        errors={
            **TICKET,
            403: "people only, or not your step (the rule is named)",
            409: "the step is out of order (says what must come first)",
        },
    )
    def do_step(number: str, step: str, body: ServiceStep) -> ResponseReturnValue:
        """Record the next step of a service ticket (people only)."""
        caller = context.caller()
        found = ticket_number(number)
        return desk.step(caller, found, step.replace("-", "_"), body.sent())

    @bp.operation(
        "GET",
        "/analysis",
        query=ServiceScope,
        replies={200: Reply(ServiceAnalysis)},
        errors=HIDDEN,
    )
    def report(query: ServiceScope) -> ResponseReturnValue:
        """Analysis of the service tickets of a group, product or version, over a period."""
        return analysis.report(context.caller(), query.model_dump(exclude_defaults=True))

    @bp.operation(
        "GET",
        "/analysis.csv",
        query=ServiceScope,
        replies={
            200: Reply(
                None,
                "streamed; the first line names the columns: "
                + ", ".join(CSV_COLUMNS)
                + ". Cells starting with = + - @ are prefixed with '",
                "text/csv",
                {"Content-Disposition": Header('attachment; filename="service-G-P[-V].csv"')},
            )
        },
        errors=HIDDEN,
    )
    def export(query: ServiceScope) -> ResponseReturnValue:
        """The service tickets of a group, product or version as CSV, one row per ticket."""
        fields = query.model_dump(exclude_defaults=True)
        name, lines = analysis.csv(context.caller(), fields)
        return Response(
            stream_with_context(lines),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @bp.operation(
        "GET",
        "/roles/<group>",
        query=ServiceRolesQuery,
        replies={200: paged(ServiceRoleList)},
        errors={404: "no such group, or not one you may see"},
    )
    def list_roles(group: str, query: ServiceRolesQuery) -> ResponseReturnValue:
        """The service roles granted in a group (clerk, technician, supervisor)."""
        roles = desk.roles(context.caller(), group, page_request(query))
        return answer({"roles": roles.items}, roles)

    @bp.operation(
        "POST",
        "/roles/<group>",
        body=ServiceNewRole,
        replies={201: Reply(ServiceRole, "granted")},
        errors={**GRANT, 409: "the person already holds that role"},
    )
    def grant_role(group: str, body: ServiceNewRole) -> ResponseReturnValue:
        """Give a person a service role in the group (its software manager); no
        membership of the group's storage area comes with it."""
        return desk.grant(context.caller(), group, body.sent()), 201

    @bp.operation(
        "DELETE",
        "/roles/<group>/<username>/<role>",
        replies={200: Reply(ServiceRoleRemoved)},
        errors={**GRANT, 404: "no such group or role held, or not one you may see"},
    )
    def revoke_role(group: str, username: str, role: str) -> ResponseReturnValue:
        """Take a service role in the group away from a person (its software manager)."""
        return desk.revoke(context.caller(), group, username, role)

    @bp.operation(
        "GET",
        "/customers/<group>",
        query=ServiceCustomersQuery,
        replies={200: paged(ServiceCustomerList)},
        errors={404: "no such group, or not one you may see"},
    )
    def list_customers(group: str, query: ServiceCustomersQuery) -> ResponseReturnValue:
        """The group's customer register (客户档案), with each customer's ticket count."""
        found = desk.customers(context.caller(), group, page_request(query))
        return answer({"customers": found.items}, found)

    @bp.operation(
        "POST",
        "/customers/<group>",
        body=ServiceNewCustomer,
        replies={201: Reply(ServiceCustomer, "entered")},
        errors={
            403: "not a clerk or supervisor of the group, or an auditor (the rule is named)",
            404: "no such group, or not one you may see",
            409: "the customer is in the register already (case and spacing ignored)",
        },
    )
    def add_customer(group: str, body: ServiceNewCustomer) -> ResponseReturnValue:
        """Enter a customer in the group's register (tickets naming a new customer enter
        it too)."""
        return desk.add_customer(context.caller(), group, body.sent()), 201

    def supervised_change(
        name: str,
        rule: str,
        body: type[Any],
        reply: Reply,
        summary: str,
        change: Callable[[Caller, str, str, Mapping[str, Any]], dict[str, Any]],
    ) -> None:
        """Declare ``PUT rule`` (``/<group>/<key>``): a change of one resource of a group
        that only its supervisors may make, ``change(caller, group, key, fields)``."""

        def handler(group: str, body: Any, **key: str) -> ResponseReturnValue:
            (named,) = key.values()
            return change(context.caller(), group, named, body.sent())

        handler.__name__, handler.__doc__ = name, summary
        bp.operation("PUT", rule, body=body, replies={200: reply}, errors=SUPERVISOR)(handler)

    supervised_change(
        "contract_warranty",
        "/customers/<group>/<customer>/warranty",
        ServiceContractWarranty,
        Reply(ServiceCustomer),
        """A customer's contract and its own warranty, which decides the charge of its
        tickets before the product's and the server's.""",
        desk.set_contract_warranty,
    )
    supervised_change(
        "product_warranty",
        "/warranties/<group>/<product>",
        ServiceProductWarranty,
        Reply(ServiceProductWarrantySet),
        "A product's own warranty, for customers without a contract warranty.",
        desk.set_product_warranty,
    )

    return bp
