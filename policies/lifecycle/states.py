"""The words of the lifecycle: a version's states, the kinds of request and their states,
the steps the rules decide on, who decides each kind, and the facts the rules weigh
(:class:`VersionFacts`, :class:`RequestFacts`, :class:`ProductFacts`, :class:`Block`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from policies.access import GlobalRole, GroupRole
from policies.versions import Origin


class State(StrEnum):
    """Where a version stands."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CHECKED_IN = "checked_in"
    RETIRED = "retired"


IN_LIBRARY = frozenset({State.CHECKED_IN, State.RETIRED})


class Kind(StrEnum):
    """The kinds of request."""

    UPGRADE = "upgrade"  # 升级申请
    ACCEPTANCE = "acceptance"  # delivery for acceptance
    CHECKIN = "checkin"  # 入库申请
    CHECKOUT = "checkout"  # 出库申请
    REGISTER = "register"  # a new product and its first version (新产品登记)


class RequestState(StrEnum):
    """Where a request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class Step(StrEnum):
    """Every lifecycle action the rules decide on."""

    REQUEST_UPGRADE = "request_upgrade"
    CREATE_VERSION = "create_version"
    UPLOAD = "upload"
    UPLOAD_REPORT = "upload_report"
    SUBMIT = "submit"
    REQUEST_CHECKIN = "request_checkin"
    REQUEST_CHECKOUT = "request_checkout"
    APPROVE = "approve"
    REFUSE = "refuse"
    DOWNLOAD = "download"
    RETIRE = "retire"
    FEEDBACK = "feedback"


#: Who decides each kind of request.
DECIDER: dict[Kind, GroupRole | GlobalRole] = {
    Kind.UPGRADE: GlobalRole.VERSION_MANAGER,
    Kind.ACCEPTANCE: GroupRole.ACCEPTANCE_OFFICER,
    Kind.CHECKIN: GlobalRole.VERSION_MANAGER,
    Kind.CHECKOUT: GlobalRole.VERSION_MANAGER,
    Kind.REGISTER: GlobalRole.VERSION_MANAGER,
}

#: Kinds of request about a product rather than one of its versions (an upgrade names a
#: number to come; a registration, the product and its first version).
ABOUT_PRODUCT = frozenset({Kind.UPGRADE, Kind.REGISTER})


class Registration(StrEnum):
    """Where a product's registration stands (products registered before it was reviewed,
    and those of a group that waives the review, are ``registered`` at once)."""

    PENDING = "pending"
    REGISTERED = "registered"
    REFUSED = "refused"


#: Which version state each kind of request is decided in.
DECIDED_IN: dict[Kind, State] = {
    Kind.ACCEPTANCE: State.SUBMITTED,
    Kind.CHECKIN: State.ACCEPTED,
    Kind.CHECKOUT: State.CHECKED_IN,
}


class BlockScope(StrEnum):
    """What a :class:`Block` stops."""

    #: Every use: downloads, check-out requests and approvals; the signed status says
    #: ``quarantined`` (a confirmed serious quality issue).
    USE = "use"
    #: New check-outs only: requests and approvals; downloads under a check-out already
    #: approved go on (a version past its end of support).
    CHECKOUT = "checkout"
    #: New check-ins only: requests and approvals; the library's versions go on (the
    #: product's supplier is suspended).
    CHECKIN = "checkin"


@dataclass(frozen=True)
class Block:
    """A fact a plugin reports that stops use of a version (a serious quality issue).

    ``rule`` names it (``quality.serious_issue``), ``reason`` says it to people
    (``serious quality issue Q-17 confirmed``), ``scope`` what it stops. Plugins
    report; these rules decide.
    """

    rule: str
    reason: str
    scope: BlockScope = BlockScope.USE

    @property
    def stops_use(self) -> bool:
        """True when the block stops every use (downloads too), not only new check-outs."""
        return self.scope is BlockScope.USE


@dataclass(frozen=True)
class VersionFacts:
    """What the rules need to know about one version."""

    group: str
    product: str
    version: str
    origin: Origin
    state: State
    #: People who uploaded the version's files (reports excluded).
    uploaders: frozenset[str] = frozenset()
    artifact_count: int = 0
    #: Versions of the same product that are in the library (checked in or retired).
    library_versions: tuple[str, ...] = ()
    #: The officer who recorded the acceptance pass, once there is one.
    accepted_by: str | None = None
    #: What plugins report as stopping use of this version (see :class:`Block`).
    blocks: tuple[Block, ...] = ()

    @property
    def ref(self) -> str:
        """``group/product@version``."""
        return f"{self.group}/{self.product}@{self.version}"


@dataclass(frozen=True)
class RequestFacts:
    """What the rules need to know about one request."""

    kind: Kind
    state: RequestState
    requester: str
    #: Acceptance: the officer it was delivered to, if a particular one.
    assigned_to: str | None = None
    #: Check-out: when an approved check-out stops allowing downloads.
    expires_at: datetime | None = None
    #: Upgrade: the version number it asks for.
    target_version: str | None = None


@dataclass(frozen=True)
class ProductFacts:
    """What the rules need to know about a product when versions are created."""

    group: str
    product: str
    origin: Origin
    library_versions: tuple[str, ...] = ()
    #: Target versions of the product's approved upgrade requests.
    approved_upgrades: tuple[str, ...] = ()
    #: Whether a version manager approved the product's registration (or it needed none).
    registration: Registration = Registration.REGISTERED
