"""The quality module's routes for end of support of whole products, the retirement
requests it prepares, and what a quality manager signs for a decision (mounted on the
module's API blueprint by :func:`add_routes`)."""

from __future__ import annotations

from typing import Any

from repo_server.plugin_api import Answer, ApiBlueprint, Reply, answer, page_request, paged
from repo_server.plugins.quality.schemas import QualityAllQuery
from repo_server.plugins.quality.schemas_support import (
    QualityDecisionDraft,
    QualityProductSupport,
    QualityProductSupportChange,
    QualityRetirementList,
    QualityToSign,
)
from repo_server.plugins.quality.services import QualityServices

Json = Any
HIDDEN = {404: "no such product, or not one you may see"}


def add_routes(api: ApiBlueprint, services: QualityServices) -> None:
    """Declare the end-of-support routes on ``api``."""
    context = services.context
    support = services.support

    @api.operation(
        "GET",
        "/archive/<group>/<product>",
        replies={200: Reply(QualityProductSupport)},
        errors=HIDDEN,
    )
    def get_product_support(group: str, product: str) -> Json:
        """The end of support of a whole product."""
        return support.get_product(context.caller(), group, product)

    @api.operation(
        "PUT",
        "/archive/<group>/<product>",
        body=QualityProductSupportChange,
        replies={200: Reply(QualityProductSupport)},
        errors={**HIDDEN, 403: "refused by a rule (the rule is named)"},
    )
    def put_product_support(group: str, product: str, body: QualityProductSupportChange) -> Json:
        """Set the end of support of a whole product: from that day every version of it is
        withdrawn (quality manager, version manager, the group's software manager)."""
        return support.put_product(context.caller(), group, product, body.sent())

    @api.operation(
        "GET",
        "/retirements",
        query=QualityAllQuery,
        replies={200: paged(QualityRetirementList)},
    )
    def retirements(query: QualityAllQuery) -> Answer:
        """Retirement requests prepared for the version manager: versions past their end
        of support, withdrawn (open ones; done ones too with all), oldest end first."""
        found = support.retirements(context.caller(), page_request(query), all_=query.all)
        return answer({"retirements": found.items}, found)

    @api.operation(
        "POST",
        "/issues/<number>/to-sign",
        body=QualityDecisionDraft,
        replies={200: Reply(QualityToSign)},
        errors={404: "no such issue"},
    )
    def to_sign(number: str, body: QualityDecisionDraft) -> Json:
        """What to sign with the personal key for a decision about to be taken (confirm,
        dismiss, lift); send the envelope as the decision's ``signature``."""
        return services.issues.signatures.draft(context.caller(), number, body.sent())
