"""Sign-in and API tokens.

Called by the API (``/api/v1/auth``, ``/tokens``) and by the authentication hook of
every request (:meth:`AuthService.authenticate_token`). Accounts are in
:mod:`repo_server.auth.accounts`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

import sqlalchemy as sa
import structlog
from limits.errors import StorageError
from sqlalchemy.orm import Session

from policies.access import Actor, GroupRole, TokenScope
from policies.names import USER_NAME
from policies.stand_ins import acting_roles
from repo_server.audit.services import AuditLog
from repo_server.auth.facts import IssuedToken, global_roles, group_roles, token_info
from repo_server.auth.ldap.errors import DirectoryUnavailable, SignInRefused
from repo_server.auth.models import ApiToken, User
from repo_server.auth.passwords import verify_password
from repo_server.auth.principal import Principal
from repo_server.auth.stand_ins import appointments_as_stand_in
from repo_server.auth.throttle import SignInThrottle, Subject, store_down
from repo_server.auth.token_cache import TokenCache, still_usable
from repo_server.auth.tokens import new_token, parse_token, robot_name, secret_matches
from repo_server.clock import Clock, iso
from repo_server.db import Database
from repo_server.errors import TooManyAttempts, Unauthorized, Unavailable
from repo_server.groups.models import Group
from repo_server.settings import Settings, break_glass_names

if TYPE_CHECKING:
    from repo_server.auth.ldap.sync import DirectorySync

log = logging.getLogger("depot.auth")
#: Failed sign-ins and lockouts, as structured log lines (fields, not prose).
events = structlog.get_logger("depot.auth")

BAD_CREDENTIALS = "invalid user name or password"
DIRECTORY_DOWN = (
    "the directory (LDAP) cannot be reached, so directory accounts cannot sign in now; "
    "try again in a few minutes or tell your administrator"
)
RECHECK_DOWN = (
    "the directory (LDAP) cannot be reached to re-check your groups; try again in a few "
    "minutes or tell your administrator"
)
DIRECTORY_GONE = "this account is disabled in the directory or no longer exists there"
NO_DIRECTORY = "this is a directory account, and directory sign-in is switched off on this server"
#: How stale ``last_used_at`` of a token may get before a request refreshes it.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _printable(username: str) -> str:
    """What a person typed as a user name, safe to store in the audit trail."""
    return "".join(c if c.isprintable() else "\ufffd" for c in username[:64])


class AuthService:
    """Sign-in and tokens of one server."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Clock,
        settings: Settings,
        directory: DirectorySync | None = None,
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.settings = settings
        #: Directory sign-in and re-checks (``None`` when ``ldap_url`` is not set).
        self.directory = directory
        #: Tokens checked in the last ``token_cache_ms`` (docs/configuration.md).
        self.tokens = TokenCache(settings.token_cache_ms / 1000)
        db.on_commit(self.tokens.clear)
        #: The failed sign-in counters (shared by the app nodes through their storage).
        self.throttle = SignInThrottle(settings, clock)

    def principal_for(
        self, session: Session, user: User, remote_addr: str, token: ApiToken | None = None
    ) -> Principal:
        """The principal of ``user`` acting through ``token`` (or a browser session)."""
        token_group: str | None = None
        token_scope: TokenScope | None = None
        if token is not None and token.kind == "group":
            group = session.get(Group, token.group_id)
            token_group = group.name if group else "-"
            token_scope = TokenScope(token.scope or "read")
        now = self.clock.now()
        standing_in, outside = acting_roles(appointments_as_stand_in(session, user.id, now), now)
        actor = Actor(
            username=user.username,
            global_roles=global_roles(session, user.id),
            group_roles=group_roles(session, user.id),
            token_group=token_group,
            token_scope=token_scope,
            standing_in=standing_in,
            stand_in_outside=outside,
        )
        return Principal(
            user.id, user.username, actor, remote_addr, token.public_id if token else None
        )

    def robot_principal(
        self, session: Session, token: ApiToken, remote_addr: str
    ) -> Principal | None:
        """The principal of a group token: the group's CI identity, not the person who
        made it. A member of the group within the token's scope only, whatever becomes of
        its creator (leaving the group, disabled); ``None`` if the group is gone."""
        group = session.get(Group, token.group_id) if token.group_id is not None else None
        if group is None:
            return None
        actor = Actor(
            username=robot_name(group.name, token.public_id),
            group_roles={group.name: frozenset({GroupRole.MEMBER})},
            token_group=group.name,
            token_scope=TokenScope(token.scope or "read"),
        )
        return Principal(None, actor.username, actor, remote_addr, token.public_id)

    # -- sign-in and tokens --------------------------------------------------------

    def check_password(self, username: str, password: str, remote_addr: str) -> User:
        """The active user with this password; else ``Unauthorized``.

        Throttled first: an account or address with too many recent failures gets
        ``TooManyAttempts`` (429) and its password is not even checked. A failure is a
        structured log line; the failure that locks an account or an address out is
        audited (``auth.lockout``), once per lockout. Local accounts with a password are
        checked here (when ``local_sign_in`` is on, or they are break-glass accounts);
        directory accounts, accounts without a local password and unknown names go to the
        directory when one is configured, which may raise ``Unavailable`` (503) when it
        cannot be reached.
        """
        name = username.strip().lower()
        valid = USER_NAME.fullmatch(name) is not None
        break_glass = valid and name in break_glass_names(self.settings)
        subjects = self.throttle.subjects(
            name if valid else None, remote_addr, break_glass=break_glass
        )
        try:
            self.throttle.check(subjects)
        except StorageError as error:
            if not break_glass:
                log.error("sign-in counters unreachable: %s", error)
                raise store_down() from None
            log.critical("break-glass sign-in of %r without throttling: %s", name, error)
            return self._verify(name, username, password, remote_addr)
        try:
            user = self._verify(name, username, password, remote_addr)
        except Unauthorized as refused:
            self._count_failure(subjects, remote_addr, break_glass)
            raise refused from None
        self._quietly(self.throttle.succeeded, subjects)
        return user

    @staticmethod
    def _quietly(forget: Callable[[Any], None], subjects: Any) -> None:
        """Clear or take back counts; a store that went away since the check only logs."""
        try:
            forget(subjects)
        except StorageError as error:
            log.error("sign-in counters unreachable: %s", error)

    def _count_failure(self, subjects: list[Subject], remote_addr: str, break_glass: bool) -> None:
        try:
            locked = self.throttle.failed(subjects)
        except StorageError as error:
            log.error("sign-in counters unreachable: %s", error)
            return
        for subject, state in locked:
            reason = (
                f"{subject.limit} failed sign-ins in {subject.window} s; "
                f"locked for {state.retry_after} s"
            )
            if break_glass and subject.target.startswith("user:"):
                # docs/security.md: somebody is trying the emergency account's password.
                log.critical("break-glass account locked out from %s: %s", remote_addr, reason)
            events.warning(
                "sign-in lockout",
                target=subject.target,
                address=remote_addr,
                retry_after=state.retry_after,
            )
            self.audit.record_refusal(
                Principal(None, "-", Actor("-"), remote_addr),
                "auth.lockout",
                target=subject.target,
                rule="auth.lockout",
                reason=reason,
                details={"retry_after": state.retry_after, "break_glass": break_glass},
            )

    def _verify(self, name: str, username: str, password: str, remote_addr: str) -> User:
        if not USER_NAME.fullmatch(name):
            # No account can have this name; it never reaches the database or the directory.
            self._refuse(username, remote_addr, "auth.name", "not a valid user name")
        with self.db.read() as session:
            user = session.scalar(sa.select(User).where(User.username == name))
        if self._signs_in_through_directory(user):
            return self._directory_sign_in(username, password, remote_addr)
        ok = verify_password(password, user.password_hash if user else None, self.settings.scrypt_n)
        why = ""
        if user is None:
            why = "unknown user"
        elif not user.active:
            why = "disabled"
        elif not ok or not password:
            why = "wrong password"
        elif not self.settings.local_sign_in and user.username not in break_glass_names(
            self.settings
        ):
            why = "local sign-in is switched off and this is not a break-glass account"
        if user is None or why:
            self._refuse(username, remote_addr, "auth.password", why)
        return user

    def _refuse(self, username: str, remote_addr: str, rule: str, why: str) -> NoReturn:
        """A failed sign-in: a log line, not an audit record (the lockout is audited)."""
        events.warning(
            "sign-in refused",
            user=_printable(username),
            address=remote_addr,
            rule=rule,
            reason=why,
        )
        raise Unauthorized(BAD_CREDENTIALS)

    def _signs_in_through_directory(self, user: User | None) -> bool:
        if user is not None and user.source == "ldap":
            return True
        return self.directory is not None and (user is None or not user.password_hash)

    def _directory_sign_in(self, username: str, password: str, remote_addr: str) -> User:
        name = username.strip().lower()
        if self.directory is None:
            self._refuse(username, remote_addr, "auth.directory", NO_DIRECTORY)
        # Each bind is counted before it is sent, so the directory never sees more than
        # ldap_max_failed_binds wrong passwords for one person in the window (its own
        # lockout threshold is higher): a spray cannot lock real staff out.
        binds = self.throttle.directory_subject(name)
        try:
            self.throttle.reserve(binds)
        except StorageError as error:
            log.error("sign-in counters unreachable: %s", error)
            raise store_down() from None
        except TooManyAttempts:
            events.warning("directory bind withheld", user=name, address=remote_addr)
            raise
        try:
            user = self.directory.sign_in(name, password, remote_addr)
        except SignInRefused as refused:
            self._refuse(username, remote_addr, "auth.directory", refused.reason)
        except DirectoryUnavailable as error:
            self._quietly(self.throttle.release, binds)
            log.error("directory sign-in of %r failed: %s", name, error)
            self.audit.record_refusal(
                Principal(None, "-", Actor("-"), remote_addr),
                "auth.login",
                outcome="failed",
                target=f"user:{_printable(username)}",
                rule="auth.directory",
                reason=str(error)[:500],
            )
            raise Unavailable(DIRECTORY_DOWN) from None
        self._quietly(self.throttle.succeeded, [binds])
        if not user.active:
            self._refuse(username, remote_addr, "auth.directory", "disabled")
        return user

    def _directory_check_due(self, user: User, now: datetime) -> bool:
        """For a directory account: must its groups be re-checked before it acts?

        ``Unauthorized`` when the directory said the person is gone, or directory
        sign-in has been switched off.
        """
        if user.source != "ldap":
            return False
        if self.directory is None:
            raise Unauthorized(NO_DIRECTORY)
        if user.directory_gone_at is not None:
            raise Unauthorized(DIRECTORY_GONE)
        return self.directory.due(user, now)

    def _next_directory_check(self, user: User, now: datetime) -> datetime | None:
        """When a directory account's groups are next due for a check (``None``: not a
        directory account)."""
        if user.source != "ldap" or self.directory is None:
            return None
        return (user.directory_checked_at or now) + self.directory.recheck_interval

    def _recheck(self, user_id: int, remote_addr: str) -> None:
        assert self.directory is not None
        try:
            present = self.directory.recheck(user_id, remote_addr)
        except DirectoryUnavailable as error:
            log.error("directory re-check of user %d failed: %s", user_id, error)
            raise Unavailable(RECHECK_DOWN) from None
        if not present:
            raise Unauthorized(DIRECTORY_GONE)

    def sign_in_page(self, username: str, password: str, remote_addr: str) -> Principal:
        """Check a password for the approval pages; audited like ``depot login``."""
        user = self.check_password(username, password, remote_addr)
        now = self.clock.now()
        with self.db.write() as session:
            row = session.get(User, user.id)
            assert row is not None
            row.last_login_at = now
            principal = self.principal_for(session, row, remote_addr)
            self.audit.record(
                session,
                principal,
                "auth.login",
                target=f"user:{row.username}",
                details={"via": "web"},
            )
            return principal

    def principal_for_user(self, user_id: int, remote_addr: str) -> Principal | None:
        """The principal of a signed-in browser session, or ``None`` if the account is gone
        or disabled (which ends the session at the next page).

        A directory account is re-checked first when its check is due; ``Unavailable``
        when the directory cannot be reached for that.
        """
        with self.db.read() as session:
            user = session.get(User, user_id)
            if user is None or not user.active:
                return None
            try:
                due = self._directory_check_due(user, self.clock.now())
            except Unauthorized:
                return None
            if not due:
                return self.principal_for(session, user, remote_addr)
        try:
            self._recheck(user_id, remote_addr)
        except Unauthorized:
            return None
        with self.db.read() as session:
            user = session.get(User, user_id)
            return self.principal_for(session, user, remote_addr) if user else None

    def login(
        self, username: str, password: str, remote_addr: str, *, client: str = ""
    ) -> IssuedToken:
        """Exchange a user name and password for a sign-in token (``depot login``)."""
        user = self.check_password(username, password, remote_addr)
        now = self.clock.now()
        token, public_id, secret_hash = new_token()
        with self.db.write() as session:
            row = ApiToken(
                public_id=public_id,
                secret_hash=secret_hash,
                user_id=user.id,
                kind="login",
                name=client[:100] or "depot login",
                created_at=now,
                expires_at=now + timedelta(seconds=self.settings.login_token_ttl),
            )
            session.add(row)
            db_user = session.get(User, user.id)
            assert db_user is not None
            db_user.last_login_at = now
            principal = Principal(
                user.id, user.username, Actor(user.username), remote_addr, public_id
            )
            self.audit.record(session, principal, "auth.login", target=f"user:{user.username}")
            return IssuedToken(token, token_info(session, row))

    def authenticate_token(self, token: str, remote_addr: str) -> Principal:
        """The principal behind a bearer token; ``Unauthorized`` if it cannot be used."""
        parsed = parse_token(token)
        if parsed is None:
            raise Unauthorized("invalid API token")
        public_id, secret = parsed
        now = self.clock.now()
        key = self.tokens.key(token, remote_addr)
        cached = self.tokens.get(key, now)
        if cached is not None:
            with self.db.read() as session:
                if still_usable(session, cached):
                    return cached.principal
            self.tokens.forget(public_id)
        with self.db.read() as session:
            row = session.scalar(sa.select(ApiToken).where(ApiToken.public_id == public_id))
            if row is None or not secret_matches(secret, row.secret_hash):
                raise Unauthorized("invalid API token")
            if row.revoked_at is not None:
                raise Unauthorized("this API token has been revoked")
            if row.expires_at <= now:
                raise Unauthorized(
                    f"this API token expired at {iso(row.expires_at)}; sign in again"
                )
            stale = (
                row.last_used_at is None
                or now - row.last_used_at > LAST_USED_RESOLUTION
                or row.last_used_addr != remote_addr[:64]
            )
            user_id = row.user_id
            recheck = False
            expires_at = row.expires_at
            used_until = (row.last_used_at or now) + LAST_USED_RESOLUTION
            cacheable = True
            next_check: datetime | None = None
            if row.kind == "group":
                robot = self.robot_principal(session, row, remote_addr)
                if robot is None:
                    raise Unauthorized("invalid API token")
                principal = robot
            else:
                user = session.get(User, row.user_id)
                if user is None or not user.active:
                    raise Unauthorized("this account is disabled")
                recheck = self._directory_check_due(user, now)
                # Re-checked at every request: such a person is never served from memory.
                cacheable = user.source != "ldap" or self.settings.ldap_recheck_interval > 0
                next_check = self._next_directory_check(user, now)
                principal = self.principal_for(session, user, remote_addr, row)
        if recheck:
            # The directory decides again what this person holds, before the token acts.
            self._recheck(user_id, remote_addr)
            with self.db.read() as session:
                fresh = session.get(User, user_id)
                if fresh is None or not fresh.active:
                    raise Unauthorized("this account is disabled")
                next_check = self._next_directory_check(fresh, now)
                principal = self.principal_for(session, fresh, remote_addr, row)
        if stale:
            with self.db.write() as session:
                session.execute(
                    sa.update(ApiToken)
                    .where(ApiToken.public_id == public_id)
                    .values(last_used_at=now, last_used_addr=remote_addr[:64])
                )
            used_until = now + LAST_USED_RESOLUTION
        if next_check is not None:
            # A directory account's entry ends when the directory must be asked again.
            used_until = min(used_until, next_check)
        if cacheable:
            self.tokens.put(
                key,
                principal,
                public_id=public_id,
                expires_at=expires_at,
                used_until=used_until,
                personal=row.kind != "group",
            )
        return principal

    def logout(self, principal: Principal) -> None:
        """Revoke the token the caller is using."""
        if principal.token_id is None:
            return
        with self.db.write() as session:
            row = session.scalar(
                sa.select(ApiToken).where(ApiToken.public_id == principal.token_id)
            )
            if row is not None and row.revoked_at is None:
                row.revoked_at = self.clock.now()
                self.tokens.forget(row.public_id)
                self.audit.record(
                    session, principal, "token.revoke", target=f"token:{row.public_id}"
                )
