"""The governed lifecycle of a version (第三章 工作程序): who may move it, and where to.

A version goes ``draft`` → ``submitted`` (delivered for acceptance) → ``accepted`` or
``rejected`` → ``checked_in`` (in the library, permanent) → ``retired``. Upgrade,
acceptance, check-in and check-out are *requests* that one person files and another
decides. The server builds :class:`VersionFacts` and :class:`RequestFacts` from its rows
and asks :func:`decide_step`; :func:`next_state` says where an allowed step leads.

Four eyes everywhere: nobody decides a request they filed, nor accepts or checks in a
version they uploaded files to; the officer who accepted a version does not also check
it in; a refusal needs a comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import semver

from policies.access import Action, Actor, GlobalRole, GroupRole, decide
from policies.decisions import Decision, with_article
from policies.versions import Origin, compare_in_house


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
}

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


def _role_name(role: GroupRole | GlobalRole) -> str:
    return with_article(role.value.replace("_", " "))


def _holds(actor: Actor, role: GroupRole | GlobalRole, group: str) -> bool:
    if isinstance(role, GlobalRole):
        return role in actor.global_roles and not actor.is_group_token
    return role in actor.roles_in(group)


def _need(actor: Actor, role: GroupRole | GlobalRole, group: str, doing: str) -> Decision | None:
    if actor.is_group_token and role is not GroupRole.MEMBER:
        return Decision.refuse("token.scope", f"a group token cannot {doing}")
    if _holds(actor, role, group):
        return None
    where = "" if isinstance(role, GlobalRole) else f" of {group}"
    return Decision.refuse(f"role.{role.value}", f"only {_role_name(role)}{where} may {doing}")


def _newer_than_library(version: str, origin: Origin, library: Sequence[str]) -> Decision | None:
    if origin is not Origin.IN_HOUSE:
        return None
    newest = max(library, key=lambda v: semver.Version.parse(v), default=None)
    if newest is not None and compare_in_house(version, newest) <= 0:
        return Decision.refuse(
            "version.order",
            f"version {version} is not greater than {newest}, already in the library",
        )
    return None


def covers(target: str, version: str, origin: Origin) -> bool:
    """Whether an upgrade approved for ``target`` allows creating ``version``.

    For in-house software the approval covers the target and its pre-releases and
    builds (``2.5.0-rc.1``, ``2.5.0+build.7``); for purchased software, the exact string.
    """
    if origin is not Origin.IN_HOUSE:
        return target == version
    want, got = semver.Version.parse(target), semver.Version.parse(version)
    return (want.major, want.minor, want.patch) == (got.major, got.minor, got.patch)


def decide_create_version(actor: Actor, product: ProductFacts, version: str) -> Decision:
    """May ``actor`` create ``version`` of ``product``?

    A product with versions in the library only takes a new version under an approved
    upgrade request; the first versions of a new product need only its registration.
    """
    base = decide(actor, Action.CREATE_VERSION, product.group)
    if not base.allowed:
        return base
    if not product.library_versions:
        return Decision.allow(
            "upgrade.first_version", "the product has no version in the library yet"
        )
    refused = _newer_than_library(version, product.origin, product.library_versions)
    if refused:
        return refused
    if any(covers(target, version, product.origin) for target in product.approved_upgrades):
        return Decision.allow("upgrade.approved", "an approved upgrade request covers it")
    return Decision.refuse(
        "upgrade.required",
        f"{product.group}/{product.product} is in the library: a new version needs an "
        "approved upgrade request for it",
    )


def decide_upgrade_request(actor: Actor, product: ProductFacts, target: str) -> Decision:
    """May ``actor`` file an upgrade request for ``product`` to ``target``?"""
    base = decide(actor, Action.BROWSE, product.group)
    if not base.allowed:
        return base
    refused = _need(actor, GroupRole.SOFTWARE_MANAGER, product.group, "request an upgrade")
    if refused:
        return refused
    refused = _newer_than_library(target, product.origin, product.library_versions)
    return refused or Decision.allow("upgrade.request")


def decide_step(
    actor: Actor,
    step: Step,
    version: VersionFacts,
    request: RequestFacts | None = None,
    *,
    now: datetime | None = None,
    comment: str = "",
    checkouts: Sequence[RequestFacts] = (),
) -> Decision:
    """May ``actor`` take ``step`` on ``version`` (deciding ``request``)?

    ``now`` is needed for downloads of library versions (check-out expiry);
    ``checkouts`` are that version's check-out requests.
    """
    group = version.group
    if step is Step.DOWNLOAD:
        return _decide_download(actor, version, checkouts, now)
    base = decide(actor, Action.BROWSE, group)
    if base.allowed and version.blocks and _stops_use(step, request):
        return _blocked(version)
    if not base.allowed:
        return base
    if step is Step.UPLOAD:
        upload = decide(actor, Action.UPLOAD, group)
        if not upload.allowed:
            return upload
        return _in_state(
            version, {State.DRAFT}, "files can only be added to a draft version"
        ) or Decision.allow("upload")
    if step is Step.UPLOAD_REPORT:
        return _decide_report_upload(actor, version)
    if step is Step.SUBMIT:
        return _need(
            actor, GroupRole.SOFTWARE_MANAGER, group, "deliver a version for acceptance"
        ) or (
            _in_state(version, {State.DRAFT}, "only a draft can be delivered for acceptance")
            or _has_artifacts(version)
        )
    if step is Step.REQUEST_CHECKIN:
        return (
            _need(actor, GroupRole.SOFTWARE_MANAGER, group, "request a check-in")
            or _in_state(version, {State.ACCEPTED}, "only an accepted version can be checked in")
            or _newer_than_library(version.version, version.origin, version.library_versions)
            or Decision.allow("checkin.request")
        )
    if step is Step.REQUEST_CHECKOUT:
        return (
            _need(actor, GroupRole.SOFTWARE_MANAGER, group, "request a check-out")
            or _in_state(
                version, {State.CHECKED_IN}, "only a checked-in version can be checked out"
            )
            or Decision.allow("checkout.request")
        )
    if step is Step.RETIRE:
        return (
            _need(actor, GlobalRole.VERSION_MANAGER, group, "retire a version")
            or _needs_comment(comment, "a retirement needs a reason")
            or _in_state(version, {State.CHECKED_IN}, "only a checked-in version can be retired")
            or Decision.allow("retire")
        )
    if step is Step.FEEDBACK:
        return (
            _need(actor, GroupRole.ACCEPTANCE_OFFICER, group, "record usage feedback")
            or _needs_comment(comment, "feedback needs a text")
            or _in_state(version, IN_LIBRARY, "feedback is for versions in the library")
            or Decision.allow("feedback")
        )
    if step in (Step.APPROVE, Step.REFUSE):
        if request is None:
            raise ValueError(f"{step} needs a request")
        return _decide_request(actor, step, version, request, comment)
    raise ValueError(f"{step} is not decided here")


def _in_state(
    version: VersionFacts, states: frozenset[State] | set[State], why: str
) -> Decision | None:
    if version.state in states:
        return None
    return Decision.refuse("lifecycle.state", f"{version.ref} is {version.state}: {why}")


def _has_artifacts(version: VersionFacts) -> Decision:
    if version.artifact_count < 1:
        return Decision.refuse(
            "lifecycle.artifacts", f"{version.ref} has no artifact file to accept"
        )
    return Decision.allow("lifecycle.submit")


def _needs_comment(comment: str, why: str) -> Decision | None:
    return None if comment.strip() else Decision.refuse("decision.comment", why)


def _decide_report_upload(actor: Actor, version: VersionFacts) -> Decision:
    return (
        _need(actor, GroupRole.ACCEPTANCE_OFFICER, version.group, "attach an acceptance report")
        or _in_state(version, {State.SUBMITTED}, "reports are attached while a version is tested")
        or _not_uploader(actor, version, "test")
        or Decision.allow("acceptance.report")
    )


def _not_uploader(actor: Actor, version: VersionFacts, doing: str) -> Decision | None:
    if actor.username in version.uploaders:
        return Decision.refuse(
            "four_eyes.uploader",
            f"{actor.username} uploaded files to {version.ref} and cannot {doing} it",
        )
    return None


def _decide_request(
    actor: Actor, step: Step, version: VersionFacts, request: RequestFacts, comment: str
) -> Decision:
    verb = "approve" if step is Step.APPROVE else "refuse"
    if request.kind is Kind.ACCEPTANCE:
        verb = "accept" if step is Step.APPROVE else "reject"
    decider = DECIDER[request.kind]
    stands_for = acting_for(actor, decider)
    if stands_for is None:
        refused = _outside_period(actor, decider) or _need(
            actor, decider, version.group, f"{verb} {request.kind} requests"
        )
        if refused:
            return refused
    if request.state is not RequestState.PENDING:
        return Decision.refuse("request.state", f"the request is already {request.state}")
    if actor.username == request.requester:
        return Decision.refuse(
            "four_eyes.requester", f"{actor.username} filed this request and cannot {verb} it"
        )
    if stands_for is not None:
        refused = _stand_in_four_eyes(actor, stands_for, version, request, verb)
        if refused:
            return refused
    if step is Step.REFUSE and not comment.strip():
        return Decision.refuse("decision.comment", "a refusal needs a comment")
    if request.kind is Kind.UPGRADE:
        return Decision.allow("upgrade.decide")
    refused = _in_state(
        version, {DECIDED_IN[request.kind]}, f"this {request.kind} request cannot be decided now"
    )
    if refused:
        return refused
    if request.kind is Kind.ACCEPTANCE:
        if request.assigned_to and request.assigned_to != actor.username:
            return Decision.refuse(
                "acceptance.assigned",
                f"this version was delivered to {request.assigned_to} for acceptance",
            )
        return _not_uploader(actor, version, "accept or reject") or Decision.allow(
            "acceptance.decide"
        )
    if request.kind is Kind.CHECKIN and step is Step.APPROVE:
        if actor.username == version.accepted_by:
            return Decision.refuse(
                "four_eyes.acceptance",
                f"{actor.username} accepted {version.ref} and cannot also check it in",
            )
        return (
            _not_uploader(actor, version, "check in")
            or _newer_than_library(version.version, version.origin, version.library_versions)
            or Decision.allow("checkin.decide")
        )
    return Decision.allow(f"{request.kind}.decide")


def _outside_period(actor: Actor, role: GroupRole | GlobalRole) -> Decision | None:
    """A stand-in's refusal outside her period, for a role she does not hold herself."""
    if not isinstance(role, GlobalRole) or actor.is_group_token or role in actor.global_roles:
        return None
    why = actor.stand_in_outside.get(role)
    return Decision.refuse("stand_in.period", why) if why else None


def _stand_in_four_eyes(
    actor: Actor, stands_for: str, version: VersionFacts, request: RequestFacts, verb: str
) -> Decision | None:
    """Four eyes for the person a stand-in acts for: what she could not decide herself,
    nobody decides in her place."""
    if stands_for == request.requester:
        did = "filed this request"
    elif stands_for in version.uploaders:
        did = f"uploaded files to {version.ref}"
    elif stands_for == version.accepted_by:
        did = f"accepted {version.ref}"
    else:
        return None
    return Decision.refuse(
        "four_eyes.stand_in",
        f"{actor.username} stands in for {stands_for}, who {did}: "
        f"nobody can {verb} it in {stands_for}'s place",
    )


def acting_for(actor: Actor, role: GroupRole | GlobalRole) -> str | None:
    """Whom ``actor`` stands in for when she decides in ``role`` (policies/stand_ins.py):
    ``None`` when she holds the role herself, or holds it in nobody's place now."""
    if not isinstance(role, GlobalRole) or actor.is_group_token or role in actor.global_roles:
        return None
    return actor.standing_in.get(role)


def _stops_use(step: Step, request: RequestFacts | None) -> bool:
    """Steps a block stops: asking for a check-out and approving one (downloads apart)."""
    if step is Step.REQUEST_CHECKOUT:
        return True
    return step is Step.APPROVE and request is not None and request.kind is Kind.CHECKOUT


def _blocked(version: VersionFacts, *, use_only: bool = False) -> Decision:
    first = next(b for b in version.blocks if b.stops_use or not use_only)
    return Decision.refuse(first.rule, f"use of {version.ref} is stopped: {first.reason}")


def _decide_download(
    actor: Actor, version: VersionFacts, checkouts: Sequence[RequestFacts], now: datetime | None
) -> Decision:
    base = decide(actor, Action.READ, version.group)
    if not base.allowed:
        return base
    if any(block.stops_use for block in version.blocks):
        return _blocked(version, use_only=True)
    if version.state not in IN_LIBRARY:
        return base
    if version.state is State.RETIRED:
        return Decision.refuse(
            "lifecycle.retired",
            f"{version.ref} is retired: its files are kept in the library but no longer "
            "served, not even under a check-out approved before the retirement",
        )
    if now is None:
        raise ValueError("downloads of library versions need the time")
    for checkout in checkouts:
        if (
            checkout.kind is Kind.CHECKOUT
            and checkout.state is RequestState.APPROVED
            and checkout.requester == actor.username
            and checkout.expires_at is not None
            and now < checkout.expires_at
        ):
            return Decision.allow("checkout.approved")
    return Decision.refuse(
        "checkout.required",
        f"{version.ref} is in the library: its files are served only under an approved "
        "check-out of yours that has not expired",
    )


def next_state(step: Step, state: State, request: Kind | None = None) -> State:
    """The state an allowed ``step`` leads to (deciding a ``request`` of that kind)."""
    if step is Step.SUBMIT:
        return State.SUBMITTED
    if step is Step.RETIRE:
        return State.RETIRED
    if request is Kind.ACCEPTANCE and step is Step.APPROVE:
        return State.ACCEPTED
    if request is Kind.ACCEPTANCE and step is Step.REFUSE:
        return State.REJECTED
    if request is Kind.CHECKIN and step is Step.APPROVE:
        return State.CHECKED_IN
    return state


def decide_signature(
    kind: Kind, approve: bool, *, personal_required: bool, personally_signed: bool
) -> Decision:
    """May a decision on a ``kind`` request go ahead with the signature it carries?

    A group can require check-in approvals to carry the approver's personal signature
    (made with ``depot approve`` and their own key); the web pages only attest.
    """
    if kind is Kind.CHECKIN and approve and personal_required and not personally_signed:
        return Decision.refuse(
            "signature.personal_required",
            "this group requires check-in approvals signed with the approver's personal key: "
            "approve with `depot approve` after `depot keys generate`",
        )
    return Decision.allow("signature")
