"""Who may do what in which group."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.access import GROUP_ACTIONS, Action, Actor, GlobalRole, GroupRole, TokenScope, decide
from policies.decisions import Decision

MEMBER = Actor("bob", group_roles={"team": frozenset({GroupRole.MEMBER})})
MANAGER = Actor(
    "alice", group_roles={"team": frozenset({GroupRole.MEMBER, GroupRole.SOFTWARE_MANAGER})}
)
ADMIN = Actor("root", global_roles=frozenset({GlobalRole.ADMIN}))
AUDITOR = Actor("ivy", global_roles=frozenset({GlobalRole.AUDITOR}))
OUTSIDER = Actor("dave", group_roles={"other": frozenset({GroupRole.MEMBER})})


def ci(scope: TokenScope, group: str = "team") -> Actor:
    return Actor(
        MANAGER.username, group_roles=MANAGER.group_roles, token_group=group, token_scope=scope
    )


@pytest.mark.parametrize(
    "action",
    sorted(GROUP_ACTIONS - {Action.MANAGE_MEMBERS, Action.CREATE_TOKEN, Action.MANAGE_TOKENS}),
)
def test_members_act_in_their_group(action: Action) -> None:
    assert decide(MEMBER, action, "team").allowed


@pytest.mark.parametrize("action", sorted(GROUP_ACTIONS))
def test_outsiders_cannot_even_see(action: Action) -> None:
    decision = decide(OUTSIDER, action, "team")
    assert not decision.allowed and decision.hidden and decision.rule == "group.visibility"


def test_member_management() -> None:
    assert decide(MANAGER, Action.MANAGE_MEMBERS, "team", role=GroupRole.MEMBER).allowed
    assert decide(MANAGER, Action.MANAGE_MEMBERS, "team", role=GroupRole.ACCEPTANCE_OFFICER).allowed
    refused = decide(MANAGER, Action.MANAGE_MEMBERS, "team", role=GroupRole.SOFTWARE_MANAGER)
    assert (
        not refused.allowed
        and not refused.hidden
        and refused.rule == "members.grant_software_manager"
        and "version manager" in refused.reason
    )
    assert decide(MEMBER, Action.MANAGE_MEMBERS, "team").rule == "members.software_manager"
    assert decide(ADMIN, Action.MANAGE_MEMBERS, "team", role=GroupRole.SOFTWARE_MANAGER).allowed
    assert decide(ADMIN, Action.BROWSE, "team").hidden


def test_version_managers_and_auditors_browse_every_group_but_read_no_bytes() -> None:
    vm = Actor("vic", global_roles=frozenset({GlobalRole.VERSION_MANAGER}))
    for actor in (vm, AUDITOR):
        assert decide(actor, Action.BROWSE, "team").rule == "library.browse"
        # They see the group: a refusal there names its rule, it is never "not found".
        for action in (Action.READ, Action.UPLOAD):
            refused = decide(actor, action, "team")
            assert not refused.allowed and not refused.hidden and refused.rule == "group.member"
        members = decide(actor, Action.MANAGE_MEMBERS, "team", role=GroupRole.MEMBER)
        assert not members.hidden and members.rule == "members.software_manager"
    team = {"team": frozenset({GroupRole.MEMBER})}
    through_token = Actor("vic", vm.global_roles, team, "team", TokenScope.READ)
    assert decide(through_token, Action.BROWSE, "other").hidden


def test_group_tokens() -> None:
    assert decide(ci(TokenScope.UPLOAD), Action.UPLOAD, "team").allowed
    assert decide(ci(TokenScope.UPLOAD), Action.CREATE_VERSION, "team").allowed
    assert decide(ci(TokenScope.READ), Action.READ, "team").allowed
    for action in (Action.UPLOAD, Action.CREATE_VERSION):
        assert decide(ci(TokenScope.READ), action, "team").rule == "token.scope"
    for action in (Action.REGISTER_PRODUCT, Action.MANAGE_MEMBERS, Action.CREATE_TOKEN):
        decision = decide(ci(TokenScope.UPLOAD), action, "team")
        assert not decision.allowed and decision.rule == "token.scope"
    assert decide(ci(TokenScope.UPLOAD, group="second"), Action.BROWSE, "team").hidden
    admin_ci = Actor(
        "root", global_roles=ADMIN.global_roles, token_group="team", token_scope=TokenScope.READ
    )
    assert decide(admin_ci, Action.CREATE_GROUP).rule == "token.scope"
    assert decide(admin_ci, Action.MANAGE_MEMBERS, "team").hidden


def test_the_version_manager_allocates_areas_and_names_their_software_managers() -> None:
    vm = Actor("vic", global_roles=frozenset({GlobalRole.VERSION_MANAGER}))
    assert decide(vm, Action.CREATE_GROUP).rule == "groups.version_manager"
    assert decide(vm, Action.CREATE_GROUP).allowed
    named = decide(vm, Action.MANAGE_MEMBERS, "team", role=GroupRole.SOFTWARE_MANAGER)
    assert named.allowed and named.rule == "members.version_manager"
    assert not decide(vm, Action.MANAGE_USERS).allowed
    vm_token = Actor("vic", vm.global_roles, {"team": frozenset({GroupRole.MEMBER})}, "team",
                     TokenScope.UPLOAD)  # fmt: skip
    assert decide(
        vm_token, Action.MANAGE_MEMBERS, "team", role=GroupRole.SOFTWARE_MANAGER
    ).rule == ("token.scope")


def test_global_actions() -> None:
    for action in (Action.CREATE_GROUP, Action.MANAGE_USERS, Action.LIST_ALL_GROUPS):
        assert decide(ADMIN, action).allowed
    assert decide(MEMBER, Action.CREATE_GROUP) == Decision.refuse(
        "groups.version_manager", "only a version manager or an admin creates project groups"
    )
    for action in (Action.MANAGE_USERS, Action.LIST_ALL_GROUPS):
        assert decide(MEMBER, action) == Decision.refuse(
            "role.admin", f"only an admin may {action.replace('_', ' ')}"
        )
    assert decide(AUDITOR, Action.READ_AUDIT).allowed
    assert decide(ADMIN, Action.READ_AUDIT).allowed
    assert not decide(MEMBER, Action.READ_AUDIT).allowed
    with pytest.raises(ValueError):
        decide(MEMBER, Action.UPLOAD)


@given(
    roles=st.dictionaries(
        st.sampled_from(["team", "other", "third"]),
        st.frozensets(st.sampled_from(list(GroupRole)), min_size=1),
    ),
    global_roles=st.frozensets(st.sampled_from(list(GlobalRole))),
    token=st.one_of(
        st.none(), st.tuples(st.sampled_from(["team", "other"]), st.sampled_from(list(TokenScope)))
    ),
    action=st.sampled_from(sorted(GROUP_ACTIONS)),
    group=st.sampled_from(["team", "other", "third", "fourth"]),
)
def test_nobody_acts_in_a_group_they_do_not_belong_to(
    roles, global_roles, token, action, group
) -> None:
    actor = Actor(
        "x",
        frozenset(global_roles),
        roles,
        token[0] if token else None,
        token[1] if token else None,
    )
    decision = decide(actor, action, group)
    reachable = group in roles and (token is None or token[0] == group)
    keeper = global_roles & {
        GlobalRole.VERSION_MANAGER,
        GlobalRole.AUDITOR,
        GlobalRole.QUALITY_MANAGER,
    }
    if action is Action.BROWSE and token is None and keeper:
        assert decision.allowed  # the library's keepers see every group's records
        return
    if decision.allowed and not (
        action in (Action.MANAGE_MEMBERS, Action.MANAGE_TOKENS)
        and GlobalRole.ADMIN in global_roles
        and token is None
    ):
        assert reachable
    if not reachable and not (
        action in (Action.MANAGE_MEMBERS, Action.MANAGE_TOKENS)
        and GlobalRole.ADMIN in global_roles
        and token is None
    ):
        # Keepers of the library see the group: they are refused by name, not hidden.
        assert decision.hidden == (not (keeper and token is None))


def test_personal_keys_are_registered_by_people_not_by_group_tokens() -> None:
    person = Actor("alice")
    assert decide(person, Action.REGISTER_KEY).allowed
    anonymous = decide(Actor("-"), Action.REGISTER_KEY)
    assert not anonymous.allowed and anonymous.rule == "key.person"
    token = Actor("alice", token_group="team", token_scope=TokenScope.UPLOAD)
    refused = decide(token, Action.REGISTER_KEY)
    assert not refused.allowed and refused.rule == "token.scope"


def test_a_quality_manager_sees_every_group_but_reads_no_files() -> None:
    quinn = Actor("quinn", frozenset({GlobalRole.QUALITY_MANAGER}))
    seen = decide(quinn, Action.BROWSE, "team")
    assert seen.allowed and "quality managers" in seen.reason
    read = decide(quinn, Action.READ, "team")
    assert not read.allowed and not read.hidden and read.rule == "group.member"
    assert not decide(quinn, Action.UPLOAD, "team").allowed
