"""The steps of a version's lifecycle: who may take each, and where it leads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from policies.access import Action, Actor, GlobalRole, GroupRole, decide
from policies.decisions import Decision
from policies.lifecycle.creation import newer_than_library
from policies.lifecycle.downloads import decide_download, stopping
from policies.lifecycle.roles import need_role
from policies.lifecycle.states import (
    ABOUT_PRODUCT,
    DECIDED_IN,
    DECIDER,
    IN_LIBRARY,
    Kind,
    RequestFacts,
    RequestState,
    State,
    Step,
    VersionFacts,
)


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
        return decide_download(actor, version, checkouts, now)
    base = decide(actor, Action.BROWSE, group)
    stop = stopping(version, step, request) if base.allowed else None
    if stop is not None:
        return stop
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
        return need_role(
            actor, GroupRole.SOFTWARE_MANAGER, group, "deliver a version for acceptance"
        ) or (
            _in_state(version, {State.DRAFT}, "only a draft can be delivered for acceptance")
            or _has_artifacts(version)
        )
    if step is Step.REQUEST_CHECKIN:
        return (
            need_role(actor, GroupRole.SOFTWARE_MANAGER, group, "request a check-in")
            or _in_state(version, {State.ACCEPTED}, "only an accepted version can be checked in")
            or newer_than_library(version.version, version.origin, version.library_versions)
            or Decision.allow("checkin.request")
        )
    if step is Step.REQUEST_CHECKOUT:
        return (
            need_role(actor, GroupRole.SOFTWARE_MANAGER, group, "request a check-out")
            or _in_state(
                version, {State.CHECKED_IN}, "only a checked-in version can be checked out"
            )
            or Decision.allow("checkout.request")
        )
    if step is Step.RETIRE:
        return (
            need_role(actor, GlobalRole.VERSION_MANAGER, group, "retire a version")
            or _needs_comment(comment, "a retirement needs a reason")
            or _in_state(version, {State.CHECKED_IN}, "only a checked-in version can be retired")
            or Decision.allow("retire")
        )
    if step is Step.FEEDBACK:
        return (
            need_role(actor, GroupRole.ACCEPTANCE_OFFICER, group, "record usage feedback")
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
        need_role(actor, GroupRole.ACCEPTANCE_OFFICER, version.group, "attach an acceptance report")
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
        refused = _outside_period(actor, decider) or need_role(
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
    if request.kind in ABOUT_PRODUCT:
        return Decision.allow(f"{request.kind}.decide")
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
            or newer_than_library(version.version, version.origin, version.library_versions)
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
