"""Each lifecycle rule, with the rule name and the reason a person is shown."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from policies.access import Actor, GlobalRole, GroupRole, TokenScope
from policies.lifecycle import (
    Block,
    BlockScope,
    Kind,
    ProductFacts,
    Registration,
    RequestFacts,
    RequestState,
    State,
    Step,
    VersionFacts,
    covers,
    decide_create_version,
    decide_registration,
    decide_signature,
    decide_step,
    decide_upgrade_request,
    next_state,
)
from policies.versions import Origin

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
G = GroupRole
SM = Actor("sam", group_roles={"team": frozenset({G.SOFTWARE_MANAGER, G.MEMBER})})
MEMBER = Actor("mia", group_roles={"team": frozenset({G.MEMBER})})
OFFICER = Actor("olga", group_roles={"team": frozenset({G.ACCEPTANCE_OFFICER})})
VM = Actor("vic", global_roles=frozenset({GlobalRole.VERSION_MANAGER}))
AUDITOR = Actor("ivy", global_roles=frozenset({GlobalRole.AUDITOR}))
OUTSIDER = Actor("otto", group_roles={"other": frozenset({G.SOFTWARE_MANAGER})})
CI = Actor("sam", group_roles=SM.group_roles, token_group="team", token_scope=TokenScope.UPLOAD)

DRAFT = VersionFacts(
    "team", "app", "1.1.0", Origin.IN_HOUSE, State.DRAFT, frozenset({"mia"}), 1, ("1.0.0",)
)


def at(state: State, **changes: object) -> VersionFacts:
    return replace(DRAFT, state=state, **changes)  # type: ignore[arg-type]


def pending(kind: Kind, requester: str = "sam", **changes: object) -> RequestFacts:
    return replace(RequestFacts(kind, RequestState.PENDING, requester), **changes)  # type: ignore[arg-type]


def check(decision, allowed: bool, rule: str) -> None:  # type: ignore[no-untyped-def]
    assert (decision.allowed, decision.rule) == (allowed, rule), decision.reason


def test_uploads_go_into_drafts_only() -> None:
    check(decide_step(MEMBER, Step.UPLOAD, DRAFT), True, "upload")
    check(decide_step(CI, Step.UPLOAD, DRAFT), True, "upload")
    check(decide_step(MEMBER, Step.UPLOAD, at(State.SUBMITTED)), False, "lifecycle.state")
    check(decide_step(VM, Step.UPLOAD, DRAFT), False, "group.member")
    check(decide_step(OUTSIDER, Step.UPLOAD, DRAFT), False, "group.visibility")
    assert decide_step(OUTSIDER, Step.UPLOAD, DRAFT).hidden


def test_reports_are_attached_by_an_officer_who_did_not_upload() -> None:
    check(decide_step(OFFICER, Step.UPLOAD_REPORT, at(State.SUBMITTED)), True, "acceptance.report")
    check(
        decide_step(MEMBER, Step.UPLOAD_REPORT, at(State.SUBMITTED)),
        False,
        "role.acceptance_officer",
    )
    check(decide_step(OFFICER, Step.UPLOAD_REPORT, DRAFT), False, "lifecycle.state")
    both = Actor("mia", group_roles={"team": frozenset({G.MEMBER, G.ACCEPTANCE_OFFICER})})
    check(decide_step(both, Step.UPLOAD_REPORT, at(State.SUBMITTED)), False, "four_eyes.uploader")


def test_delivery_for_acceptance() -> None:
    check(decide_step(SM, Step.SUBMIT, DRAFT), True, "lifecycle.submit")
    check(decide_step(MEMBER, Step.SUBMIT, DRAFT), False, "role.software_manager")
    check(decide_step(CI, Step.SUBMIT, DRAFT), False, "token.scope")
    check(decide_step(SM, Step.SUBMIT, at(State.ACCEPTED)), False, "lifecycle.state")
    check(
        decide_step(SM, Step.SUBMIT, replace(DRAFT, artifact_count=0)), False, "lifecycle.artifacts"
    )


def test_acceptance_decisions() -> None:
    submitted, request = at(State.SUBMITTED), pending(Kind.ACCEPTANCE)
    check(decide_step(OFFICER, Step.APPROVE, submitted, request), True, "acceptance.decide")
    check(
        decide_step(OFFICER, Step.REFUSE, submitted, request, comment="fails test 4"),
        True,
        "acceptance.decide",
    )
    check(
        decide_step(OFFICER, Step.REFUSE, submitted, request, comment=" "),
        False,
        "decision.comment",
    )
    check(decide_step(SM, Step.APPROVE, submitted, request), False, "role.acceptance_officer")
    check(decide_step(VM, Step.APPROVE, submitted, request), False, "role.acceptance_officer")
    check(
        decide_step(OFFICER, Step.APPROVE, submitted, pending(Kind.ACCEPTANCE, "olga")),
        False,
        "four_eyes.requester",
    )
    check(
        decide_step(OFFICER, Step.APPROVE, submitted, replace(request, assigned_to="oleg")),
        False,
        "acceptance.assigned",
    )
    check(
        decide_step(OFFICER, Step.APPROVE, submitted, replace(request, assigned_to="olga")),
        True,
        "acceptance.decide",
    )
    uploaded = replace(submitted, uploaders=frozenset({"olga"}))
    check(decide_step(OFFICER, Step.APPROVE, uploaded, request), False, "four_eyes.uploader")
    check(decide_step(OFFICER, Step.APPROVE, DRAFT, request), False, "lifecycle.state")
    done = replace(request, state=RequestState.APPROVED)
    check(decide_step(OFFICER, Step.APPROVE, submitted, done), False, "request.state")
    assert (
        decide_step(OFFICER, Step.APPROVE, submitted, done).reason
        == "the request is already approved"
    )


def test_check_in() -> None:
    accepted = at(State.ACCEPTED, accepted_by="olga")
    check(decide_step(SM, Step.REQUEST_CHECKIN, accepted), True, "checkin.request")
    check(decide_step(SM, Step.REQUEST_CHECKIN, DRAFT), False, "lifecycle.state")
    check(decide_step(MEMBER, Step.REQUEST_CHECKIN, accepted), False, "role.software_manager")
    older = replace(accepted, version="0.9.0")
    check(decide_step(SM, Step.REQUEST_CHECKIN, older), False, "version.order")
    request = pending(Kind.CHECKIN)
    check(decide_step(VM, Step.APPROVE, accepted, request), True, "checkin.decide")
    check(decide_step(VM, Step.APPROVE, older, request), False, "version.order")
    check(
        decide_step(VM, Step.REFUSE, accepted, request, comment="notes missing"),
        True,
        "checkin.decide",
    )
    check(
        decide_step(VM, Step.APPROVE, accepted, pending(Kind.CHECKIN, "vic")),
        False,
        "four_eyes.requester",
    )
    check(
        decide_step(VM, Step.APPROVE, replace(accepted, uploaders=frozenset({"vic"})), request),
        False,
        "four_eyes.uploader",
    )
    check(
        decide_step(VM, Step.APPROVE, replace(accepted, accepted_by="vic"), request),
        False,
        "four_eyes.acceptance",
    )
    check(decide_step(SM, Step.APPROVE, accepted, request), False, "role.version_manager")
    token_vm = Actor(
        "vic", VM.global_roles, {"team": frozenset({G.MEMBER})}, "team", TokenScope.READ
    )
    check(decide_step(token_vm, Step.APPROVE, accepted, request), False, "token.scope")


def test_purchased_versions_have_no_order() -> None:
    purchased = VersionFacts(
        "team", "fw", "V100", Origin.PURCHASED, State.ACCEPTED, library_versions=("V200",)
    )
    check(decide_step(SM, Step.REQUEST_CHECKIN, purchased), True, "checkin.request")


def test_check_out_and_downloads() -> None:
    library = at(State.CHECKED_IN)
    check(decide_step(SM, Step.REQUEST_CHECKOUT, library), True, "checkout.request")
    check(decide_step(SM, Step.REQUEST_CHECKOUT, at(State.RETIRED)), False, "lifecycle.state")
    check(decide_step(VM, Step.APPROVE, library, pending(Kind.CHECKOUT)), True, "checkout.decide")
    check(
        decide_step(VM, Step.APPROVE, at(State.RETIRED), pending(Kind.CHECKOUT)),
        False,
        "lifecycle.state",
    )
    approved = RequestFacts(
        Kind.CHECKOUT, RequestState.APPROVED, "sam", expires_at=NOW + timedelta(days=7)
    )
    check(
        decide_step(SM, Step.DOWNLOAD, library, now=NOW, checkouts=[approved]),
        True,
        "checkout.approved",
    )
    # Retired: no longer served to anyone, not even under a check-out approved before.
    check(
        decide_step(SM, Step.DOWNLOAD, at(State.RETIRED), now=NOW, checkouts=[approved]),
        False,
        "lifecycle.retired",
    )
    later = NOW + timedelta(days=7)
    check(
        decide_step(SM, Step.DOWNLOAD, library, now=later, checkouts=[approved]),
        False,
        "checkout.required",
    )
    check(
        decide_step(MEMBER, Step.DOWNLOAD, library, now=NOW, checkouts=[approved]),
        False,
        "checkout.required",
    )
    refused = replace(approved, state=RequestState.REFUSED)
    check(
        decide_step(SM, Step.DOWNLOAD, library, now=NOW, checkouts=[refused]),
        False,
        "checkout.required",
    )
    wrong_kind = replace(approved, kind=Kind.CHECKIN)
    check(
        decide_step(SM, Step.DOWNLOAD, library, now=NOW, checkouts=[wrong_kind]),
        False,
        "checkout.required",
    )
    no_expiry = replace(approved, expires_at=None)
    check(
        decide_step(SM, Step.DOWNLOAD, library, now=NOW, checkouts=[no_expiry]),
        False,
        "checkout.required",
    )
    check(decide_step(MEMBER, Step.DOWNLOAD, DRAFT, now=NOW), True, "group.member")
    check(
        decide_step(VM, Step.DOWNLOAD, library, now=NOW, checkouts=[approved]),
        False,
        "group.member",
    )
    with pytest.raises(ValueError, match="need the time"):
        decide_step(SM, Step.DOWNLOAD, library)


def test_retirement_and_feedback() -> None:
    library = at(State.CHECKED_IN)
    check(decide_step(VM, Step.RETIRE, library, comment="superseded by 2.0"), True, "retire")
    check(decide_step(VM, Step.RETIRE, library), False, "decision.comment")
    check(decide_step(VM, Step.RETIRE, DRAFT, comment="x"), False, "lifecycle.state")
    check(decide_step(SM, Step.RETIRE, library, comment="x"), False, "role.version_manager")
    check(decide_step(OFFICER, Step.FEEDBACK, library, comment="runs fine"), True, "feedback")
    check(decide_step(OFFICER, Step.FEEDBACK, at(State.RETIRED), comment="ok"), True, "feedback")
    check(decide_step(OFFICER, Step.FEEDBACK, library), False, "decision.comment")
    check(decide_step(OFFICER, Step.FEEDBACK, DRAFT, comment="x"), False, "lifecycle.state")
    check(
        decide_step(MEMBER, Step.FEEDBACK, library, comment="x"), False, "role.acceptance_officer"
    )


def test_library_wide_roles_browse_but_do_not_act() -> None:
    check(decide_step(AUDITOR, Step.SUBMIT, DRAFT), False, "role.software_manager")
    check(
        decide_step(AUDITOR, Step.APPROVE, at(State.ACCEPTED), pending(Kind.CHECKIN)),
        False,
        "role.version_manager",
    )


def test_steps_that_need_more_facts() -> None:
    with pytest.raises(ValueError, match="needs a request"):
        decide_step(VM, Step.APPROVE, DRAFT)
    with pytest.raises(ValueError, match="not decided here"):
        decide_step(SM, Step.REQUEST_UPGRADE, DRAFT)


def test_upgrade_requests() -> None:
    product = ProductFacts("team", "app", Origin.IN_HOUSE, ("1.0.0", "1.2.0"))
    check(decide_upgrade_request(SM, product, "1.3.0"), True, "upgrade.request")
    check(decide_upgrade_request(SM, product, "1.2.0"), False, "version.order")
    check(decide_upgrade_request(MEMBER, product, "1.3.0"), False, "role.software_manager")
    check(decide_upgrade_request(OUTSIDER, product, "1.3.0"), False, "group.visibility")
    request = pending(Kind.UPGRADE, target_version="1.3.0")
    check(decide_step(VM, Step.APPROVE, at(State.DRAFT), request), True, "upgrade.decide")


def test_new_versions_need_an_approved_upgrade_once_in_the_library() -> None:
    new = ProductFacts("team", "app", Origin.IN_HOUSE)
    check(decide_create_version(MEMBER, new, "0.1.0"), True, "upgrade.first_version")
    check(decide_create_version(OUTSIDER, new, "0.1.0"), False, "group.visibility")
    library = ProductFacts("team", "app", Origin.IN_HOUSE, ("1.0.0",), ("1.1.0",))
    check(decide_create_version(CI, library, "1.1.0-rc.1"), True, "upgrade.approved")
    check(decide_create_version(MEMBER, library, "1.1.0"), True, "upgrade.approved")
    check(decide_create_version(MEMBER, library, "1.2.0"), False, "upgrade.required")
    check(decide_create_version(MEMBER, library, "0.9.0"), False, "version.order")


def test_a_new_product_is_registered_under_review_unless_its_group_waives_it() -> None:
    # Every person of the group files it, the software manager too: the rules' version
    # manager keeps the version information of every product (article 5).
    check(decide_registration(SM, "team", reviewed=True), True, "register.review")
    check(decide_registration(MEMBER, "team", reviewed=True), True, "register.review")
    check(decide_registration(SM, "team", reviewed=False), True, "register.waived")
    check(decide_registration(OUTSIDER, "team", reviewed=True), False, "group.visibility")
    check(decide_registration(CI, "team", reviewed=False), False, "token.scope")


def test_no_version_before_the_registration_is_approved() -> None:
    waiting = ProductFacts("team", "app", Origin.IN_HOUSE, registration=Registration.PENDING)
    decision = decide_create_version(SM, waiting, "1.0.0")
    check(decision, False, "product.registration")
    assert "is not registered yet: its registration is pending" in decision.reason
    refused = replace(waiting, registration=Registration.REFUSED)
    check(decide_create_version(MEMBER, refused, "1.0.0"), False, "product.registration")
    check(decide_create_version(OUTSIDER, waiting, "1.0.0"), False, "group.visibility")


def test_a_version_manager_decides_a_registration_she_did_not_file() -> None:
    request = pending(Kind.REGISTER, target_version="1.0.0")
    first = at(State.DRAFT, version="1.0.0", library_versions=())
    check(decide_step(VM, Step.APPROVE, first, request), True, "register.decide")
    check(decide_step(VM, Step.REFUSE, first, request, comment="no"), True, "register.decide")
    check(decide_step(VM, Step.REFUSE, first, request), False, "decision.comment")
    check(decide_step(SM, Step.APPROVE, first, request), False, "role.version_manager")
    her_own = pending(Kind.REGISTER, requester="vic", target_version="1.0.0")
    check(decide_step(VM, Step.APPROVE, first, her_own), False, "four_eyes.requester")
    done = replace(request, state=RequestState.APPROVED)
    check(decide_step(VM, Step.APPROVE, first, done), False, "request.state")
    assert next_state(Step.APPROVE, State.DRAFT, Kind.REGISTER) is State.DRAFT


def test_what_an_upgrade_covers() -> None:
    assert covers("2.5.0", "2.5.0-rc.1", Origin.IN_HOUSE)
    assert covers("2.5.0", "2.5.0+build.7", Origin.IN_HOUSE)
    assert not covers("2.5.0", "2.5.1", Origin.IN_HOUSE)
    assert covers("V200R1", "V200R1", Origin.PURCHASED)
    assert not covers("V200R1", "V200R1-patch", Origin.PURCHASED)


@pytest.mark.parametrize(
    "step,state,kind,after",
    [
        (Step.SUBMIT, State.DRAFT, None, State.SUBMITTED),
        (Step.APPROVE, State.SUBMITTED, Kind.ACCEPTANCE, State.ACCEPTED),
        (Step.REFUSE, State.SUBMITTED, Kind.ACCEPTANCE, State.REJECTED),
        (Step.APPROVE, State.ACCEPTED, Kind.CHECKIN, State.CHECKED_IN),
        (Step.REFUSE, State.ACCEPTED, Kind.CHECKIN, State.ACCEPTED),
        (Step.APPROVE, State.CHECKED_IN, Kind.CHECKOUT, State.CHECKED_IN),
        (Step.RETIRE, State.CHECKED_IN, None, State.RETIRED),
        (Step.UPLOAD, State.DRAFT, None, State.DRAFT),
    ],
)
def test_next_state(step: Step, state: State, kind: Kind | None, after: State) -> None:
    assert next_state(step, state, kind) is after


@pytest.mark.parametrize(
    ("kind", "approve", "required", "signed", "allowed"),
    [
        (Kind.CHECKIN, True, True, False, False),
        (Kind.CHECKIN, True, True, True, True),
        (Kind.CHECKIN, True, False, False, True),
        (Kind.CHECKIN, False, True, False, True),
        (Kind.CHECKOUT, True, True, False, True),
    ],
)
def test_a_group_can_require_personal_signatures_on_check_in_approvals(
    kind: Kind, approve: bool, required: bool, signed: bool, allowed: bool
) -> None:
    decision = decide_signature(kind, approve, personal_required=required, personally_signed=signed)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.rule == "signature.personal_required"
        assert "personal key" in decision.reason


def test_a_block_reported_by_a_plugin_stops_checkouts_and_downloads_of_members_only() -> None:
    blocked = VersionFacts(
        "team",
        "app",
        "1.0.0",
        Origin.IN_HOUSE,
        State.CHECKED_IN,
        blocks=(Block("quality.serious_issue", "serious quality issue Q-17"),),
    )
    member = Actor(
        "alice", group_roles={"team": frozenset({GroupRole.MEMBER, GroupRole.SOFTWARE_MANAGER})}
    )
    manager = Actor("victor", global_roles=frozenset({GlobalRole.VERSION_MANAGER}))
    now = datetime(2026, 11, 28, tzinfo=UTC)
    download = decide_step(member, Step.DOWNLOAD, blocked, now=now)
    assert not download.allowed and download.rule == "quality.serious_issue"
    assert download.reason == "use of team/app@1.0.0 is stopped: serious quality issue Q-17"
    asked = decide_step(member, Step.REQUEST_CHECKOUT, blocked)
    assert not asked.allowed and asked.rule == "quality.serious_issue"
    checkout = RequestFacts(Kind.CHECKOUT, RequestState.PENDING, "alice")
    approved = decide_step(manager, Step.APPROVE, blocked, checkout)
    assert not approved.allowed and approved.rule == "quality.serious_issue"
    refusing = decide_step(manager, Step.REFUSE, blocked, checkout, comment="stopped")
    assert refusing.allowed  # a stop never prevents saying no
    retiring = decide_step(manager, Step.RETIRE, blocked, comment="withdrawn")
    assert retiring.allowed
    # To an outsider the version still does not exist: the block says nothing.
    outsider = decide_step(Actor("dave"), Step.DOWNLOAD, blocked, now=now)
    assert not outsider.allowed and outsider.hidden
    assert decide_step(Actor("dave"), Step.REQUEST_CHECKOUT, blocked).hidden


def test_an_end_of_support_block_stops_new_checkouts_but_not_downloads_under_one() -> None:
    """A block scoped to check-outs (a version past its end of support) refuses asking
    for and approving a check-out; a download under a check-out approved before goes on.
    A use block next to it stops the download too, with its own rule."""
    ended = Block("quality.end_of_support", "support ended on 2026-11-01", BlockScope.CHECKOUT)
    assert not ended.stops_use and Block("x", "y").stops_use
    version = VersionFacts(
        "team", "app", "1.0.0", Origin.IN_HOUSE, State.CHECKED_IN, blocks=(ended,)
    )
    asked = decide_step(MEMBER, Step.REQUEST_CHECKOUT, version)
    assert not asked.allowed and asked.rule == "quality.end_of_support"
    assert asked.reason == "use of team/app@1.0.0 is stopped: support ended on 2026-11-01"
    pending = RequestFacts(Kind.CHECKOUT, RequestState.PENDING, "mia")
    assert decide_step(VM, Step.APPROVE, version, pending).rule == "quality.end_of_support"
    approved = RequestFacts(
        Kind.CHECKOUT, RequestState.APPROVED, "mia", expires_at=NOW + timedelta(days=1)
    )
    download = decide_step(MEMBER, Step.DOWNLOAD, version, now=NOW, checkouts=[approved])
    assert download.allowed and download.rule == "checkout.approved"
    both = replace(version, blocks=(ended, Block("quality.serious_issue", "Q-3 confirmed")))
    stopped = decide_step(MEMBER, Step.DOWNLOAD, both, now=NOW, checkouts=[approved])
    assert not stopped.allowed and stopped.rule == "quality.serious_issue"


def test_a_check_in_block_stops_new_check_ins_and_nothing_else() -> None:
    """A block scoped to check-ins (the product's supplier is suspended) refuses asking for
    and approving a check-in, with its rule; check-outs and downloads of the library's
    versions go on, and other requests are not its business."""
    suspended = Block("quality.supplier_suspended", "Acme is suspended", BlockScope.CHECKIN)
    assert not suspended.stops_use
    accepted = VersionFacts(
        "team", "app", "1.1.0", Origin.PURCHASED, State.ACCEPTED, blocks=(suspended,)
    )
    asked = decide_step(SM, Step.REQUEST_CHECKIN, accepted)
    assert not asked.allowed and asked.rule == "quality.supplier_suspended"
    assert asked.reason == "check-in of team/app@1.1.0 is stopped: Acme is suspended"
    pending = RequestFacts(Kind.CHECKIN, RequestState.PENDING, "sam")
    assert decide_step(VM, Step.APPROVE, accepted, pending).rule == "quality.supplier_suspended"
    in_library = replace(accepted, state=State.CHECKED_IN)
    assert decide_step(SM, Step.REQUEST_CHECKOUT, in_library).allowed
    checkout = RequestFacts(Kind.CHECKOUT, RequestState.PENDING, "mia")
    assert decide_step(VM, Step.APPROVE, in_library, checkout).allowed
    approved = RequestFacts(
        Kind.CHECKOUT, RequestState.APPROVED, "mia", expires_at=NOW + timedelta(days=1)
    )
    download = decide_step(MEMBER, Step.DOWNLOAD, in_library, now=NOW, checkouts=[approved])
    assert download.allowed
    # A check-out block does not stop a check-in either.
    ended = Block("quality.end_of_support", "ended", BlockScope.CHECKOUT)
    assert decide_step(SM, Step.REQUEST_CHECKIN, replace(accepted, blocks=(ended,))).allowed
    assert decide_step(SM, Step.SUBMIT, replace(accepted, state=State.DRAFT)).rule != (
        "quality.supplier_suspended"
    )
