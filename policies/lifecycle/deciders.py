"""Which pending requests a person could decide at all: what narrows an inbox before the
rules weigh each request.

The server turns a :class:`Deciding` into SQL conditions so that an inbox does not read the
facts of every pending request to find the few that wait for its reader; each request
that passes is then decided by :func:`policies.lifecycle.decide_step` as before. So every
request an actor may approve or refuse passes these conditions (tests/policies checks
this against the rules), while some that pass are still refused by them (four eyes on
uploads and acceptances, a check-in's library versions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from policies.access import Actor, GlobalRole
from policies.lifecycle.roles import holds_role
from policies.lifecycle.states import ABOUT_PRODUCT, DECIDED_IN, DECIDER, Kind, State
from policies.lifecycle.steps import acting_for


@dataclass(frozen=True)
class Deciding:
    """What a request must be for ``username`` to decide it (approve or refuse): pending,
    not filed by her, of a kind her roles decide (in ``everywhere``: every group she sees;
    in ``in_groups``: those groups only), about a version in ``version_state[kind]`` (kinds
    about a product have none), and for the kinds in ``assigned``, delivered to nobody in
    particular or to her."""

    username: str
    everywhere: frozenset[Kind] = frozenset()
    in_groups: Mapping[Kind, frozenset[str]] = field(default_factory=dict)
    version_state: Mapping[Kind, State] = field(default_factory=dict)
    assigned: frozenset[Kind] = frozenset()

    @property
    def nothing(self) -> bool:
        """True when no request can be hers to decide (no deciding role anywhere)."""
        return not self.everywhere and not any(self.in_groups.values())


def deciding(actor: Actor) -> Deciding:
    """The conditions every request ``actor`` may decide meets (see :class:`Deciding`)."""
    everywhere: set[Kind] = set()
    in_groups: dict[Kind, frozenset[str]] = {}
    for kind, role in DECIDER.items():
        if isinstance(role, GlobalRole):
            if acting_for(actor, role) is not None or holds_role(actor, role, ""):
                everywhere.add(kind)
        elif not actor.is_group_token:
            groups = frozenset(g for g in actor.group_roles if holds_role(actor, role, g))
            if groups:
                in_groups[kind] = groups
    return Deciding(
        username=actor.username,
        everywhere=frozenset(everywhere),
        in_groups=in_groups,
        version_state={k: s for k, s in DECIDED_IN.items() if k not in ABOUT_PRODUCT},
        assigned=frozenset({Kind.ACCEPTANCE}),
    )
