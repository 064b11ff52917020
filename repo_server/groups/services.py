"""Project groups, their storage areas and their members.

Called by the API (``/api/v1/groups``) and by ``depot-server group ...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action, GroupRole, decide
from policies.decisions import with_article
from policies.names import validate_group_name, validate_user_name
from repo_server.audit.services import AuditLog
from repo_server.auth.models import User
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Conflict, Forbidden, InvalidRequest, NotFound
from repo_server.groups.models import Group, Membership
from repo_server.paging import EVERYTHING, Page, PageRequest, fetch
from repo_server.visibility import resolve_group, visible_groups
from storage import BlobStore


@dataclass(frozen=True)
class GroupInfo:
    """A project group as the API shows it; ``my_roles`` are the caller's roles in it."""

    name: str
    display_name: str
    description: str
    storage_area: str
    created_at: datetime
    created_by: str
    my_roles: tuple[str, ...]
    member_count: int
    require_personal_checkin: bool = False
    review_new_products: bool = True


@dataclass(frozen=True)
class MemberInfo:
    """One person in a group with all their roles there."""

    username: str
    display_name: str
    roles: tuple[str, ...]


def _parse_role(role: str) -> GroupRole:
    try:
        return GroupRole(role)
    except ValueError:
        raise InvalidRequest(
            f"unknown group role {role!r}; use {', '.join(r.value for r in GroupRole)}",
            field="role",
        ) from None


class GroupService:
    """Project groups of one server."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock, store: BlobStore) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.store = store

    def _info(self, session: Session, principal: Principal, group: Group) -> GroupInfo:
        count = session.scalar(
            sa.select(sa.func.count(sa.distinct(Membership.user_id))).where(
                Membership.group_id == group.id
            )
        )
        return GroupInfo(
            group.name,
            group.display_name,
            group.description,
            group.storage_area,
            group.created_at,
            group.created_by,
            tuple(sorted(principal.actor.roles_in(group.name))),
            int(count or 0),
            group.require_personal_checkin,
            group.review_new_products,
        )

    def create(
        self, principal: Principal, name: str, display_name: str = "", description: str = ""
    ) -> GroupInfo:
        """Create a group and allocate its storage area (the version manager, or an admin).

        A refusal is audited; the version manager then names the group's software manager
        (:meth:`add_member` with the role ``software_manager``).
        """
        name = validate_group_name(name)
        decision = decide(principal.actor, Action.CREATE_GROUP)
        if not decision.allowed:
            self.audit.record_refusal(
                principal,
                "group.create",
                group=name,
                target=name,
                rule=decision.rule,
                reason=decision.reason,
            )
            raise Forbidden(decision.reason, rule=decision.rule)
        exists = f"group {name!r} already exists"
        with self.db.write(conflict=exists) as session:
            if session.scalar(sa.select(Group.id).where(Group.name == name)) is not None:
                raise Conflict(exists)
            group = Group(
                name=name,
                display_name=display_name[:200] or name,
                description=description,
                storage_area=name,
                created_at=self.clock.now(),
                created_by=principal.username,
            )
            session.add(group)
            session.flush()
            self.audit.record(
                session,
                principal,
                "group.create",
                group=name,
                target=name,
                role=_acting_role(decision.rule),
                details={"storage_area": f"{self.store.description.rstrip('/')}/areas/{name}/"},
            )
            return self._info(session, principal, group)

    def update(
        self,
        principal: Principal,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        require_personal_checkin: bool | None = None,
        review_new_products: bool | None = None,
    ) -> GroupInfo:
        """Change a group's display name, description, signature rule or review of new
        products (the version manager, or an admin)."""
        decision = decide(principal.actor, Action.CREATE_GROUP)
        if not decision.allowed:
            raise Forbidden(decision.reason, rule=decision.rule)
        with self.db.write() as session:
            group = session.scalar(sa.select(Group).where(Group.name == name))
            if group is None:
                raise NotFound(f"group {name!r} not found")
            changes: dict[str, Any] = {}
            if display_name is not None and display_name != group.display_name:
                group.display_name = changes["display_name"] = display_name[:200]
            if description is not None and description != group.description:
                group.description = changes["description"] = description
            if (
                require_personal_checkin is not None
                and require_personal_checkin != group.require_personal_checkin
            ):
                group.require_personal_checkin = require_personal_checkin
                changes["require_personal_checkin"] = require_personal_checkin
            if review_new_products is not None and review_new_products != group.review_new_products:
                group.review_new_products = review_new_products
                changes["review_new_products"] = review_new_products
            if changes:
                self.audit.record(
                    session, principal, "group.update", group=name, target=name, details=changes
                )
            return self._info(session, principal, group)

    def list_groups(
        self, principal: Principal, *, all_groups: bool = False, page: PageRequest = EVERYTHING
    ) -> Page[GroupInfo]:
        """The caller's groups by name; with ``all_groups``, every group (admin only)."""
        with self.db.read() as session:
            query = sa.select(Group)
            if all_groups:
                decision = decide(principal.actor, Action.LIST_ALL_GROUPS)
                if not decision.allowed:
                    raise Forbidden(decision.reason, rule=decision.rule)
            else:
                names = visible_groups(principal)
                if names is not None:
                    query = query.where(Group.name.in_(names))
            rows = fetch(
                session,
                query,
                (Group.name,),
                page,
                scope=f"groups:{'all' if all_groups else 'mine'}",
                key=lambda group: (group.name,),
                scalars=True,
            )
            return rows.map(lambda group: self._info(session, principal, group))

    def get(self, principal: Principal, name: str) -> GroupInfo:
        """One of the caller's groups (else "not found")."""
        with self.db.read() as session:
            group = resolve_group(session, principal, name, Action.BROWSE)
            return self._info(session, principal, group)

    def members(
        self, principal: Principal, name: str, page: PageRequest = EVERYTHING
    ) -> Page[MemberInfo]:
        """A page of the members of a group by user name, each with all their roles in it
        (for its members and for admins)."""
        actor = principal.actor
        sees = bool(actor.roles_in(name)) or actor.sees_whole_library
        action = Action.BROWSE if sees else Action.MANAGE_MEMBERS
        with self.db.read() as session:
            group = resolve_group(session, principal, name, action)
            # One row per person (the page's unit), read by ``users.username``'s unique
            # index; their roles come after, for that page's people only.
            people = fetch(
                session,
                sa.select(User).where(
                    sa.exists().where(
                        Membership.group_id == group.id, Membership.user_id == User.id
                    )
                ),
                (User.username,),
                page,
                scope=f"members:{name}",
                key=lambda user: (user.username,),
                scalars=True,
            )
            roles: dict[int, list[str]] = {}
            for user_id, role in session.execute(
                sa.select(Membership.user_id, Membership.role)
                .where(
                    Membership.group_id == group.id,
                    Membership.user_id.in_([row.id for row in people.items]),
                )
                .order_by(Membership.role)
            ):
                roles.setdefault(user_id, []).append(role)
            return people.map(
                lambda row: MemberInfo(row.username, row.display_name, tuple(roles[row.id]))
            )

    def add_member(self, principal: Principal, name: str, username: str, role: str) -> MemberInfo:
        """Give ``username`` ``role`` in the group (admin, or its software manager).

        Granting a role the person already holds is a conflict (409), whether the earlier
        grant was long ago or a request racing this one. Returns the person's roles in the
        group afterwards.
        """
        group_role = _parse_role(role)
        username = validate_user_name(username.strip().lower())
        target = f"{name}:user:{username}"
        self._may_manage(principal, name, group_role, "group.member.add", target)
        held = f"{username!r} already holds the role {group_role.value} in {name!r}"
        with self.db.write(conflict=held) as session:
            group = resolve_group(session, principal, name, Action.MANAGE_MEMBERS, role=group_role)
            user = session.scalar(sa.select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"user {username!r} not found")
            roles = set(
                session.scalars(
                    sa.select(Membership.role).where(
                        Membership.group_id == group.id, Membership.user_id == user.id
                    )
                )
            )
            if group_role.value in roles:
                raise Conflict(held)
            session.add(
                Membership(
                    group_id=group.id,
                    user_id=user.id,
                    role=group_role.value,
                    added_by=principal.username,
                    added_at=self.clock.now(),
                )
            )
            roles.add(group_role.value)
            self.audit.record(
                session,
                principal,
                "group.member.add",
                group=name,
                target=target,
                role=self._manager_role(principal, name, group_role),
                details={"role": group_role.value},
            )
            return MemberInfo(user.username, user.display_name, tuple(sorted(roles)))

    def remove_member(self, principal: Principal, name: str, username: str, role: str) -> None:
        """Take ``role`` in the group away from ``username``."""
        group_role = _parse_role(role)
        target = f"{name}:user:{username}"
        self._may_manage(principal, name, group_role, "group.member.remove", target)
        with self.db.write() as session:
            group = resolve_group(session, principal, name, Action.MANAGE_MEMBERS, role=group_role)
            user = session.scalar(sa.select(User).where(User.username == username))
            membership = None
            if user is not None:
                membership = session.scalar(
                    sa.select(Membership).where(
                        Membership.group_id == group.id,
                        Membership.user_id == user.id,
                        Membership.role == group_role.value,
                    )
                )
            if membership is None:
                held = with_article(group_role.value.replace("_", " "))
                raise NotFound(f"{username!r} is not {held} of {name}")
            session.delete(membership)
            self.audit.record(
                session,
                principal,
                "group.member.remove",
                group=name,
                target=target,
                role=self._manager_role(principal, name, group_role),
                details={"role": group_role.value},
            )

    def _may_manage(
        self, principal: Principal, name: str, role: GroupRole, action: str, target: str
    ) -> None:
        """Refuse (audited, naming the rule) a membership change the rules do not allow to
        someone who sees the group; a group they cannot see stays "not found"."""
        with self.db.read() as session:
            try:
                resolve_group(session, principal, name, Action.MANAGE_MEMBERS, role=role)
                return
            except Forbidden as error:
                refused = error
        self.audit.record_refusal(
            principal, action, group=name, target=target, rule=refused.rule, reason=refused.message
        )
        raise refused

    @staticmethod
    def _manager_role(principal: Principal, name: str, role: GroupRole) -> str:
        """The role in which ``principal`` changes ``role`` of group ``name``."""
        return _acting_role(decide(principal.actor, Action.MANAGE_MEMBERS, name, role=role).rule)


def _acting_role(rule: str) -> str:
    """The role a rule that allowed a group change names (for the audit trail)."""
    return {
        "groups.version_manager": "version_manager",
        "members.version_manager": "version_manager",
        "members.software_manager": "software_manager",
    }.get(rule, "admin")
