"""Who may do what in which project group.

The server turns the authenticated caller into an :class:`Actor` (plain facts: name,
global roles, roles per group, and the limits of the API token in use) and asks
:func:`decide`. Rules of the storage areas (article 8 of the rules): only a group's
members may upload to and read its area; nobody else may even see that it exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from policies.decisions import Decision, with_article


class GlobalRole(StrEnum):
    """Roles that hold across the whole library, granted by an admin."""

    ADMIN = "admin"
    VERSION_MANAGER = "version_manager"
    AUDITOR = "auditor"
    #: Decides how serious quality issues are handled and lifts quarantines (the rules'
    #: general manager, 总经理); sees the metadata of every group, as a version manager does.
    QUALITY_MANAGER = "quality_manager"


class GroupRole(StrEnum):
    """Roles a person holds within one project group."""

    MEMBER = "member"
    SOFTWARE_MANAGER = "software_manager"
    ACCEPTANCE_OFFICER = "acceptance_officer"


class TokenScope(StrEnum):
    """What a group-bound API token (for a CI pipeline) may do."""

    READ = "read"
    UPLOAD = "upload"


class Action(StrEnum):
    """Everything the access rules decide on."""

    BROWSE = "browse"  # see a group, its products, versions and file lists
    READ = "read"  # download file contents
    UPLOAD = "upload"  # add files to a version
    CREATE_VERSION = "create_version"
    REGISTER_PRODUCT = "register_product"
    MANAGE_MEMBERS = "manage_members"
    CREATE_TOKEN = "create_token"  # noqa: S105 - an action name, not a secret
    MANAGE_TOKENS = "manage_tokens"  # list and revoke every token of a group
    CREATE_GROUP = "create_group"
    LIST_ALL_GROUPS = "list_all_groups"
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"
    REGISTER_KEY = "register_key"  # a personal signing key: people only, for themselves


GROUP_ACTIONS = frozenset(
    {
        Action.BROWSE,
        Action.READ,
        Action.UPLOAD,
        Action.CREATE_VERSION,
        Action.REGISTER_PRODUCT,
        Action.MANAGE_MEMBERS,
        Action.CREATE_TOKEN,
        Action.MANAGE_TOKENS,
    }
)

#: Group actions an admin may take in a group they are not a member of.
_ADMIN_IN_ANY_GROUP = frozenset({Action.MANAGE_MEMBERS, Action.MANAGE_TOKENS})

_SCOPE_ALLOWS: Mapping[TokenScope, frozenset[Action]] = {
    TokenScope.READ: frozenset({Action.BROWSE, Action.READ}),
    TokenScope.UPLOAD: frozenset(
        {Action.BROWSE, Action.READ, Action.UPLOAD, Action.CREATE_VERSION}
    ),
}

#: Global roles whose holders see the metadata of every group (not file contents).
LIBRARY_WIDE = frozenset(
    {GlobalRole.VERSION_MANAGER, GlobalRole.AUDITOR, GlobalRole.QUALITY_MANAGER}
)

# Group roles a software manager may grant and revoke in their own group; the software
# manager role itself is given by the version manager (article 8: she allocates the storage
# areas and gives each group's software manager control of its area) or an admin.
_GRANTABLE_BY_SOFTWARE_MANAGER = frozenset({GroupRole.MEMBER, GroupRole.ACCEPTANCE_OFFICER})


@dataclass(frozen=True)
class Actor:
    """The caller of one request, as plain facts.

    ``token_group``/``token_scope`` are set when the call comes with a group-bound token
    (a CI pipeline's): the token then reaches that group only, within its scope, and
    never more than its owner could.
    """

    username: str
    global_roles: frozenset[GlobalRole] = frozenset()
    group_roles: Mapping[str, frozenset[GroupRole]] = field(default_factory=dict)
    token_group: str | None = None
    token_scope: TokenScope | None = None
    #: Global roles held as a stand-in right now, and for whom (policies/stand_ins.py):
    #: ``{version_manager: "victor"}`` — she decides in victor's place.
    standing_in: Mapping[GlobalRole, str] = field(default_factory=dict)
    #: Stand-in appointments whose period does not cover now: role → why not (a refusal
    #: names rule ``stand_in.period`` with it).
    stand_in_outside: Mapping[GlobalRole, str] = field(default_factory=dict)

    @property
    def is_group_token(self) -> bool:
        """True when the caller uses a group-bound (CI) token rather than a sign-in."""
        return self.token_scope is not None

    @property
    def sees_whole_library(self) -> bool:
        """Version, quality managers and auditors browse every group (not through a group token)."""
        roles = self.global_roles | frozenset(self.standing_in)
        return not self.is_group_token and bool(roles & LIBRARY_WIDE)

    def roles_in(self, group: str) -> frozenset[GroupRole]:
        """The caller's roles in ``group`` as far as the current token lets them act."""
        if self.token_group is not None and self.token_group != group:
            return frozenset()
        return self.group_roles.get(group, frozenset())


def decide(
    actor: Actor,
    action: Action,
    group: str | None = None,
    *,
    role: GroupRole | None = None,
) -> Decision:
    """Decide whether ``actor`` may do ``action`` (in ``group``; granting ``role``).

    Called by every server service before it acts. A refusal for a group the actor is
    not a member of is ``hidden``: the server must answer it as "not found".
    """
    if action in GROUP_ACTIONS:
        if group is None:
            raise ValueError(f"{action} needs a group")
        return _decide_in_group(actor, action, group, role)
    if actor.is_group_token:
        return Decision.refuse(
            "token.scope", f"a group token cannot be used to {action.replace('_', ' ')}"
        )
    if action is Action.REGISTER_KEY:
        if actor.username == "-":
            return Decision.refuse("key.person", "sign in to register a personal key")
        return Decision.allow("key.person")
    if action is Action.READ_AUDIT:
        if actor.global_roles & {GlobalRole.ADMIN, GlobalRole.AUDITOR}:
            return Decision.allow("audit.read")
        return Decision.refuse("audit.read", "only an auditor or an admin reads the audit trail")
    if action is Action.CREATE_GROUP and GlobalRole.VERSION_MANAGER in actor.global_roles:
        return Decision.allow(
            "groups.version_manager", "the version manager allocates the storage areas"
        )
    if GlobalRole.ADMIN in actor.global_roles:
        return Decision.allow("role.admin")
    if action is Action.CREATE_GROUP:
        return Decision.refuse(
            "groups.version_manager", "only a version manager or an admin creates project groups"
        )
    return Decision.refuse("role.admin", f"only an admin may {action.replace('_', ' ')}")


def _decide_in_group(actor: Actor, action: Action, group: str, role: GroupRole | None) -> Decision:
    roles = actor.roles_in(group)
    is_admin = GlobalRole.ADMIN in actor.global_roles and not actor.is_group_token
    if action is Action.BROWSE and not roles and actor.sees_whole_library:
        return Decision.allow(
            "library.browse",
            "version managers, quality managers and auditors see the whole library",
        )
    keeper = GlobalRole.VERSION_MANAGER in actor.global_roles and not actor.is_group_token
    if action is Action.MANAGE_MEMBERS and keeper and role is GroupRole.SOFTWARE_MANAGER:
        return Decision.allow(
            "members.version_manager", "the version manager names each group's software manager"
        )
    if not roles and not (is_admin and action in _ADMIN_IN_ANY_GROUP):
        if actor.sees_whole_library:
            # She sees the group exists: a refusal names its rule, it is no "not found".
            return _refuse_outsider(actor, action, group)
        return Decision.hide("group.visibility", f"{actor.username} is not a member of {group}")
    if actor.token_scope is not None and action not in _SCOPE_ALLOWS[actor.token_scope]:
        return Decision.refuse(
            "token.scope",
            f"{with_article(actor.token_scope)} token cannot {action.replace('_', ' ')}",
        )
    if action is Action.MANAGE_MEMBERS:
        if is_admin:
            return Decision.allow("members.admin")
        if GroupRole.SOFTWARE_MANAGER not in roles:
            return Decision.refuse(
                "members.software_manager",
                f"only a software manager of {group} or an admin manages its members",
            )
        if role is not None and role not in _GRANTABLE_BY_SOFTWARE_MANAGER:
            return Decision.refuse(
                "members.grant_software_manager",
                "only a version manager or an admin grants or revokes the software manager role",
            )
        return Decision.allow("members.software_manager")
    if action is Action.CREATE_TOKEN:
        # A group's CI identity belongs to the group: its software manager makes it.
        if GroupRole.SOFTWARE_MANAGER not in roles:
            return Decision.refuse(
                "token.software_manager",
                f"only a software manager of {group} creates its CI tokens",
            )
        return Decision.allow("token.software_manager")
    if action is Action.MANAGE_TOKENS:
        if is_admin:
            return Decision.allow("tokens.admin")
        if GroupRole.SOFTWARE_MANAGER not in roles:
            return Decision.refuse(
                "tokens.software_manager",
                f"only a software manager of {group} or an admin lists and revokes its tokens",
            )
        return Decision.allow("tokens.software_manager")
    return Decision.allow("group.member")


def _refuse_outsider(actor: Actor, action: Action, group: str) -> Decision:
    """The refusal for someone who sees every group's records but is not in ``group``."""
    if action is Action.MANAGE_MEMBERS:
        return Decision.refuse(
            "members.software_manager",
            f"the software manager of {group} controls its membership; a version manager "
            "names only the software manager",
        )
    return Decision.refuse(
        "group.member",
        f"{actor.username} sees the records of {group} but is not a member: only its members "
        f"may {action.replace('_', ' ')} there",
    )
