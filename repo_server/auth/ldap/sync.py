"""Directory accounts in Depot: sign-in, re-checks and full synchronisation.

Called by :class:`repo_server.auth.services.AuthService` when a directory account signs in
(:meth:`DirectorySync.sign_in`) or uses a token or page session whose last check is older
than ``ldap_recheck_interval`` (:meth:`DirectorySync.recheck`), and by
``depot-server ldap sync`` / ``ldap test`` (:meth:`DirectorySync.sync_all`,
:meth:`DirectorySync.preview`, :meth:`DirectorySync.check`).

What is written, and how it is audited, is in :mod:`repo_server.auth.ldap.writer`.
Nothing here holds a database transaction open while it talks to the directory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from policies.errors import PolicyError
from policies.names import validate_user_name
from repo_server.audit.services import AuditLog
from repo_server.auth.ldap.config import ldap_config
from repo_server.auth.ldap.directory import (
    Directory,
    DirectoryPerson,
    DirectorySession,
    ServerCheck,
)
from repo_server.auth.ldap.dn import normalize_dn
from repo_server.auth.ldap.errors import DirectoryUnavailable, SignInRefused
from repo_server.auth.ldap.mapping import Grants, GroupMapping, load_mapping
from repo_server.auth.ldap.writer import Change, GrantWriter, directory_principal
from repo_server.auth.models import ApiToken, User
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Conflict, NotFound, Unavailable
from repo_server.settings import Settings

log = logging.getLogger("depot.ldap")


@dataclass
class SyncReport:
    """What a full synchronisation did."""

    checked: int = 0
    created: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: Why the run stopped before the end ("" when it completed).
    stopped: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON form (``depot-server --json ldap sync``)."""
        return {
            "completed": not self.stopped,
            "stopped": self.stopped or None,
            "checked": self.checked,
            "created": self.created,
            "gone": self.gone,
            "changes": [change.to_json() for change in self.changes],
            "problems": self.problems,
        }


@dataclass(frozen=True)
class Preview:
    """What the directory says of one person (``depot-server ldap test --user``)."""

    person: DirectoryPerson | None
    directory_groups: frozenset[str]
    grants: Grants
    #: The Depot account the entry is (bound to its id, or to be bound at its next
    #: sign-in), or the name a new account would get; "" without an entry or an id.
    account: str = ""
    #: True when ``account`` exists already.
    account_exists: bool = False


@dataclass(frozen=True)
class LinkReport:
    """What ``depot-server ldap link`` did."""

    username: str
    dn: str
    directory_id: str
    #: The account's id before ("" when it had none).
    previous_id: str
    #: The account that held the entry before (with ``--move``), or "".
    moved_from: str
    #: Sign-in tokens of the account revoked (issued before it was gone or re-bound).
    revoked_tokens: int
    changes: list[Change]

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "user": self.username,
            "dn": self.dn,
            "directory_id": self.directory_id,
            "previous_id": self.previous_id or None,
            "moved_from": self.moved_from or None,
            "revoked_tokens": self.revoked_tokens,
            "changes": [change.to_json() for change in self.changes],
        }


@dataclass(frozen=True)
class CheckReport:
    """``depot-server ldap test``: every server, and the mapping against both sides."""

    servers: list[ServerCheck]
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when every server answered and the mapping has no problem."""
        return all(check.ok for check in self.servers) and not self.problems


class DirectorySync:
    """Directory accounts of one server: their sign-in, grants and re-checks."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Clock,
        settings: Settings,
        directory: Directory,
        mapping: GroupMapping,
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.settings = settings
        self.directory = directory
        self.mapping = mapping
        self.recheck_interval = timedelta(seconds=settings.ldap_recheck_interval)
        self.writer = GrantWriter(db, audit, clock, mapping)

    # -- sign-in ---------------------------------------------------------------------

    def sign_in(self, username: str, password: str, remote_addr: str) -> User:
        """Bind as ``username``; create or update their account and grants; the row.

        Raises :class:`SignInRefused` (the reason goes to the audit trail) or
        :class:`DirectoryUnavailable`.
        """
        if not password:
            raise SignInRefused("empty password")
        try:
            validate_user_name(username)
        except PolicyError:
            raise SignInRefused("not a valid user name") from None
        person, groups = self.directory.authenticate(username, password)
        if not person.entry_id:
            log.error(
                "directory entry %s has no %s (ldap_id_attribute): nobody signs in with it",
                person.dn,
                self.settings.ldap_id_attribute,
            )
            raise SignInRefused(f"the entry has no {self.settings.ldap_id_attribute}")
        try:
            validate_user_name(person.username)
        except PolicyError:
            raise SignInRefused(
                f"the directory name {person.name_in_directory!r} is not a valid Depot user name"
            ) from None
        user, _ = self.writer.store(person, groups, directory_principal(remote_addr), "sign-in")
        if user is None:
            raise SignInRefused(f"a local account is already called {person.username}")
        return user

    # -- re-checks -------------------------------------------------------------------

    def due(self, user: User, now: datetime) -> bool:
        """True when ``user``'s grants must be checked against the directory now."""
        checked = user.directory_checked_at
        return checked is None or now - checked >= self.recheck_interval

    def recheck(self, user_id: int, remote_addr: str) -> bool:
        """Bring a directory account's grants up to date; False when the person is gone
        from the directory or disabled there (their directory grants are then removed).

        Raises :class:`DirectoryUnavailable`: a check that cannot be done keeps nobody in.
        """
        with self.db.read() as session:
            user = session.get(User, user_id)
            if user is None:
                return False
            username, checked_at = user.username, user.directory_checked_at
            bound_to, last_dn = user.directory_id, user.dn or ""

        def look_up(directory: DirectorySession) -> tuple[DirectoryPerson | None, frozenset[str]]:
            # The entry the account is bound to, whatever has the name now.
            try:
                person = (
                    directory.find_by_id(bound_to, username, last_dn)
                    if bound_to
                    else directory.find(username)
                )
            except SignInRefused:
                return None, frozenset()
            if person is None or person.disabled or not person.entry_id:
                return None, frozenset()
            return person, directory.groups_of(person)

        person, groups = self.directory.run(look_up)
        principal = directory_principal(remote_addr)
        for attempt in (1, 2):
            try:
                with self.db.write() as session:
                    # One request re-checks; the others that raced it see its result.
                    claimed = cast(
                        "sa.CursorResult[Any]",
                        session.execute(
                            sa.update(User)
                            .where(
                                User.id == user_id,
                                User.directory_checked_at.is_not_distinct_from(checked_at),
                            )
                            .values(directory_checked_at=self.clock.now())
                            .execution_options(synchronize_session=False)
                        ),
                    )
                    row = session.get(User, user_id)
                    if row is None:
                        return False
                    if claimed.rowcount == 1:
                        # An account from before ids were stored: the entry with its
                        # name is it, unless that entry has an account already.
                        if (
                            person is not None
                            and row.directory_id is None
                            and self.writer.account_for(session, person).user is not row
                        ):
                            person = None
                        if person is None:
                            self.writer.gone(session, row, principal, "re-check")
                        else:
                            self.writer.update_person(session, row, person, principal)
                            self.writer.apply(
                                session, row, self.mapping.grants_for(groups), principal, "re-check"
                            )
                    return row.directory_gone_at is None
            except sa.exc.IntegrityError:
                if attempt == 2:
                    raise
        return False  # pragma: no cover - the loop returns or raises

    # -- full synchronisation ----------------------------------------------------------

    def sync_all(self, principal: Principal) -> SyncReport:
        """Check every directory account and every person in a mapped group.

        Creates accounts for people in mapped groups who never signed in, updates every
        directory account's grants, and takes all directory grants from people gone from
        the directory or disabled there. Each person's changes commit on their own, so a
        run the directory cuts short keeps what it did; ``stopped`` then says why.
        """
        report = SyncReport()
        missing = self.writer.missing_project_groups()
        report.problems.extend(
            f"project group {name!r} of the mapping file does not exist in Depot"
            for name in missing
        )
        try:
            with self.directory.session() as directory:
                for dn in self.mapping.directory_groups:
                    if not directory.group_exists(dn):
                        report.problems.append(
                            f"directory group {dn!r} of the mapping file was not found"
                        )
                people = directory.people_in(self.mapping.directory_groups)
                with self.db.read() as session:
                    accounts = list(
                        session.execute(
                            sa.select(User.id, User.username, User.directory_id, User.dn).where(
                                User.source == "ldap"
                            )
                        )
                    )
                ids = {person.entry_id for person in people.values()}
                names = {person.username for person in people.values()}
                for _user_id, username, bound_to, last_dn in accounts:
                    # Accounts whose entry is in no mapped group: the entry they are bound
                    # to (found by its id, whatever has their name now), or, for accounts
                    # from before ids were stored, the entry with their name.
                    if (bound_to and bound_to in ids) or (not bound_to and username in names):
                        continue
                    try:
                        found = (
                            directory.find_by_id(bound_to, username, last_dn or "")
                            if bound_to
                            else directory.find(username)
                        )
                    except SignInRefused as refused:
                        report.problems.append(f"{username}: {refused.reason}")
                        found = None
                    if found is not None and normalize_dn(found.dn) not in people:
                        people[normalize_dn(found.dn)] = found
                        ids.add(found.entry_id)
                        names.add(found.username)
                seen: set[int] = set()
                left_alone: set[str] = set()
                for person in sorted(people.values(), key=lambda p: (p.username, p.dn)):
                    report.checked += 1
                    user_id = self._sync_person(directory, person, principal, report)
                    if user_id is None:
                        left_alone.add(person.username)
                    else:
                        seen.add(user_id)
                for user_id, username, _, _ in accounts:
                    if user_id not in seen and username not in left_alone:
                        report.checked += 1
                        self._mark_gone(user_id, principal, report)
                report.created.sort()
        except DirectoryUnavailable as error:
            report.stopped = str(error)
        with self.db.write() as session:
            self.audit.record(
                session,
                principal,
                "ldap.sync",
                outcome="failed" if report.stopped else "ok",
                reason=report.stopped[:500],
                details={
                    "checked": report.checked,
                    "created": len(report.created),
                    "gone": len(report.gone),
                    "changes": len(report.changes),
                    "problems": len(report.problems),
                },
            )
        return report

    def _sync_person(
        self,
        directory: DirectorySession,
        person: DirectoryPerson,
        principal: Principal,
        report: SyncReport,
    ) -> int | None:
        """Bring the account of ``person``'s entry in line (created if need be); the id of
        the account it is, ``None`` when the entry is left alone (a problem reported)."""
        if not person.entry_id:
            report.problems.append(
                f"{person.dn}: no {self.settings.ldap_id_attribute} attribute "
                "(ldap_id_attribute); left alone"
            )
            return None
        if person.disabled:
            with self.db.write() as session:
                account = self.writer.account_for(session, person).user
                if account is None:
                    return -1  # nobody's account: nothing to take away
                if account.directory_id is None:
                    account.directory_id = person.entry_id
                    session.flush()
                user_id = account.id
            self._mark_gone(user_id, principal, report)
            return user_id
        try:
            validate_user_name(person.username)
        except PolicyError:
            report.problems.append(
                f"{person.dn}: {person.name_in_directory!r} is not a valid Depot user name"
            )
            return None
        with self.db.read() as session:
            existing = self.writer.account_for(session, person).user is not None
        user, changes = self.writer.store(person, directory.groups_of(person), principal, "sync")
        if user is None:
            report.problems.append(
                f"{person.username}: a local account has this name; the directory "
                f"person {person.dn} was left alone"
            )
            return None
        if not existing:
            report.created.append(user.username)
        report.changes.extend(changes)
        return user.id

    def _mark_gone(self, user_id: int, principal: Principal, report: SyncReport) -> None:
        with self.db.write() as session:
            row = session.get(User, user_id)
            if row is None:
                return
            was_gone = row.directory_gone_at is not None
            report.changes.extend(self.writer.gone(session, row, principal, "sync"))
            row.directory_checked_at = self.clock.now()
            if not was_gone:
                report.gone.append(row.username)

    # -- linking an account to an entry ---------------------------------------------

    def link(
        self, principal: Principal, username: str, entry_name: str = "", *, move: bool = False
    ) -> LinkReport:
        """Bind the account ``username`` to the directory entry named ``entry_name`` (by
        default ``username``): an operator says that entry is this person (a re-hired
        person, an account from before ids were stored whose entry was replaced).

        The account becomes a directory account of that entry: its gone mark is cleared,
        its directory grants follow the entry's groups, and its sign-in tokens from before
        are revoked when it was gone or bound to another entry (they were the departed
        person's). An entry already bound to another account is refused (``Conflict``)
        unless ``move``: that account then loses the entry and is marked gone. Audited as
        ``user.link``.
        """
        with self.db.read() as session:
            account = session.scalar(sa.select(User).where(User.username == username))
            if account is None:
                raise NotFound(f"user {username!r} not found")
            if account.source != "ldap" and account.password_hash:
                raise Conflict(
                    f"{username} is a local account with a password; it signs in with it "
                    "and is never bound to a directory entry"
                )
        name = entry_name or username

        def look_up(directory: DirectorySession) -> tuple[DirectoryPerson | None, frozenset[str]]:
            person = directory.find(name)
            if person is None:
                return None, frozenset()
            return person, directory.groups_of(person)

        try:
            person, groups = self.directory.run(look_up)
        except SignInRefused as refused:
            raise Conflict(f"{name}: {refused.reason}") from None
        except DirectoryUnavailable as error:
            raise Unavailable(str(error)) from None
        if person is None:
            raise NotFound(f"{name!r} not found in the directory")
        if person.disabled:
            raise Conflict(f"the directory entry {person.dn} is disabled in the directory")
        if not person.entry_id:
            raise Conflict(
                f"the directory entry {person.dn} has no {self.settings.ldap_id_attribute} "
                "(ldap_id_attribute)"
            )
        with self.db.write() as session:
            row = session.scalar(sa.select(User).where(User.username == username))
            assert row is not None
            holder = session.scalar(sa.select(User).where(User.directory_id == person.entry_id))
            moved_from = ""
            if holder is not None and holder.id != row.id:
                if not move:
                    raise Conflict(
                        f"the directory entry {person.dn} is linked to the account "
                        f"{holder.username}; --move links it to {username} instead (and "
                        f"marks {holder.username} gone)"
                    )
                moved_from = holder.username
                holder.directory_id = None
                session.flush()
                self.writer.gone(session, holder, principal, "link")
            previous = row.directory_id or ""
            revoked = 0
            if row.directory_gone_at is not None or (previous and previous != person.entry_id):
                now = self.clock.now()
                tokens = list(
                    session.scalars(
                        sa.select(ApiToken).where(
                            ApiToken.user_id == row.id,
                            ApiToken.kind == "login",
                            ApiToken.revoked_at.is_(None),
                        )
                    )
                )
                for token in tokens:
                    token.revoked_at = now
                revoked = len(tokens)
            row.directory_id = person.entry_id
            self.writer.update_person(session, row, person, principal)
            row.directory_gone_at = None
            row.directory_checked_at = self.clock.now()
            self.audit.record(
                session,
                principal,
                "user.link",
                target=f"user:{row.username}",
                details={
                    "dn": person.dn,
                    "directory_id": person.entry_id,
                    "attribute": self.settings.ldap_id_attribute,
                    "previous_id": previous or None,
                    "moved_from": moved_from or None,
                    "revoked_tokens": revoked,
                },
            )
            changes = self.writer.apply(
                session, row, self.mapping.grants_for(groups), principal, "link"
            )
            return LinkReport(
                row.username, person.dn, person.entry_id, previous, moved_from, revoked, changes
            )

    # -- ldap test -------------------------------------------------------------------

    def check(self) -> CheckReport:
        """Every server's answer, and mapping entries naming groups that do not exist."""
        servers = self.directory.check()
        problems = [
            f"project group {name!r} of the mapping file does not exist in Depot"
            for name in self.writer.missing_project_groups()
        ]
        if any(server.ok for server in servers):

            def missing(directory: DirectorySession) -> list[str]:
                return [
                    f"directory group {dn!r} of the mapping file was not found"
                    for dn in self.mapping.directory_groups
                    if not directory.group_exists(dn)
                ]

            try:
                problems.extend(self.directory.run(missing))
            except DirectoryUnavailable as error:
                problems.append(str(error))
        return CheckReport(servers, problems)

    def preview(self, username: str) -> Preview:
        """What the directory says of ``username`` and what it would give them (no password
        needed, nothing changed)."""

        def look_up(directory: DirectorySession) -> Preview:
            person = directory.find(username)
            if person is None:
                return Preview(None, frozenset(), Grants())
            groups = directory.groups_of(person)
            return Preview(person, groups, self.mapping.grants_for(groups))

        found = self.directory.run(look_up)
        if found.person is None or not found.person.entry_id:
            return found
        with self.db.read() as session:
            resolved = self.writer.account_for(session, found.person)
        if resolved.local:
            return found
        account = resolved.user.username if resolved.user else resolved.new_name
        return Preview(
            found.person,
            found.directory_groups,
            found.grants,
            account=account,
            account_exists=resolved.user is not None,
        )


def build_directory_sync(
    db: Database, audit: AuditLog, clock: Clock, settings: Settings
) -> DirectorySync:
    """The directory service for ``settings`` (``ldap_url`` set); reads the mapping file.

    Raises :class:`repo_server.settings.SettingsError` when a file cannot be read or the
    mapping has a mistake.
    """
    return DirectorySync(
        db,
        audit,
        clock,
        settings,
        Directory(ldap_config(settings)),
        load_mapping(settings.ldap_mapping_file),
    )
