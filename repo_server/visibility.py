"""Finding a group for a caller, or the same "not found" as if it did not exist.

Every group-scoped service starts here, so that a group the caller may not see and a
group that does not exist take the same path (one query) and give the same answer.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action, GroupRole, decide
from repo_server.auth.principal import Principal
from repo_server.errors import Forbidden, NotFound
from repo_server.groups.models import Group


def group_not_found(name: str) -> NotFound:
    """The one answer for a group that does not exist or may not be seen."""
    return NotFound(f"group {name!r} not found")


def visible_groups(principal: Principal) -> list[str] | None:
    """The names of the groups whose records ``principal`` sees; ``None`` means all of them
    (version managers and auditors: the whole library)."""
    actor = principal.actor
    if actor.sees_whole_library:
        return None
    return sorted(name for name in actor.group_roles if actor.roles_in(name))


#: Built once (every group-scoped request runs it; building costs more than running).
_GROUP_BY_NAME = sa.select(Group).where(Group.name == sa.bindparam("name"))


def resolve_group(
    session: Session,
    principal: Principal,
    name: str,
    action: Action,
    *,
    role: GroupRole | None = None,
) -> Group:
    """The group ``name`` if ``principal`` may do ``action`` in it.

    Raises :class:`NotFound` when it does not exist or the caller may not see it, and
    :class:`Forbidden` (with the rule) when they see it but may not act.
    """
    decision = decide(principal.actor, action, name, role=role)
    group = session.scalar(_GROUP_BY_NAME, {"name": name})
    if group is None or decision.hidden:
        raise group_not_found(name)
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    return group
