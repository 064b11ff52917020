"""Writing what the directory says: directory accounts and the grants it gives.

Used by :class:`repo_server.auth.ldap.sync.DirectorySync` inside its own write
transactions (this module never talks to the directory). The directory owns the
memberships and global roles it granted (rows with ``source = 'ldap'``) and nothing
else; every change is recorded in the audit trail in the transaction that makes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Actor
from repo_server.audit.services import AuditLog
from repo_server.auth.ldap.directory import DirectoryPerson
from repo_server.auth.ldap.mapping import Grants, GroupMapping
from repo_server.auth.models import GlobalRoleGrant, User
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.groups.models import Group, Membership

log = logging.getLogger("depot.ldap")

#: The actor of changes the directory makes at sign-in and on re-checks.
DIRECTORY_ACTOR = "directory"


def directory_principal(remote_addr: str) -> Principal:
    """The principal recorded for changes made because of what the directory says."""
    return Principal(None, DIRECTORY_ACTOR, Actor(DIRECTORY_ACTOR), remote_addr)


@dataclass(frozen=True)
class Change:
    """One grant the directory gave or took: a role in a project group, or a global role."""

    username: str
    kind: str  # "added" or "removed"
    role: str
    group: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"user": self.username, "change": self.kind, "group": self.group, "role": self.role}

    def __str__(self) -> str:
        where = f"{self.group} {self.role}" if self.group else f"global role {self.role}"
        return f"{self.username}: {'+' if self.kind == 'added' else '-'} {where}"


class GrantWriter:
    """Directory accounts and their directory grants in the database."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock, mapping: GroupMapping) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.mapping = mapping

    def missing_project_groups(self) -> list[str]:
        """Project groups the mapping names that do not exist in Depot."""
        wanted = self.mapping.project_groups
        if not wanted:
            return []
        with self.db.read() as session:
            present = set(session.scalars(sa.select(Group.name).where(Group.name.in_(wanted))))
        return sorted(wanted - present)

    def store(
        self,
        person: DirectoryPerson,
        groups: frozenset[str],
        principal: Principal,
        via: str,
    ) -> tuple[User | None, list[Change]]:
        """Create or update ``person``'s account and grants; ``(None, [])`` when a local
        account with a password already has the name (it is never taken over)."""
        grants = self.mapping.grants_for(groups)
        for attempt in (1, 2):
            try:
                with self.db.write() as session:
                    user = session.scalar(sa.select(User).where(User.username == person.username))
                    if user is not None and user.source != "ldap" and user.password_hash:
                        return None, []
                    if user is None:
                        user = User(
                            username=person.username,
                            display_name=person.display_name[:200],
                            email=person.email[:320],
                            password_hash=None,
                            source="ldap",
                            dn=person.dn[:1024],
                            active=True,
                            created_at=self.clock.now(),
                        )
                        session.add(user)
                        session.flush()
                        self.audit.record(
                            session,
                            principal,
                            "user.create",
                            target=f"user:{user.username}",
                            details={"source": "ldap", "dn": person.dn, "via": via},
                        )
                    else:
                        self.update_person(session, user, person, principal)
                    user.directory_checked_at = self.clock.now()
                    changes = self.apply(session, user, grants, principal, via)
                    return user, changes
            except sa.exc.IntegrityError:
                # Two first sign-ins of one person at the same moment: the second retries.
                if attempt == 2:
                    raise
        return None, []  # pragma: no cover - the loop returns or raises

    def update_person(
        self, session: Session, user: User, person: DirectoryPerson, principal: Principal
    ) -> None:
        """Copy ``person``'s entry onto ``user`` (source, DN, names); audit any change."""
        changed = []
        if user.source != "ldap":
            user.source = "ldap"
            changed.append("source")
        if (user.dn or "") != person.dn:
            user.dn = person.dn[:1024]
            changed.append("dn")
        for attribute, value in (
            ("display_name", person.display_name[:200]),
            ("email", person.email[:320]),
        ):
            if value and getattr(user, attribute) != value:
                setattr(user, attribute, value)
                changed.append(attribute)
        if user.directory_gone_at is not None:
            user.directory_gone_at = None
            changed.append("directory_gone_at")
        if changed:
            self.audit.record(
                session,
                principal,
                "user.update",
                target=f"user:{user.username}",
                details={"changed": changed, "source": "ldap", "dn": person.dn},
            )

    def gone(self, session: Session, user: User, principal: Principal, via: str) -> list[Change]:
        """Take every directory grant from ``user`` and mark them gone (tokens refused)."""
        changes = self.apply(session, user, Grants(), principal, via)
        if user.directory_gone_at is None:
            user.directory_gone_at = self.clock.now()
            self.audit.record(
                session,
                principal,
                "user.directory_gone",
                target=f"user:{user.username}",
                reason="not found in the directory, or disabled there",
                details={"dn": user.dn or "", "via": via},
            )
        return changes

    def apply(
        self, session: Session, user: User, grants: Grants, principal: Principal, via: str
    ) -> list[Change]:
        """Make ``user``'s directory grants exactly ``grants``; audit every change."""
        changes: list[Change] = []
        wanted_groups = {group for group, _ in grants.memberships}
        group_ids: dict[str, int] = dict(
            session.execute(
                sa.select(Group.name, Group.id).where(Group.name.in_(wanted_groups))
            ).all()
        )
        for name in sorted(wanted_groups - set(group_ids)):
            log.warning(
                "the mapping gives %s a role in %r, which does not exist", user.username, name
            )
        held = session.execute(
            sa.select(Membership, Group.name)
            .join(Group, Group.id == Membership.group_id)
            .where(Membership.user_id == user.id)
        )
        by_directory: dict[tuple[str, str], Membership] = {}
        by_hand: set[tuple[str, str]] = set()
        for membership, group_name in held:
            key = (group_name, membership.role)
            if membership.source == "ldap":
                by_directory[key] = membership
            else:
                by_hand.add(key)
        wanted = {(group, role.value) for group, role in grants.memberships if group in group_ids}
        for key in sorted(set(by_directory) - wanted):
            group_name, role = key
            session.delete(by_directory[key])
            changes.append(Change(user.username, "removed", role, group_name))
            self.audit.record(
                session,
                principal,
                "group.member.remove",
                group=group_name,
                target=f"{group_name}:user:{user.username}",
                details={"role": role, "source": "ldap", "via": via},
            )
        for key in sorted(wanted - set(by_directory) - by_hand):
            group_name, role = key
            session.add(
                Membership(
                    group_id=group_ids[group_name],
                    user_id=user.id,
                    role=role,
                    source="ldap",
                    added_by=DIRECTORY_ACTOR,
                    added_at=self.clock.now(),
                )
            )
            changes.append(Change(user.username, "added", role, group_name))
            self.audit.record(
                session,
                principal,
                "group.member.add",
                group=group_name,
                target=f"{group_name}:user:{user.username}",
                details={
                    "role": role,
                    "source": "ldap",
                    "via": via,
                    "directory_groups": list(grants.because.get(f"{group_name}:{role}", ())),
                },
            )
        changes.extend(self._apply_global(session, user, grants, principal, via))
        session.flush()
        return changes

    def _apply_global(
        self, session: Session, user: User, grants: Grants, principal: Principal, via: str
    ) -> list[Change]:
        rows = list(
            session.scalars(sa.select(GlobalRoleGrant).where(GlobalRoleGrant.user_id == user.id))
        )
        by_directory = {row.role: row for row in rows if row.source == "ldap"}
        by_hand = {row.role for row in rows if row.source != "ldap"}
        wanted = {role.value for role in grants.global_roles}
        removed = sorted(set(by_directory) - wanted)
        added = sorted(wanted - set(by_directory) - by_hand)
        for role in removed:
            session.delete(by_directory[role])
        for role in added:
            session.add(
                GlobalRoleGrant(
                    user_id=user.id,
                    role=role,
                    source="ldap",
                    granted_by=DIRECTORY_ACTOR,
                    granted_at=self.clock.now(),
                )
            )
        if removed or added:
            self.audit.record(
                session,
                principal,
                "user.roles",
                target=f"user:{user.username}",
                details={
                    "added": added,
                    "removed": removed,
                    "source": "ldap",
                    "via": via,
                    "directory_groups": sorted(
                        {dn for role in added for dn in grants.because.get(role, ())}
                    ),
                },
            )
        return [Change(user.username, "removed", role) for role in removed] + [
            Change(user.username, "added", role) for role in added
        ]
