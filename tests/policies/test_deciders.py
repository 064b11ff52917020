"""What narrows an inbox (policies.lifecycle.deciders): every request the rules let a person
decide passes it, so the server may read only those that pass."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product

from policies.access import Actor, GlobalRole, GroupRole, TokenScope
from policies.lifecycle import (
    Kind,
    RequestFacts,
    RequestState,
    State,
    Step,
    VersionFacts,
    decide_step,
)
from policies.lifecycle.deciders import Deciding, deciding
from policies.versions import Origin

PEOPLE = ["ann", "ben", "cat"]
GROUPS = ["team", "other"]


def passes(scope: Deciding, group: str, version: VersionFacts, request: RequestFacts) -> bool:
    """The conditions the server turns into SQL, as Python."""
    kind = request.kind
    if request.state is not RequestState.PENDING or request.requester == scope.username:
        return False
    if kind not in scope.everywhere and group not in scope.in_groups.get(kind, frozenset()):
        return False
    if kind in scope.version_state and version.state is not scope.version_state[kind]:
        return False
    return kind not in scope.assigned or request.assigned_to in (None, "", scope.username)


G = GroupRole
VM = GlobalRole.VERSION_MANAGER
#: People with every role that decides something, alone and together, as a stand-in (in
#: and outside her period) and through a group token.
ACTORS = [
    Actor("ann"),
    Actor("ann", frozenset({VM})),
    Actor("ann", frozenset({GlobalRole.AUDITOR, GlobalRole.ADMIN})),
    Actor("ann", group_roles={"team": frozenset({G.ACCEPTANCE_OFFICER})}),
    Actor("ann", group_roles={"other": frozenset({G.ACCEPTANCE_OFFICER, G.MEMBER})}),
    Actor("ann", frozenset({VM}), {"team": frozenset(G)}),
    Actor("ann", group_roles={"team": frozenset({G.SOFTWARE_MANAGER, G.MEMBER})}),
    Actor("ann", standing_in={VM: "ben"}),
    Actor("ann", standing_in={VM: "cat"}, group_roles={"team": frozenset({G.MEMBER})}),
    Actor("ann", stand_in_outside={VM: "not yet"}),
    Actor("ann", frozenset({VM}), standing_in={VM: "ben"}),
    Actor(
        "ann",
        frozenset({VM}),
        {"team": frozenset(G)},
        token_group="team",
        token_scope=TokenScope.UPLOAD,
    ),
    Actor("ann", group_roles={"team": frozenset(G)}, token_group="other"),
]


def cases() -> Iterator[tuple[Actor, VersionFacts, RequestFacts]]:
    for actor, group, state, uploaders, accepted_by in product(
        ACTORS, GROUPS, State, ({"ben"}, {"ann"}), (None, "ann", "ben")
    ):
        version = VersionFacts(
            group, "app", "2.0.0", Origin.IN_HOUSE, state, frozenset(uploaders), 1, ("1.0.0",),
            accepted_by,
        )  # fmt: skip
        for kind, request_state, requester, assigned_to in product(
            Kind, RequestState, PEOPLE, (None, "", "ann", "ben")
        ):
            yield actor, version, RequestFacts(kind, request_state, requester, assigned_to)


def test_every_request_a_person_may_decide_passes_what_narrows_her_inbox() -> None:
    decided = 0
    for actor, version, request in cases():
        decisions = [
            decide_step(actor, step, version, request, comment="-")
            for step in (Step.APPROVE, Step.REFUSE)
        ]
        if any(d.allowed for d in decisions):
            decided += 1
            assert passes(deciding(actor), version.group, version, request), (
                actor,
                version,
                request,
                decisions,
            )
    assert decided > 100  # the cases reach every kind of decision, not only refusals


def test_roles_name_the_kinds_and_groups_a_person_decides() -> None:
    vm = deciding(Actor("vic", frozenset({GlobalRole.VERSION_MANAGER})))
    assert vm.everywhere == {Kind.UPGRADE, Kind.CHECKIN, Kind.CHECKOUT, Kind.REGISTER}
    assert vm.in_groups == {}
    officer = deciding(
        Actor(
            "olga",
            group_roles={
                "team": frozenset({GroupRole.ACCEPTANCE_OFFICER}),
                "other": frozenset({GroupRole.MEMBER}),
            },
        )
    )
    assert (officer.everywhere, officer.in_groups) == (
        frozenset(),
        {Kind.ACCEPTANCE: frozenset({"team"})},
    )
    stand_in = deciding(Actor("sue", standing_in={GlobalRole.VERSION_MANAGER: "vic"}))
    assert stand_in.everywhere == vm.everywhere
    token = Actor(
        "vic",
        frozenset({GlobalRole.VERSION_MANAGER}),
        {"team": frozenset({GroupRole.ACCEPTANCE_OFFICER})},
        token_group="team",
        token_scope=TokenScope.UPLOAD,
    )
    assert deciding(token).nothing
    assert deciding(Actor("mia", group_roles={"team": frozenset({GroupRole.MEMBER})})).nothing
