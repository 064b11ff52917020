"""Group CI tokens: made by the group's software manager, listed and revoked by it and
by admins, living no longer than the server's maximum."""

from __future__ import annotations

import pytest

from policies.access import Action, Actor, GroupRole, TokenScope, decide
from policies.tokens import group_token_lifetime
from tests.policies.test_access import ADMIN, MANAGER, MEMBER, OUTSIDER


def test_only_the_software_manager_creates_a_group_token() -> None:
    assert decide(MANAGER, Action.CREATE_TOKEN, "team").rule == "token.software_manager"
    assert decide(MANAGER, Action.CREATE_TOKEN, "team").allowed
    refused = decide(MEMBER, Action.CREATE_TOKEN, "team")
    assert not refused.allowed and not refused.hidden
    assert refused.rule == "token.software_manager"
    assert decide(OUTSIDER, Action.CREATE_TOKEN, "team").hidden
    # An admin outside the group does not make its CI identities either.
    assert decide(ADMIN, Action.CREATE_TOKEN, "team").hidden


def test_admins_and_software_managers_manage_every_token_of_a_group() -> None:
    assert decide(ADMIN, Action.MANAGE_TOKENS, "team").rule == "tokens.admin"
    assert decide(MANAGER, Action.MANAGE_TOKENS, "team").rule == "tokens.software_manager"
    refused = decide(MEMBER, Action.MANAGE_TOKENS, "team")
    assert not refused.allowed and refused.rule == "tokens.software_manager"
    assert decide(OUTSIDER, Action.MANAGE_TOKENS, "team").hidden


@pytest.mark.parametrize("action", [Action.CREATE_TOKEN, Action.MANAGE_TOKENS])
def test_a_ci_token_manages_no_tokens(action: Action) -> None:
    robot = Actor(
        "ci:team:1",
        group_roles={"team": frozenset({GroupRole.MEMBER})},
        token_group="team",
        token_scope=TokenScope.UPLOAD,
    )
    assert decide(robot, action, "team").rule == "token.scope"


@pytest.mark.parametrize(("days", "allowed"), [(0, False), (1, True), (90, True), (91, False)])
def test_lifetime_is_capped(days: int, allowed: bool) -> None:
    decision = group_token_lifetime(days, 90)
    assert decision.allowed is allowed and decision.rule == "token.lifetime"
