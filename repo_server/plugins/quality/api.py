"""The quality module's JSON API, mounted under ``/api/v1/quality`` (bearer tokens).

Each route declares its shapes (:mod:`.schemas`); handlers call the services, which
decide and answer.
"""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context
from flask.typing import ResponseReturnValue

from repo_server.plugin_api import (
    Answer,
    ApiBlueprint,
    Header,
    PageQuery,
    Reply,
    answer,
    page_request,
    paged,
)
from repo_server.plugins.quality.api_support import add_routes as add_support_routes
from repo_server.plugins.quality.notices import notices_of
from repo_server.plugins.quality.recall import COLUMNS
from repo_server.plugins.quality.schemas import (
    QualityAllQuery,
    QualityArchiveChange,
    QualityArchiveEntry,
    QualityArchiveList,
    QualityClassify,
    QualityClose,
    QualityConfirm,
    QualityDismiss,
    QualityEvaluation,
    QualityHandle,
    QualityIssue,
    QualityIssueDetail,
    QualityIssueList,
    QualityIssuesQuery,
    QualityLift,
    QualityLifted,
    QualityModule,
    QualityNewEvaluation,
    QualityNewIssue,
    QualityNewSupplier,
    QualityNoticeList,
    QualityQuarantineList,
    QualityRecallList,
    QualityRecallQuery,
    QualitySupplier,
    QualitySupplierChange,
    QualitySupplierDetail,
    QualitySupplierList,
    QualitySuppliersQuery,
    QualityTrends,
)
from repo_server.plugins.quality.services import QualityServices

Json = Any
NUMBER = {"type": "string", "maxLength": 20, "description": "the issue number, Q-17 (or 17)"}
ISSUE = {200: Reply(QualityIssue)}
MANAGER = {403: "the quality manager only (the rule is named)", 404: "no such issue"}
STEP = {**MANAGER, 409: "the step does not fit the issue's state"}
HIDDEN = {404: "no such version, or not one you may see"}


def build_api(services: QualityServices) -> ApiBlueprint:
    """The API blueprint over ``services``."""
    api = ApiBlueprint(
        "quality_api",
        __name__,
        url_prefix="/quality",
        path_schemas={"number": NUMBER, "name": {"type": "string", "maxLength": 200}},
        tag="quality",
    )
    context = services.context
    issues = services.issues

    @api.operation("GET", "/", replies={200: Reply(QualityModule)})
    def root() -> Json:
        """The quality module is enabled (its name and API version)."""
        context.caller()
        return {"module": "quality", "version": 1}

    # -- issues ----------------------------------------------------------------------

    @api.operation(
        "GET", "/issues", query=QualityIssuesQuery, replies={200: paged(QualityIssueList)}
    )
    def list_issues(query: QualityIssuesQuery) -> Answer:
        """Quality issues the caller may see, newest first."""
        found = issues.search(
            context.caller(),
            open_only=query.open,
            status=query.status,
            issue_class=query.issue_class,
            ref=query.version,
            supplier=query.supplier,
            page=page_request(query),
        )
        return answer({"issues": found.items}, found)

    @api.operation(
        "POST",
        "/issues",
        body=QualityNewIssue,
        replies={201: Reply(QualityIssue, "reported")},
        errors=HIDDEN,
    )
    def report(body: QualityNewIssue) -> Json:
        """Report a quality issue against a version (a person who can see it)."""
        return issues.report(context.caller(), body.version, body.sent()), 201

    @api.operation(
        "GET", "/issues/<number>", replies={200: Reply(QualityIssueDetail)}, errors=MANAGER
    )
    def get_issue(number: str) -> Json:
        """One quality issue with its events and quarantines."""
        return issues.get(context.caller(), number)

    @api.operation(
        "POST", "/issues/<number>/classify", body=QualityClassify, replies=ISSUE, errors=STEP
    )
    def classify(number: str, body: QualityClassify) -> Json:
        """Class an open issue general or serious again (quality manager)."""
        return issues.classify(context.caller(), number, body.sent())

    @api.operation(
        "POST", "/issues/<number>/confirm", body=QualityConfirm, replies=ISSUE, errors=STEP
    )
    def confirm(number: str, body: QualityConfirm) -> Json:
        """Confirm an open serious issue and quarantine its build batch (quality manager)."""
        return issues.decide(context.caller(), number, body.sent(), confirm=True)

    @api.operation(
        "POST", "/issues/<number>/dismiss", body=QualityDismiss, replies=ISSUE, errors=STEP
    )
    def dismiss(number: str, body: QualityDismiss) -> Json:
        """Dismiss an open serious issue caused by use or maintenance (quality manager)."""
        return issues.decide(context.caller(), number, body.sent(), confirm=False)

    @api.operation(
        "POST", "/issues/<number>/handle", body=QualityHandle, replies=ISSUE, errors=STEP
    )
    def handle(number: str, body: QualityHandle) -> Json:
        """Record a handling step on an issue not closed (quality manager)."""
        return issues.handle(context.caller(), number, body.sent())

    @api.operation(
        "POST",
        "/issues/<number>/lift",
        body=QualityLift,
        replies={200: Reply(QualityLifted)},
        errors={**MANAGER, 409: "the issue has no active quarantine"},
    )
    def lift(number: str, body: QualityLift) -> Json:
        """Lift the issue's active quarantines (quality manager)."""
        return issues.lift(context.caller(), number, body.sent())

    @api.operation("POST", "/issues/<number>/close", body=QualityClose, replies=ISSUE, errors=STEP)
    def close(number: str, body: QualityClose) -> Json:
        """Close an issue with its resolution (quality manager; a general issue also the
        group's software manager)."""
        return issues.close(context.caller(), number, body.sent())

    recall = services.recall
    readers = {403: "a quality manager, version manager or auditor only", 404: "no such issue"}

    @api.operation(
        "GET",
        "/issues/<number>/recall",
        query=QualityRecallQuery,
        replies={200: paged(QualityRecallList)},
        errors=readers,
    )
    def recall_list(number: str, query: QualityRecallQuery) -> Answer:
        """Who checked out and downloaded any version of the issue's batch (person, time,
        address, check-out number), oldest first."""
        batch, found = recall.page(context.caller(), number, page_request(query))
        return answer({**batch, "entries": found.items}, found)

    def export(number: str, form: str) -> ResponseReturnValue:
        name, media_type, lines = recall.export(context.caller(), number, form)
        return Response(
            stream_with_context(lines),
            mimetype=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @api.operation(
        "GET",
        "/issues/<number>/recall.csv",
        replies={
            200: Reply(
                None,
                "the whole recall list; the first line names the columns: "
                + ", ".join(COLUMNS)
                + ". Cells starting with = + - @ are prefixed with '",
                "text/csv",
                {"Content-Disposition": Header('attachment; filename="recall-Q-N.csv"')},
            )
        },
        errors=readers,
    )
    def recall_csv(number: str) -> ResponseReturnValue:
        """The whole recall list of the issue's batch as CSV, one row per entry."""
        return export(number, "csv")

    @api.operation(
        "GET",
        "/issues/<number>/recall.json",
        replies={
            200: Reply(
                None,
                "the whole recall list: {issue, versions, entries} (entries as in the paged list)",
                "application/json",
                {"Content-Disposition": Header('attachment; filename="recall-Q-N.json"')},
            )
        },
        errors=readers,
    )
    def recall_json(number: str) -> ResponseReturnValue:
        """The whole recall list of the issue's batch as a JSON file."""
        return export(number, "json")

    @api.operation("GET", "/notices", query=PageQuery, replies={200: paged(QualityNoticeList)})
    def my_notices(query: PageQuery) -> Answer:
        """The stop-use notices addressed to the caller (a batch they took out was
        quarantined), newest first."""
        found = notices_of(context, context.caller(), page_request(query))
        return answer({"notices": found.items}, found)

    @api.operation(
        "GET", "/quarantines", query=QualityAllQuery, replies={200: paged(QualityQuarantineList)}
    )
    def quarantines(query: QualityAllQuery) -> Answer:
        """Active quarantines of versions the caller may see, newest first (lifted ones
        too with all)."""
        caller = context.caller()
        found = issues.quarantines(caller, active_only=not query.all, page=page_request(query))
        return answer({"quarantines": found.items}, found)

    @api.operation("GET", "/trends", replies={200: Reply(QualityTrends)})
    def trends() -> Json:
        """Quality issues reported per month by class, the last 12 months."""
        return {"months": issues.trends(context.caller())}

    # -- archive ---------------------------------------------------------------------

    @api.operation("GET", "/archive", query=PageQuery, replies={200: paged(QualityArchiveList)})
    def past_end_of_support(query: PageQuery) -> Answer:
        """Versions the caller may see past their end of support, oldest end first."""
        found = services.archive.past_end_of_support(context.caller(), page_request(query))
        return answer({"versions": found.items}, found)

    @api.operation(
        "GET",
        "/archive/<group>/<product>/<version>",
        replies={200: Reply(QualityArchiveEntry)},
        errors=HIDDEN,
    )
    def get_archive(group: str, product: str, version: str) -> Json:
        """The quality archive of a version."""
        return services.archive.get(context.caller(), group, product, version)

    @api.operation(
        "PUT",
        "/archive/<group>/<product>/<version>",
        body=QualityArchiveChange,
        replies={200: Reply(QualityArchiveEntry)},
        errors={**HIDDEN, 403: "refused by a rule (the rule is named)"},
    )
    def put_archive(group: str, product: str, version: str, body: QualityArchiveChange) -> Json:
        """Set the end of support, build date or build batch of a version (quality manager,
        version manager, the group's software manager)."""
        caller = context.caller()
        return services.archive.put(caller, group, product, version, body.sent())

    # -- suppliers -------------------------------------------------------------------

    @api.operation(
        "GET", "/suppliers", query=QualitySuppliersQuery, replies={200: paged(QualitySupplierList)}
    )
    def list_suppliers(query: QualitySuppliersQuery) -> Answer:
        """The supplier register, by name, with each supplier's latest score and whether its
        evaluation is due (``due=true``: only those due; a page may then hold fewer)."""
        found = services.suppliers.search(context.caller(), page_request(query), due_only=query.due)
        return answer({"suppliers": found.items}, found)

    @api.operation(
        "POST",
        "/suppliers",
        body=QualityNewSupplier,
        replies={201: Reply(QualitySupplier, "added")},
        errors={403: "the quality manager only", 409: "a supplier of that name is in the register"},
    )
    def create_supplier(body: QualityNewSupplier) -> Json:
        """Add a supplier to the register (quality manager)."""
        return services.suppliers.create(context.caller(), body.sent()), 201

    @api.operation(
        "GET",
        "/suppliers/<name>",
        replies={200: Reply(QualitySupplierDetail)},
        errors={404: "no such supplier"},
    )
    def get_supplier(name: str) -> Json:
        """One supplier with its evaluations and linked issues."""
        return services.suppliers.get(context.caller(), name)

    @api.operation(
        "PATCH",
        "/suppliers/<name>",
        body=QualitySupplierChange,
        replies={200: Reply(QualitySupplier)},
        errors={403: "the quality manager only", 404: "no such supplier"},
    )
    def update_supplier(name: str, body: QualitySupplierChange) -> Json:
        """Change a supplier's qualification, contact or status (quality manager)."""
        return services.suppliers.update(context.caller(), name, body.sent())

    @api.operation(
        "POST",
        "/suppliers/<name>/evaluations",
        body=QualityNewEvaluation,
        replies={201: Reply(QualityEvaluation, "recorded")},
        errors={
            403: "the quality manager only",
            404: "no such supplier",
            409: "the supplier is already evaluated for that period",
        },
    )
    def evaluate(name: str, body: QualityNewEvaluation) -> Json:
        """Record a supplier's evaluation for a period (quality manager)."""
        return services.suppliers.evaluate(context.caller(), name, body.sent()), 201

    add_support_routes(api, services)
    return api
