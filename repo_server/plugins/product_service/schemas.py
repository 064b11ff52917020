"""The service module's API shapes (``/api/v1/service``), declared once: they check what
comes in, shape what goes out and describe both in the OpenAPI document.

Component names start with ``Service`` so that they never meet the core's or another
module's. The services keep their own checks too: the pages send them forms.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

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
    Query,
    check_one_line_name,
)
from repo_server.plugins.product_service import rules

Kind = Annotated[str, OneOf(rules.KINDS)]
Channel = Annotated[str, OneOf(rules.CHANNELS)]
Nature = Annotated[str, OneOf(rules.NATURES)]
Severity = Annotated[str, OneOf(rules.SEVERITIES)]
Charge = Annotated[str, OneOf(rules.CHARGES)]
Status = Annotated[str, OneOf(rules.STATUSES)]
#: The steps ``POST /tickets/{number}/{step}`` records (registration is ``POST /tickets``).
STEPS = tuple(step for step in rules.STEPS if step != "register") + rules.ENDINGS
Role = Annotated[str, OneOf(rules.ROLES)]
Step = Annotated[str, OneOf(STEPS)]


#: A name people read on one line (an organisation, a contact): no control or bidi character.
_ONE_LINE = AfterValidator(check_one_line_name)


def _text(limit: int, description: str = "") -> Any:
    return Field(min_length=1, max_length=limit, pattern=r"\S", description=description)


def _name(limit: int, description: str) -> Any:
    """:func:`_text` on one line: the document states both rules in one pattern."""
    return Field(
        min_length=1,
        max_length=limit,
        pattern=r"\S",
        description=description,
        json_schema_extra={"pattern": SAFE_NAME_PATTERN},
    )


Flag = Annotated[
    Literal["", "1", "0", "true", "false", "yes", "no"],
    Field(description="1/true/yes or 0/false/no"),
]


class ServiceOverdue(Out):
    """A complaint clock that ran out without its step."""

    clock: Literal["response", "verification"]
    due_at: str
    late_seconds: int
    late: str = Field(description="how late, e.g. '2 d 3 h late'")


class ServiceEscalation(Out):
    """A complaint clock that ran out, escalated to the group's supervisors."""

    clock: Literal["response", "verification"]
    at: str
    to: list[str] = Field(description="the supervisors of the group at the time")


class ServiceContact(Out):
    """Who to call at the customer."""

    name: str
    phone: str
    email: str


class ServiceTicket(Out):
    """A service ticket or complaint against a version."""

    number: str = Field(description="S-<n>")
    id: int
    ref: str
    group: str
    product: str
    version: str
    kind: Kind
    channel: Channel
    customer: str = Field(description="the customer's name in the register")
    customer_id: str | None = Field(description="its entry of the customer register, C-<n>")
    warranty_days: int | None = Field(description="the warranty the charge was decided with")
    warranty_source: Literal["contract", "product", "default"] | None
    contact: ServiceContact
    description: str
    delivered_on: str
    charge: Charge
    status: Status
    open: bool
    registered_by: str
    registered_at: str
    response_due_at: str | None
    responded_at: str | None
    verification_due_at: str | None
    assessed_at: str | None
    nature: Nature | None
    severity: Severity | None
    problem: str | None
    technician: str | None
    completed_at: str | None
    confirmed_by: str | None
    satisfaction: int | None
    survey_comment: str | None
    followed_up_at: str | None
    closed_at: str | None
    ended_at: str | None = Field(
        description="when it was cancelled, marked a duplicate or withdrawn"
    )
    end_reason: str | None
    quality_issue: str | None = Field(description="the quality issue linked, Q-<n>")
    duplicate_of: str | None = Field(description="the ticket this one duplicates (S-<n>)")
    escalations: list[ServiceEscalation]
    is_overdue: bool
    overdue: list[ServiceOverdue]
    next_steps: list[Step]


class ServiceTicketList(Paged):
    """A page of the service tickets of the groups you see, newest first."""

    tickets: list[ServiceTicket]


class ServiceTicketEvent(Out):
    """One step of a ticket's record."""

    at: str
    actor: str
    step: str
    text: str
    details: dict[str, Any] = Field(description="the step's fields")


class ServiceTicketDetail(ServiceTicket):
    """A ticket with its record (every step, oldest first)."""

    duplicates: list[str] = Field(description="the tickets marked as duplicates of this one")
    record: list[ServiceTicketEvent]


class ServiceSummary(Out):
    """Count, mean, median and worst (largest); null figures when there is none."""

    count: int
    mean: float | None
    median: float | None
    worst: float | None


class ServiceComplaints(Out):
    """Complaints and their clocks."""

    count: int
    overdue_now: int
    late: int = Field(description="complaints that missed a clock")
    share_late: float | None = Field(description="late / count (null: no complaint)")


class ServiceSatisfaction(Out):
    """Surveys: how many, the mean score and the count per score 1 to 5."""

    count: int
    mean: float | None
    distribution: dict[str, int]


class ServiceProblem(Out):
    """One of the most frequent problems (case and spacing ignored)."""

    problem: str
    count: int
    nature: str
    natures: dict[str, int]


class ServiceRate(Out):
    """Surveys: how many and the mean score."""

    count: int
    mean: float | None


class ServiceTechnician(Out):
    """One technician's figures over the cases dispatched to them."""

    tickets: int
    completed: int
    response_hours: ServiceSummary = Field(
        description="from the dispatch to them to their first service work"
    )
    resolution_hours: ServiceSummary = Field(description="from registration to completion")
    satisfaction: ServiceRate


class ServiceAnalysis(Out):
    """Analysis of the service tickets of a group, product or version, over a period."""

    group: str
    product: str | None = Field(description="null: every product of the group")
    version: str | None = Field(description="null: every version of the product")
    since: str | None
    until: str | None
    at: str
    tickets: int = Field(description="every ticket registered in the scope")
    cases: int = Field(
        description="the tickets that are service cases: all but the cancelled ones and the "
        "duplicates; the figures below count cases only"
    )
    ended: dict[str, int] = Field(description="tickets cancelled, duplicate, withdrawn")
    by_kind: dict[str, int]
    by_status: dict[str, int]
    by_channel: dict[str, int]
    by_charge: dict[str, int]
    by_version: dict[str, int]
    by_product: dict[str, int]
    by_technician: dict[str, ServiceTechnician]
    first_response_hours: ServiceSummary
    verification_working_days: ServiceSummary
    completion_hours: ServiceSummary
    complaints: ServiceComplaints
    satisfaction: ServiceSatisfaction
    top_problems: list[ServiceProblem]


class ServiceTicketsQuery(PageQuery):
    """Filters of the ticket list."""

    group: Annotated[str, Field(max_length=100)] = ""
    product: Annotated[str, Field(max_length=100)] = ""
    version: Annotated[str, Field(max_length=100)] = ""
    kind: Kind | None = None
    open: Flag = Field("", description="only tickets not closed")
    overdue: Flag = Field("", description="only complaints with a clock run out")
    mine: Flag = Field("", description="only the tickets dispatched to you (a technician's)")
    escalated: Flag = Field(
        "", description="only open tickets with a clock escalated to the supervisors"
    )


class ServiceScope(Query):
    """The group, product or version to analyse, and the period."""

    group: Annotated[str, _text(100)]
    product: Annotated[str, Field(max_length=100)] = Field(
        "", description="one product only (default: every product of the group)"
    )
    version: Annotated[str, Field(max_length=100)] = Field(
        "", description="one version only (default: every version of the product)"
    )
    since: DayOrEmpty = Field("", description="tickets registered on or after this day")
    until: DayOrEmpty = Field("", description="tickets registered on or before this day")


class ServiceNewTicket(Body):
    """A service ticket or complaint to register (a phone or an e-mail is required)."""

    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        json_schema_extra={
            "anyOf": [{"required": ["contact_phone"]}, {"required": ["contact_email"]}]
        },
    )

    group: Annotated[str, _text(100)]
    product: Annotated[str, _text(100)]
    version: Annotated[str, _text(100, "a version the caller can see")]
    kind: Kind
    channel: Channel
    customer: Annotated[str, _name(200, "the organisation"), _ONE_LINE]
    contact: Annotated[str, _name(200, "the contact's name"), _ONE_LINE]
    contact_phone: Annotated[str, Field(max_length=64)] = ""
    contact_email: Annotated[str, Field(max_length=200)] = ""
    description: Annotated[str, _text(10_000)]
    delivered_on: Day | None = Field(
        None,
        description="not after today; default the day the version's check-in was approved "
        "(required for a version not checked in)",
    )


class ServiceStep(Body):
    """The step's fields: respond {note}; assess {nature, severity, problem, note};
    dispatch {technician}; service {note}; complete {confirmed_by, note}; survey {score,
    comment}; follow_up {note}; close {note}; cancel and withdraw {reason}; duplicate {of,
    reason}. Other fields are ignored."""

    note: Annotated[str, Field(max_length=10_000)] | None = None
    nature: Nature | None = None
    severity: Severity | None = None
    problem: Annotated[str, Field(max_length=200)] | None = None
    technician: Annotated[str, Field(max_length=64)] | None = None
    confirmed_by: Annotated[str, Field(max_length=200)] | None = None
    # Checked at the survey step (1 to 5), after the order of the steps: a survey out of
    # turn answers 409 whatever its score.
    score: Annotated[int, Field(description="survey: 1 to 5")] | None = None
    comment: Annotated[str, Field(max_length=5000)] | None = None
    reason: Annotated[str, Field(max_length=5000)] | None = Field(
        None, description="cancel, duplicate, withdraw: why (required)"
    )
    of: Annotated[str, Field(max_length=20)] | None = Field(
        None, description="duplicate: the ticket this one duplicates, S-12"
    )


class ServiceRole(Out):
    """A service role one person holds in a group."""

    group: str
    username: str
    role: Role
    granted_by: str
    granted_at: str


class ServiceRoleList(Paged):
    """A page of the service roles granted in a group, oldest first."""

    roles: list[ServiceRole]


class ServiceRolesQuery(PageQuery):
    """A page of a group's service roles."""


class ServiceNewRole(Body):
    """A service role to grant (the group's software manager)."""

    username: Annotated[str, Field(min_length=1, max_length=64)]
    role: Role


class ServiceRoleRemoved(Out):
    """A service role taken away."""

    removed: bool
    group: str
    username: str
    role: Role


class ServiceQualityLink(Body):
    """The quality issue a complaint is linked to (its number in the quality module)."""

    issue: Annotated[str, Field(max_length=20, pattern=r"^[Qq]-[0-9]{1,12}$", description="Q-12")]


class ServiceCustomer(Out):
    """An entry of a group's customer register (客户档案)."""

    number: str = Field(description="C-<n>")
    group: str
    name: str
    contact: ServiceContact
    contract: str
    warranty_days: int | None = Field(description="the contract's own warranty (null: none)")
    tickets: int
    created_by: str
    created_at: str


class ServiceCustomerList(Paged):
    """A page of a group's customer register, oldest first."""

    customers: list[ServiceCustomer]


class ServiceCustomersQuery(PageQuery):
    """A page of a group's customer register."""


class ServiceNewCustomer(Body):
    """A customer to enter in the register (a clerk or supervisor)."""

    name: Annotated[str, _name(200, "the organisation"), _ONE_LINE]
    contact: Annotated[str, Field(max_length=200)] = ""
    contact_phone: Annotated[str, Field(max_length=64)] = ""
    contact_email: Annotated[str, Field(max_length=200)] = ""


class ServiceContractWarranty(Body):
    """A customer's contract and its own warranty (a supervisor); no days: none."""

    contract: Annotated[str, Field(max_length=100)] = ""
    warranty_days: Annotated[int, Field(ge=0, le=36500)] | None = None


class ServiceProductWarranty(Body):
    """A product's own warranty (a supervisor)."""

    warranty_days: Annotated[int, Field(ge=0, le=36500)]


class ServiceProductWarrantySet(Out):
    """A product's warranty as set."""

    group: str
    product: str
    warranty_days: int
    set_by: str
