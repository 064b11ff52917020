"""No sequence of actions by any set of people checks a version in without four eyes.

A model of one version is driven only through :func:`policies.lifecycle.decide_step`
and :func:`policies.lifecycle.next_state`, exactly as the server drives its rows, by
random people with random roles. Whatever they try, a version in the library has a
pass from an acceptance officer who uploaded none of its files and a check-in approval
by a version manager who did not file that check-in request.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.access import Actor, GlobalRole, GroupRole
from policies.lifecycle import (
    IN_LIBRARY,
    Kind,
    RequestFacts,
    RequestState,
    State,
    Step,
    VersionFacts,
    decide_step,
    next_state,
)
from policies.versions import Origin

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
PROGRESS = {
    State.DRAFT: 0,
    State.SUBMITTED: 1,
    State.REJECTED: 1,
    State.ACCEPTED: 2,
    State.CHECKED_IN: 3,
    State.RETIRED: 4,
}
PEOPLE = ["ann", "ben", "cat", "dan"]


@dataclass
class Request:
    facts: RequestFacts
    decided_by: str | None = None


@dataclass
class Model:
    version: VersionFacts
    requests: list[Request] = field(default_factory=list)


people_roles = st.fixed_dictionaries(
    {
        name: st.tuples(
            st.frozensets(st.sampled_from(list(GroupRole))),
            st.frozensets(st.sampled_from([GlobalRole.VERSION_MANAGER, GlobalRole.ADMIN])),
        )
        for name in PEOPLE
    }
)

Roles = dict[str, tuple[frozenset[GroupRole], frozenset[GlobalRole]]]


def actor(name: str, roles: Roles) -> Actor:
    group_roles, global_roles = roles[name]
    return Actor(name, global_roles, {"team": group_roles} if group_roles else {})


Move = tuple[
    str, Step, int | None, str | None, str
]  # who, step, request index, deliver to, comment


def moves(model: Model, roles: Roles) -> list[Move]:
    """Every move the rules allow right now (refused moves change nothing, so the
    walk over allowed moves reaches every state the rules let people reach)."""
    found: list[Move] = []
    for name in PEOPLE:
        who = actor(name, roles)
        for comment in ("", "looks right"):
            for index, request in enumerate(model.requests):
                for step in (Step.APPROVE, Step.REFUSE):
                    if decide_step(
                        who, step, model.version, request.facts, comment=comment, now=NOW
                    ).allowed:
                        found.append((name, step, index, None, comment))
            for step in (Step.UPLOAD, Step.REQUEST_CHECKIN, Step.REQUEST_CHECKOUT, Step.RETIRE):
                if decide_step(who, step, model.version, comment=comment, now=NOW).allowed:
                    if step is Step.REQUEST_CHECKIN and any(
                        r.facts.kind is Kind.CHECKIN and r.facts.state is RequestState.PENDING
                        for r in model.requests
                    ):
                        continue  # the server refuses a second pending check-in request
                    found.append((name, step, None, None, comment))
        if decide_step(who, Step.SUBMIT, model.version, now=NOW).allowed:
            for to in (None, *PEOPLE):
                found.append((name, Step.SUBMIT, None, to, ""))
    return found


def act(model: Model, move: Move) -> None:
    """Apply an allowed move to the model, as the server applies it to its rows."""
    name, step, index, to, _comment = move
    version = model.version
    if index is not None:
        request = model.requests[index]
        approved = step is Step.APPROVE
        request.facts = replace(
            request.facts, state=RequestState.APPROVED if approved else RequestState.REFUSED
        )
        request.decided_by = name
        model.version = replace(version, state=next_state(step, version.state, request.facts.kind))
        if request.facts.kind is Kind.ACCEPTANCE and approved:
            model.version = replace(model.version, accepted_by=name)
    elif step is Step.UPLOAD:
        model.version = replace(
            version, uploaders=version.uploaders | {name}, artifact_count=version.artifact_count + 1
        )
    elif step is Step.SUBMIT:
        model.requests.append(
            Request(RequestFacts(Kind.ACCEPTANCE, RequestState.PENDING, name, to))
        )
        model.version = replace(version, state=next_state(step, version.state))
    elif step is Step.REQUEST_CHECKIN:
        model.requests.append(Request(RequestFacts(Kind.CHECKIN, RequestState.PENDING, name)))
    elif step is Step.REQUEST_CHECKOUT:
        expires = NOW + timedelta(days=7)
        model.requests.append(
            Request(RequestFacts(Kind.CHECKOUT, RequestState.PENDING, name, expires_at=expires))
        )
    else:
        model.version = replace(version, state=next_state(step, version.state))


def check_four_eyes(
    model: Model, roles: dict[str, tuple[frozenset[GroupRole], frozenset[GlobalRole]]]
) -> None:
    if model.version.state not in IN_LIBRARY:
        return
    uploaders = model.version.uploaders
    passes = [
        r
        for r in model.requests
        if r.facts.kind is Kind.ACCEPTANCE and r.facts.state is RequestState.APPROVED
    ]
    assert passes, "in the library without an acceptance pass"
    officer = passes[-1].decided_by
    assert officer is not None and officer not in uploaders
    assert GroupRole.ACCEPTANCE_OFFICER in roles[officer][0]
    assert officer != passes[-1].facts.requester
    checkins = [
        r
        for r in model.requests
        if r.facts.kind is Kind.CHECKIN and r.facts.state is RequestState.APPROVED
    ]
    assert len(checkins) == 1, (
        "checked in without (or with more than one) approved check-in request"
    )
    approver = checkins[0].decided_by
    assert approver is not None and approver != checkins[0].facts.requester
    assert GlobalRole.VERSION_MANAGER in roles[approver][1]
    assert approver not in uploaders and approver != officer


@settings(max_examples=600, deadline=None)
@given(roles=people_roles, origin=st.sampled_from(list(Origin)), data=st.data())
def test_nothing_enters_the_library_without_four_eyes(
    roles: Roles, origin: Origin, data: st.DataObject
) -> None:
    model = Model(VersionFacts("team", "app", "1.0.0", origin, State.DRAFT))
    for _ in range(data.draw(st.integers(min_value=1, max_value=25), label="length")):
        options = moves(model, roles)
        if not options:
            break
        act(model, data.draw(st.sampled_from(options), label="move"))
        check_four_eyes(model, roles)


def test_the_model_can_reach_the_library() -> None:
    """The property above is not vacuous: the honest path gets a version checked in."""
    roles = {
        "ann": (frozenset({GroupRole.MEMBER}), frozenset()),
        "ben": (frozenset({GroupRole.SOFTWARE_MANAGER}), frozenset()),
        "cat": (frozenset({GroupRole.ACCEPTANCE_OFFICER}), frozenset()),
        "dan": (frozenset(), frozenset({GlobalRole.VERSION_MANAGER})),
    }
    model = Model(VersionFacts("team", "app", "1.0.0", Origin.IN_HOUSE, State.DRAFT))
    script: list[Move] = [
        ("ann", Step.UPLOAD, None, None, ""),
        ("ben", Step.SUBMIT, None, "cat", ""),
        ("cat", Step.APPROVE, 0, None, "looks right"),
        ("ben", Step.REQUEST_CHECKIN, None, None, ""),
        ("dan", Step.APPROVE, 1, None, "looks right"),
    ]
    for move in script:
        assert move in moves(model, roles)
        act(model, move)
    assert model.version.state is State.CHECKED_IN
    check_four_eyes(model, roles)
