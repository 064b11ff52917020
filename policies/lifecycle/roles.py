"""Whether an actor holds the role a step needs, and the refusal that names it."""

from __future__ import annotations

from policies.access import Actor, GlobalRole, GroupRole
from policies.decisions import Decision, with_article


def role_name(role: GroupRole | GlobalRole) -> str:
    """``an acceptance officer``: the role as people read it."""
    return with_article(role.value.replace("_", " "))


def holds_role(actor: Actor, role: GroupRole | GlobalRole, group: str) -> bool:
    """Whether ``actor`` holds ``role`` (in ``group``, for a group role); a group token holds
    no global role."""
    if isinstance(role, GlobalRole):
        return role in actor.global_roles and not actor.is_group_token
    return role in actor.roles_in(group)


def need_role(
    actor: Actor, role: GroupRole | GlobalRole, group: str, doing: str
) -> Decision | None:
    """``None`` when ``actor`` holds ``role``, else the refusal that names it (``role.<role>``,
    or ``token.scope`` for a group token) for ``doing``."""
    if actor.is_group_token and role is not GroupRole.MEMBER:
        return Decision.refuse("token.scope", f"a group token cannot {doing}")
    if holds_role(actor, role, group):
        return None
    where = "" if isinstance(role, GlobalRole) else f" of {group}"
    return Decision.refuse(f"role.{role.value}", f"only {role_name(role)}{where} may {doing}")
