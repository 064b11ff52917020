"""The quality module's API shapes (``/api/v1/quality``), declared once: they check what
comes in, shape what goes out and describe both in the OpenAPI document.

Component names start with ``Quality`` so that they never meet the core's or another
module's. The services keep their own checks too: the pages send them forms.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field

from repo_server.plugin_api import (
    SAFE_NAME_PATTERN,
    Body,
    Day,
    DayOrEmpty,
    OneOf,
    Out,
    Paged,
    PageQuery,
    check_one_line_name,
)
from repo_server.plugins.quality import rules

IssueClass = Annotated[str, OneOf(rules.CLASSES)]
Status = Annotated[str, OneOf(rules.STATUSES)]
SupplierStatus = Annotated[str, OneOf(rules.SUPPLIER_STATUSES)]
Ref = Annotated[
    str,
    Field(
        max_length=300,
        pattern=r"^\s*[^/\s][^/]*/[^/@]+@.*\S\s*$",
        description="GROUP/PRODUCT@VERSION",
    ),
]
Written = Annotated[str, Field(min_length=1, max_length=10_000, pattern=r"\S")]
Note = Annotated[str, Field(max_length=10_000)]
#: A name or title people read on one line: no control or bidi character (a 400 naming
#: the field, as for the core's names).
Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"\S",
        json_schema_extra={"pattern": SAFE_NAME_PATTERN},  # what the document states
    ),
    AfterValidator(check_one_line_name),
]
CLOSED = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True)
#: A change must change something: an empty body is refused.
CHANGE = ConfigDict(
    extra="forbid",
    frozen=True,
    validate_by_name=True,
    validate_by_alias=True,
    json_schema_extra={"minProperties": 1},
)


class QualityModule(Out):
    """The quality module is enabled."""

    module: Literal["quality"]
    version: int


class QualityIssue(Out):
    """A quality issue against a version."""

    number: str = Field(description="Q-<n>")
    ref: str
    group: str
    product: str
    version: str
    title: str
    description: str
    issue_class: IssueClass = Field(alias="class")
    supplier: str | None
    status: Status
    cause: str | None
    resolution: str | None
    reported_by: str
    reported_at: str
    decided_by: str | None
    decided_at: str | None
    closed_by: str | None
    closed_at: str | None
    active_quarantines: int = Field(description="how many quarantines of the issue are active")


class QualityIssueList(Paged):
    """A page of the quality issues the caller may see, newest first."""

    issues: list[QualityIssue]


class QualitySignatureEntry(Out):
    """One signature of a DSSE envelope."""

    keyid: Annotated[str, Field(max_length=64)]
    sig: Annotated[str, Field(max_length=200)]


class QualitySignature(Out):
    """A DSSE envelope: the signed decision (base64) and its signature."""

    payloadType: Annotated[str, Field(max_length=100)]
    payload: Annotated[str, Field(max_length=100_000)]
    signatures: Annotated[list[QualitySignatureEntry], Field(min_length=1, max_length=16)]


class QualityIssueEvent(Out):
    """One step in an issue's record."""

    at: str
    actor: str
    step: str
    text: str
    signature: QualitySignature | None = Field(
        None, description="a decision's DSSE envelope, signed with the decider's personal key"
    )


class QualityQuarantine(Out):
    """A version's build batch stopped by an issue."""

    issue: str = Field(description="the issue that quarantined the version, Q-<n>")
    ref: str
    group: str
    product: str
    version: str
    batch: list[str] = Field(description="the build identifiers of the batch")
    active: bool
    started_at: str
    started_by: str
    lifted_at: str | None
    lifted_by: str | None
    lift_reason: str | None


class QualityNotice(Out):
    """A stop-use notice to one person who took a version of the batch out."""

    issue: str
    person: str
    versions: list[str] = Field(description="the versions of the batch this person took out")
    sent_at: str
    sent_by: str
    text: str = Field(description="what the notice says")


class QualityNoticeList(Paged):
    """A page of the stop-use notices addressed to the caller, newest first."""

    notices: list[QualityNotice]


class QualityIssueDetail(QualityIssue):
    """One issue with its events and its quarantines."""

    events: list[QualityIssueEvent]
    quarantines: list[QualityQuarantine]
    quarantines_elsewhere: int = Field(
        description="quarantines in groups the caller cannot see (never named)"
    )
    notices_sent: int = Field(description="stop-use notices sent when it was confirmed")
    notices: list[QualityNotice] = Field(
        description="those notices, for a reader of the recall list (empty for others)"
    )


class QualityLifted(QualityIssue):
    """The issue after its quarantines were lifted."""

    released: list[str] = Field(description="versions no other issue still quarantines")


class QualityQuarantineList(Paged):
    """A page of the quarantines of versions the caller may see, newest first."""

    quarantines: list[QualityQuarantine]


class QualityRecallEntry(Out):
    """One check-out request or download of a version of the batch."""

    kind: Literal["checkout", "download"]
    ref: str = Field(description="GROUP/PRODUCT@VERSION")
    file: str | None = Field(description="the file downloaded (null for a check-out)")
    person: str
    at: str
    address: str = Field(description="the address the person came from")
    checkout: int | None = Field(description="the check-out request's number")
    checkout_state: str | None = Field(description="that check-out's state now")
    sha256: str | None = Field(description="the bytes downloaded (null for a check-out)")


class QualityRecallList(Paged):
    """A page of who took the issue's batch out, oldest first."""

    issue: str
    versions: list[str] = Field(description="the versions of the batch")
    entries: list[QualityRecallEntry]


class QualityTrendMonth(Out):
    """Issues reported in one month, by class."""

    month: str = Field(description="YYYY-MM")
    general: int
    serious: int
    total: int


class QualityTrends(Out):
    """The last 12 months."""

    months: list[QualityTrendMonth]


class QualityArchiveEntry(Out):
    """The quality archive of a version."""

    ref: str
    group: str
    product: str
    version: str
    build_batch: list[str]
    build_batch_source: Literal["archive", "upload"]
    build_date: str | None
    end_of_support: str | None = Field(description="the version's own end of support")
    product_end_of_support: str | None = Field(
        description="the end of support of its whole product (the earlier date counts)"
    )
    past_end_of_support: bool = Field(
        description="withdrawn: no check-out, no download, its retirement prepared"
    )
    updated_by: str | None
    updated_at: str | None


class QualityArchiveList(Paged):
    """A page of the versions past their end of support, oldest end first."""

    versions: list[QualityArchiveEntry]


class QualitySupplier(Out):
    """A supplier of the register."""

    name: str
    qualification: str
    qualified_until: str | None
    qualification_expired: bool
    contact: str
    status: SupplierStatus
    evaluation_months: int = Field(description="how often it is evaluated")
    last_evaluated_at: str | None
    evaluation_due_on: str = Field(description="YYYY-MM-DD; never evaluated: since it was added")
    evaluation_due: bool = Field(description="its next evaluation is due (or overdue)")
    created_by: str
    created_at: str


class QualitySupplierSummary(QualitySupplier):
    """A supplier with its latest score."""

    latest_score: int | None
    latest_period: str | None


class QualitySupplierList(Paged):
    """A page of the supplier register, by name."""

    suppliers: list[QualitySupplierSummary]


class QualityEvaluation(Out):
    """A supplier's evaluation for a period."""

    supplier: str | None = Field(None, description="on creation only")
    period: str
    score: int = Field(ge=1, le=5)
    notes: str
    evaluator: str
    at: str


class QualitySupplierProduct(Out):
    """A purchased product of the supplier (its vendor is the supplier's name)."""

    group: str
    product: str
    category: str
    vendor: str | None


class QualitySupplierDetail(QualitySupplier):
    """One supplier with its evaluations (newest first) and the linked issues."""

    evaluations: list[QualityEvaluation]
    issues: list[QualityIssue]
    products: list[QualitySupplierProduct] = Field(
        description="the purchased products whose vendor it is (those the caller may see)"
    )


class QualityIssuesQuery(PageQuery):
    """Filters of the issue list."""

    open: bool = Field(False, description="only issues not closed")
    status: Status | None = None
    issue_class: IssueClass | None = Field(None, alias="class")
    version: Ref | None = None
    supplier: Annotated[str, Field(max_length=200)] | None = None


class QualityRecallQuery(PageQuery):
    """A page of the recall list."""


class QualitySuppliersQuery(PageQuery):
    """``due=true``: only the suppliers whose evaluation is due."""

    due: bool = False


class QualityAllQuery(PageQuery):
    """``all=true``: lifted quarantines too."""

    all: bool = False


class QualityNewIssue(Body):
    """A quality issue to report against a version the caller can see."""

    version: Ref
    title: Name
    description: Written
    issue_class: IssueClass = Field(alias="class")
    supplier: Annotated[str, Field(max_length=200)] | None = None


class QualityClassify(Body):
    """The class an open issue should have."""

    issue_class: IssueClass = Field(alias="class")
    comment: Note = ""


class QualityConfirm(Body):
    """A serious issue confirmed as caused by the product."""

    cause: Literal["product"] = "product"
    comment: Note = ""
    signature: QualitySignature | None = Field(
        None, description="the decision signed with the personal key (`depot quality` signs it)"
    )


class QualityDismiss(Body):
    """A serious issue dismissed as caused by use or maintenance."""

    cause: Annotated[str, OneOf(rules.DISMISS_CAUSES)]
    comment: Note = ""
    signature: QualitySignature | None = Field(
        None, description="the decision signed with the personal key (`depot quality` signs it)"
    )


class QualityHandle(Body):
    """A handling step."""

    note: Written


class QualityLift(Body):
    """Why the quarantines are lifted."""

    reason: Written
    signature: QualitySignature | None = Field(
        None, description="the decision signed with the personal key (`depot quality` signs it)"
    )


class QualityClose(Body):
    """How the issue was resolved."""

    resolution: Written


class QualityArchiveChange(Body):
    """The archive facts to set; ``null`` or empty clears one (see each field)."""

    model_config = CHANGE
    keeps_nulls = True

    end_of_support: DayOrEmpty | None = Field(None, description="null or empty: none")
    build_date: DayOrEmpty | None = Field(None, description="null or empty: the first upload's day")
    build_batch: list[Annotated[str, Field(pattern=r"^[^,]*\S[^,]*$", max_length=200)]] | None = (
        Field(None, description="build identifiers (no commas); null or empty: those of the upload")
    )


class QualityNewSupplier(Body):
    """A supplier to add to the register."""

    model_config = CLOSED

    name: Name
    qualification: Written
    qualified_until: Day | None = None
    contact: Annotated[str, Field(max_length=500)] = ""
    status: SupplierStatus = "active"
    evaluation_months: Annotated[int, Field(ge=1, le=60)] | None = Field(
        None, description="how often it is evaluated (months; default 12)"
    )


class QualitySupplierChange(Body):
    """What to change in a supplier."""

    model_config = CHANGE

    qualification: Written | None = None
    qualified_until: Day | None = None
    contact: Annotated[str, Field(max_length=500)] | None = None
    status: SupplierStatus | None = None
    evaluation_months: Annotated[int, Field(ge=1, le=60)] | None = Field(
        None, description="how often it is evaluated (months; default 12)"
    )


class QualityNewEvaluation(Body):
    """A supplier's evaluation for a period."""

    period: Annotated[
        str,
        Field(
            pattern=r"^[0-9]{4}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$",
            description="2026, 2026-H1, 2026-Q3 or 2026-07",
        ),
    ]
    score: Annotated[int, Field(ge=1, le=5)]
    notes: Note = ""
