"""Writing what the directory says: directory accounts and the grants it gives.

Used by :class:`repo_server.auth.ldap.sync.DirectorySync` inside its own write
transactions (this module never talks to the directory). The directory owns the
memberships and global roles it granted (rows with ``source = 'ldap'``) and nothing
else; every change is recorded in the audit trail in the transaction that makes it.

An account is bound to its entry's permanent id (``users.directory_id``,
:meth:`GrantWriter.account_for`): a new entry under a name an account already has is a
new person, who gets an account of their own (``<name>-2``), never the old one.
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


@dataclass(frozen=True)
class Resolved:
    """Which account a directory entry is: ``user`` (bound to it, or one without an id
    yet that it may claim), else a new account called ``new_name`` (``taken_by``: the
    account that already has the entry's name), else ``local`` (a local account with a
    password has the name: it is never taken over)."""

    user: User | None = None
    new_name: str = ""
    taken_by: str = ""
    local: bool = False


def free_name(session: Session, username: str) -> str:
    """The first of ``username-2``, ``username-3``, … that no account has (within the 64
    characters of a user name)."""
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = username[: 64 - len(suffix)].rstrip("._-") + suffix
        if session.scalar(sa.select(User.id).where(User.username == candidate)) is None:
            return candidate
        number += 1


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

    @staticmethod
    def account_for(session: Session, person: DirectoryPerson) -> Resolved:
        """The account ``person``'s entry is (see :class:`Resolved`).

        The account bound to the entry's id, whatever its name; else the account with the
        person's name, if it is bound to no entry yet and not gone (accounts from before
        ids were stored: the id is filled in); else a new account. A departed account is
        never claimed by a new entry, even one without a stored id: an operator links it
        (``depot-server ldap link``).
        """
        bound = session.scalar(sa.select(User).where(User.directory_id == person.entry_id))
        if bound is not None:
            return Resolved(user=bound)
        named = session.scalar(sa.select(User).where(User.username == person.username))
        if named is None:
            return Resolved(new_name=person.username)
        if named.source != "ldap" and named.password_hash:
            return Resolved(local=True)
        if named.directory_id is None and named.directory_gone_at is None:
            return Resolved(user=named)
        return Resolved(new_name=free_name(session, person.username), taken_by=named.username)

    def store(
        self,
        person: DirectoryPerson,
        groups: frozenset[str],
        principal: Principal,
        via: str,
    ) -> tuple[User | None, list[Change]]:
        """Create or update the account of ``person``'s entry and its grants; ``(None,
        [])`` when a local account with a password already has the name (it is never
        taken over). ``person`` must have an ``entry_id``."""
        assert person.entry_id, "a directory entry without its permanent id"
        grants = self.mapping.grants_for(groups)
        for attempt in (1, 2):
            try:
                with self.db.write() as session:
                    resolved = self.account_for(session, person)
                    if resolved.local:
                        return None, []
                    user = resolved.user
                    if user is None:
                        details: dict[str, Any] = {
                            "source": "ldap",
                            "dn": person.dn,
                            "directory_id": person.entry_id,
                            "via": via,
                        }
                        if resolved.taken_by:
                            # A recycled name or a re-hired person: a new person to Depot.
                            details["name_taken_by"] = resolved.taken_by
                            log.warning(
                                "directory entry %s has the name of account %s but another "
                                "id: it gets the account %s",
                                person.dn,
                                resolved.taken_by,
                                resolved.new_name,
                            )
                        user = User(
                            username=resolved.new_name,
                            display_name=person.display_name[:200],
                            email=person.email[:320],
                            password_hash=None,
                            source="ldap",
                            dn=person.dn[:1024],
                            directory_id=person.entry_id,
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
                            details=details,
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
        """Copy ``person``'s entry onto ``user`` (source, DN, names, the entry's id when the
        account has none yet); audit any change. ``user`` is the account of ``person``'s
        entry (:meth:`account_for`): only then may its gone mark be cleared."""
        changed = []
        if user.source != "ldap":
            user.source = "ldap"
            changed.append("source")
        if user.directory_id is None and person.entry_id:
            user.directory_id = person.entry_id
            changed.append("directory_id")
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
