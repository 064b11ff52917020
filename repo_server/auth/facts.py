"""People and tokens as services hand them out, and the role lookups both services share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import GlobalRole, GroupRole
from repo_server.auth.models import ApiToken, GlobalRoleGrant, User
from repo_server.groups.models import Group, Membership


@dataclass(frozen=True)
class UserInfo:
    """A person as the API shows them."""

    username: str
    display_name: str
    email: str
    source: str
    active: bool
    roles: tuple[str, ...]
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class TokenInfo:
    """An API token's record (never its secret)."""

    id: str
    kind: str
    name: str
    owner: str
    group: str | None
    scope: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    #: Where the token was last used from.
    last_used_addr: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: the secret form is in ``token`` and is never shown again."""

    token: str
    info: TokenInfo


def global_roles(session: Session, user_id: int) -> frozenset[GlobalRole]:
    """The global roles of a person."""
    rows = session.scalars(
        sa.select(GlobalRoleGrant.role).where(GlobalRoleGrant.user_id == user_id)
    )
    return frozenset(GlobalRole(role) for role in rows)


def group_roles(session: Session, user_id: int) -> dict[str, frozenset[GroupRole]]:
    """A person's roles in each of their groups, by group name."""
    rows = session.execute(
        sa.select(Group.name, Membership.role)
        .join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user_id)
    )
    roles: dict[str, set[GroupRole]] = {}
    for name, role in rows:
        roles.setdefault(name, set()).add(GroupRole(role))
    return {name: frozenset(found) for name, found in roles.items()}


def user_info(session: Session, user: User) -> UserInfo:
    """The facts of a person's row."""
    return UserInfo(
        user.username,
        user.display_name,
        user.email,
        user.source,
        user.active,
        tuple(sorted(global_roles(session, user.id))),
        user.created_at,
        user.last_login_at,
    )


def token_info(session: Session, row: ApiToken) -> TokenInfo:
    """The facts of a token's row (never its secret)."""
    owner = session.get(User, row.user_id)
    group = session.get(Group, row.group_id) if row.group_id is not None else None
    return TokenInfo(
        row.public_id,
        row.kind,
        row.name,
        owner.username if owner else "?",
        group.name if group else None,
        row.scope,
        row.created_at,
        row.expires_at,
        row.revoked_at,
        row.last_used_at,
        row.last_used_addr,
    )
