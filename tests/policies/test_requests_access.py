"""The decider of a request reads every file it concerns; nobody reads a stopped version."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from policies.access import Actor, GlobalRole, GroupRole, TokenScope
from policies.lifecycle import Block, Kind, RequestFacts, RequestState, State, VersionFacts
from policies.requests_access import decide_read, review_of
from policies.versions import Origin

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
G = GroupRole
VM = Actor("vic", global_roles=frozenset({GlobalRole.VERSION_MANAGER}))
AUDITOR = Actor("ivy", global_roles=frozenset({GlobalRole.AUDITOR}))
OFFICER = Actor("olga", group_roles={"team": frozenset({G.ACCEPTANCE_OFFICER})})
SM = Actor("sam", group_roles={"team": frozenset({G.SOFTWARE_MANAGER, G.MEMBER})})
OUTSIDER = Actor("otto", group_roles={"other": frozenset({G.ACCEPTANCE_OFFICER})})
VM_TOKEN = Actor(
    "vic",
    global_roles=VM.global_roles,
    group_roles={"team": frozenset({G.MEMBER})},
    token_group="team",
    token_scope=TokenScope.READ,
)
ACCEPTED = VersionFacts("team", "app", "1.1.0", Origin.IN_HOUSE, State.ACCEPTED)


def request(kind: Kind, state: RequestState = RequestState.PENDING) -> RequestFacts:
    return RequestFacts(kind, state, "sam")


CHECKIN = request(Kind.CHECKIN)
ACCEPTANCE = request(Kind.ACCEPTANCE, RequestState.APPROVED)
UPGRADE = request(Kind.UPGRADE, RequestState.APPROVED)


def test_the_version_manager_reads_what_a_check_in_request_concerns() -> None:
    plain = decide_read(VM, ACCEPTED, [], now=NOW)
    assert not plain.allowed and plain.rule == "group.member" and not plain.hidden
    read = decide_read(VM, ACCEPTED, [UPGRADE, ACCEPTANCE, CHECKIN], now=NOW)
    assert read.allowed and read.rule == "request.review" and "checkin" in read.reason
    assert review_of(VM, ACCEPTED, [UPGRADE, ACCEPTANCE, CHECKIN]) == 2
    # Afterwards, for the record: a version in the library, without a check-out.
    done = replace(CHECKIN, state=RequestState.APPROVED)
    assert decide_read(VM, replace(ACCEPTED, state=State.CHECKED_IN), [done], now=NOW).allowed
    # An auditor sees the records but decides nothing: no bytes.
    assert decide_read(AUDITOR, ACCEPTED, [CHECKIN], now=NOW).rule == "group.member"
    assert review_of(VM_TOKEN, ACCEPTED, [CHECKIN]) is None


def test_an_officer_reads_the_record_of_an_acceptance_she_may_decide() -> None:
    in_library = replace(ACCEPTED, state=State.CHECKED_IN)
    refused = decide_read(OFFICER, in_library, [], now=NOW)
    assert refused.rule == "checkout.required"
    read = decide_read(OFFICER, in_library, [ACCEPTANCE, CHECKIN], now=NOW)
    assert read.allowed and read.rule == "request.review"
    # A member reads a version outside the library by the ordinary rule.
    assert decide_read(SM, ACCEPTED, [CHECKIN], now=NOW).rule == "group.member"
    assert decide_read(SM, in_library, [CHECKIN], now=NOW).rule == "checkout.required"


def test_nothing_reopens_a_stopped_version_and_outsiders_still_see_nothing() -> None:
    retired = replace(ACCEPTED, state=State.RETIRED)
    assert decide_read(VM, retired, [CHECKIN], now=NOW).rule == "lifecycle.retired"
    quarantined = replace(ACCEPTED, blocks=(Block("quality.serious_issue", "Q-1"),))
    assert decide_read(VM, quarantined, [CHECKIN], now=NOW).rule == "quality.serious_issue"
    hidden = decide_read(OUTSIDER, ACCEPTED, [ACCEPTANCE], now=NOW)
    assert hidden.hidden and not hidden.allowed


def test_an_approved_check_out_is_read_until_its_date() -> None:
    mine = RequestFacts(
        Kind.CHECKOUT, RequestState.APPROVED, "sam", expires_at=NOW + timedelta(days=1)
    )
    in_library = replace(ACCEPTED, state=State.CHECKED_IN)
    assert decide_read(SM, in_library, [mine], now=NOW).rule == "checkout.approved"
    late = NOW + timedelta(days=1)
    assert decide_read(SM, in_library, [mine], now=late).rule == "checkout.required"


def test_a_reviewer_is_told_why_a_stopped_version_is_closed_and_a_member_too() -> None:
    retired = replace(ACCEPTED, state=State.RETIRED)
    assert decide_read(OFFICER, retired, [ACCEPTANCE], now=NOW).rule == "lifecycle.retired"
    quarantined = replace(ACCEPTED, blocks=(Block("quality.serious_issue", "Q-1"),))
    assert decide_read(SM, quarantined, [], now=NOW).rule == "quality.serious_issue"
