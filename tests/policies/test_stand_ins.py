"""The stand-in rules: who names one, for which role and period, and what she decides."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from policies.access import Actor, GlobalRole, GroupRole, TokenScope
from policies.lifecycle import (
    Kind,
    RequestFacts,
    RequestState,
    State,
    Step,
    VersionFacts,
    acting_for,
    decide_step,
)
from policies.requests_access import review_of
from policies.stand_ins import (
    Appointment,
    acting_roles,
    decide_appointment,
    decide_revocation,
)
from policies.versions import Origin

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
VM_ROLE = GlobalRole.VERSION_MANAGER
VM = Actor("vic", global_roles=frozenset({VM_ROLE}))
ADMIN = Actor("root", global_roles=frozenset({GlobalRole.ADMIN}))
SARA = Actor("sara")
WEEK = NOW + timedelta(days=7)
ACCEPTED = VersionFacts(
    "team", "app", "1.1.0", Origin.IN_HOUSE, State.ACCEPTED, frozenset({"mia"}), 1, (),
    accepted_by="olga",
)  # fmt: skip
CHECKIN = RequestFacts(Kind.CHECKIN, RequestState.PENDING, "sam")


def check(decision, allowed: bool, rule: str) -> None:  # type: ignore[no-untyped-def]
    assert (decision.allowed, decision.rule) == (allowed, rule), decision.reason


def appoint(actor: Actor, **changes: object) -> object:
    given: dict[str, object] = {
        "stands_for": "vic",
        "stands_for_roles": frozenset({VM_ROLE}),
        "stand_in": "sara",
        "role": VM_ROLE,
        "starts_at": NOW,
        "ends_at": WEEK,
        "now": NOW,
    }
    given.update(changes)
    return decide_appointment(actor, **given)  # type: ignore[arg-type]


def test_who_names_a_stand_in_for_what_and_how_long() -> None:
    check(appoint(VM), True, "stand_in.appoint")
    check(appoint(ADMIN), True, "stand_in.appoint")
    check(appoint(SARA), False, "stand_in.appointer")
    token = Actor("vic", global_roles=VM.global_roles, token_scope=TokenScope.READ)
    check(appoint(token), False, "token.scope")
    check(appoint(VM, role=GlobalRole.AUDITOR), False, "stand_in.role")
    check(appoint(VM, stands_for_roles=frozenset()), False, "stand_in.holder")
    check(appoint(VM, stand_in="vic"), False, "stand_in.same_person")
    check(appoint(VM, ends_at=NOW), False, "stand_in.period")
    check(appoint(VM, starts_at=NOW - timedelta(days=9), ends_at=NOW), False, "stand_in.period")
    check(appoint(VM, ends_at=NOW + timedelta(days=91)), False, "stand_in.period")


def test_revocation() -> None:
    named = Appointment("vic", "sara", VM_ROLE, NOW, WEEK)
    check(decide_revocation(VM, named, NOW), True, "stand_in.revoke")
    check(decide_revocation(SARA, named, NOW), False, "stand_in.appointer")
    check(decide_revocation(VM, replace(named, revoked=True), NOW), False, "stand_in.period")
    check(decide_revocation(VM, named, WEEK), False, "stand_in.period")


def test_the_period_decides_which_roles_she_holds() -> None:
    named = Appointment("vic", "sara", VM_ROLE, NOW, WEEK)
    assert acting_roles([named], NOW) == ({VM_ROLE: "vic"}, {})
    current, outside = acting_roles([named], WEEK)  # the end is not in the period
    assert current == {} and "not now" in outside[VM_ROLE]
    _, outside = acting_roles([replace(named, revoked=True)], NOW)
    assert "revoked" in outside[VM_ROLE]
    _, outside = acting_roles([replace(named, holder_has_role=False)], NOW)
    assert "no longer holds" in outside[VM_ROLE]
    # A current appointment wins over one that is over.
    old = replace(named, stands_for="vera", starts_at=NOW - timedelta(days=9), ends_at=NOW)
    assert acting_roles([named, old], NOW) == ({VM_ROLE: "vic"}, {})


def test_the_stand_in_decides_in_her_place() -> None:
    sara = Actor("sara", standing_in={VM_ROLE: "vic"})
    check(decide_step(sara, Step.APPROVE, ACCEPTED, CHECKIN), True, "checkin.decide")
    assert acting_for(sara, VM_ROLE) == "vic"
    assert acting_for(VM, VM_ROLE) is None  # she decides as herself
    assert acting_for(sara, GroupRole.ACCEPTANCE_OFFICER) is None
    assert sara.sees_whole_library
    assert review_of(sara, ACCEPTED, [CHECKIN]) == 0
    # Not through a group token, and not what she could not decide herself.
    token = replace(sara, token_scope=TokenScope.READ, token_group="team")
    assert acting_for(token, VM_ROLE) is None
    check(decide_step(sara, Step.RETIRE, ACCEPTED, comment="x"), False, "role.version_manager")
    own = replace(CHECKIN, requester="sara")
    check(decide_step(sara, Step.APPROVE, ACCEPTED, own), False, "four_eyes.requester")


def test_four_eyes_hold_for_whom_she_stands() -> None:
    for stands_for, why in (("sam", "filed"), ("mia", "uploaded"), ("olga", "accepted")):
        sara = Actor("sara", standing_in={VM_ROLE: stands_for})
        decision = decide_step(sara, Step.APPROVE, ACCEPTED, CHECKIN)
        check(decision, False, "four_eyes.stand_in")
        assert why in decision.reason


def test_outside_the_period_she_is_refused_by_rule() -> None:
    # Outside her period she sees what her groups show her, and is refused by the rule there.
    sara = Actor(
        "sara",
        group_roles={"team": frozenset({GroupRole.MEMBER})},
        stand_in_outside={VM_ROLE: "sara's appointment ... not now"},
    )
    check(decide_step(sara, Step.APPROVE, ACCEPTED, CHECKIN), False, "stand_in.period")
    assert not replace(sara, group_roles={}).sees_whole_library
    # A version manager of her own right is never refused for an old appointment.
    both = replace(VM, stand_in_outside=sara.stand_in_outside)
    check(decide_step(both, Step.APPROVE, ACCEPTED, CHECKIN), True, "checkin.decide")
    # Group roles have no stand-ins.
    acceptance = RequestFacts(Kind.ACCEPTANCE, RequestState.PENDING, "sam")
    submitted = replace(ACCEPTED, state=State.SUBMITTED)
    check(decide_step(sara, Step.APPROVE, submitted, acceptance), False, "role.acceptance_officer")
