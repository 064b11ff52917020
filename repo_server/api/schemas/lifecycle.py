"""The governed lifecycle on the wire: requests, decisions, feedback, history."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from repo_server.api.paging import Paged, PageQuery
from repo_server.api.schemas.artifacts import Version
from repo_server.api.schemas.audit import AuditEvent
from repo_server.api.schemas.common import Body, Moment, Out, UserName

#: Free text the server stores (stripped; at most 10,000 characters).
Note = Annotated[str, Field(max_length=10_000)]
#: The same, where the server wants something written (not only spaces).
Written = Annotated[str, Field(min_length=1, max_length=10_000, pattern=r"\S")]
ItemText = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
RequestKind = Literal["upgrade", "acceptance", "checkin", "checkout", "register"]
RequestState = Literal["pending", "approved", "refused"]


class Request(Out):
    """A request of the lifecycle and where it stands."""

    id: int
    kind: RequestKind
    state: RequestState
    title: str
    group: str
    product: str
    version: str
    ref: str
    requester: str
    requester_name: str = Field("", description="the requester's display name")
    requester_role: str
    assigned_to: str | None
    created_at: Moment
    decided_by: str | None
    decided_role: str | None
    #: The person the decider stood in for ("decided_by for decided_for"), if any.
    decided_for: str | None = None
    decided_at: Moment | None
    comment: str
    expires_at: Moment | None
    details: dict[str, Any]


class RequestList(Paged):
    """A page of requests, oldest or newest first as the route says."""

    requests: list[Request]


class Inbox(RequestList):
    """The requests of one view."""

    view: Literal["inbox", "mine", "all"]


class ArchiveItem(Body):
    """A physical item kept with a checked-in version (media, a manual, a licence)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ItemText
    label: ItemText
    location: ItemText
    custodian: ItemText


class RequestDetail(Request):
    """Everything a decider looks at, and whether this caller may approve or refuse."""

    version_record: Version | None
    acceptance: Request | None
    archive_items: list[dict[str, str]]
    history: list[AuditEvent]
    you_may_approve: bool
    you_may_refuse: bool
    why_not: str


class UpgradeRequest(Body):
    """An upgrade to ask for: the version to come and why."""

    target_version: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Written
    scope: Note = ""


class Submission(Body):
    """A draft delivered for acceptance; ``to`` names one acceptance officer."""

    to: UserName | None = None
    comment: Note = ""


class CheckinRequest(Body):
    """The archive information of a version to check in."""

    release_notes: Written
    documents: list[Annotated[str, Field(max_length=255)]] = Field(default_factory=list)
    items: list[ArchiveItem] = Field(default_factory=list)


class CheckoutRequest(Body):
    """A check-out to ask for: its purpose and how many days (the server's limit applies)."""

    purpose: Written
    days: Annotated[int, Field(ge=1, le=3650)] | None = None


class Retirement(Body):
    """Why a checked-in version is retired."""

    reason: Note = ""


class Retired(Version):
    """The retired version; ``refused_checkouts``: pending check-outs refused with it."""

    refused_checkouts: int


class Feedback(Out):
    """One usage-feedback record."""

    author: str
    text: str
    created_at: Moment


class FeedbackList(Paged):
    """A page of the usage feedback on a version, oldest first."""

    feedback: list[Feedback]


class FeedbackText(Body):
    """What was learnt using the version."""

    text: Note = ""


class History(Paged):
    """A page of everything that happened to a version, oldest first."""

    ref: str
    events: list[AuditEvent]


class RequestsQuery(PageQuery):
    """Which requests: ``inbox`` (waiting for me), ``mine`` (filed by me), ``all`` (filtered)."""

    view: Literal["inbox", "mine", "all"] = "inbox"
    group: Annotated[str, Field(max_length=63)] = ""
    state: Literal["", "pending", "approved", "refused"] = ""
    kind: Literal["", "upgrade", "acceptance", "checkin", "checkout", "register"] = ""


class Decision(Body):
    """A decision's comment, the acceptance ``report`` (a file of the version), and the
    ``statement`` from ``.../statement`` signed with the decider's personal key (DSSE)."""

    comment: Note = ""
    report: Annotated[str, Field(max_length=255)] | None = None
    statement: dict[str, Any] | None = None


class StatementAsk(Body):
    """A decision (to be signed, or asked about) and the comment it will carry."""

    decision: Literal["approve", "refuse"] = "approve"
    comment: Note = ""


class DecisionCheck(Out):
    """The rules' answer to a decision asked about before it is made."""

    allowed: bool
    rule: str
    reason: str


class Statement(Out):
    """The payload to sign (DSSE, type ``payloadType``), base64."""

    payloadType: str
    payload: str
