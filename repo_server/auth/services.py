"""Accounts, sign-in and API tokens.

Called by the API (``/api/v1/auth``, ``/users``, ``/tokens``), by the authentication
hook of every request (:meth:`AuthService.authenticate_token`) and by ``depot-server``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action, Actor, GlobalRole, GroupRole, TokenScope, decide
from policies.names import validate_user_name
from repo_server.audit.services import AuditLog
from repo_server.auth.models import ApiToken, GlobalRoleGrant, User
from repo_server.auth.passwords import (
    check_password_strength,
    generate_password,
    hash_password,
    verify_password,
)
from repo_server.auth.principal import Principal
from repo_server.auth.tokens import new_token, parse_token, secret_matches
from repo_server.clock import Clock, iso
from repo_server.db import Database
from repo_server.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unauthorized
from repo_server.groups.models import Group, Membership
from repo_server.settings import Settings

BAD_CREDENTIALS = "invalid user name or password"
#: How stale ``last_used_at`` of a token may get before a request refreshes it.
LAST_USED_RESOLUTION = timedelta(minutes=5)


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

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "email": self.email,
            "source": self.source,
            "active": self.active,
            "roles": list(self.roles),
            "created_at": iso(self.created_at),
            "last_login_at": iso(self.last_login_at),
        }


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

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "owner": self.owner,
            "group": self.group,
            "scope": self.scope,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "last_used_at": iso(self.last_used_at),
        }


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: the secret form is in ``token`` and is never shown again."""

    token: str
    info: TokenInfo


def _require(principal: Principal, action: Action) -> None:
    decision = decide(principal.actor, action)
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)


class AuthService:
    """Accounts, sign-in and tokens of one server."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.settings = settings

    # -- reading facts -------------------------------------------------------------

    def _roles(self, session: Session, user_id: int) -> frozenset[GlobalRole]:
        rows = session.scalars(
            sa.select(GlobalRoleGrant.role).where(GlobalRoleGrant.user_id == user_id)
        )
        return frozenset(GlobalRole(role) for role in rows)

    def _group_roles(self, session: Session, user_id: int) -> dict[str, frozenset[GroupRole]]:
        rows = session.execute(
            sa.select(Group.name, Membership.role)
            .join(Membership, Membership.group_id == Group.id)
            .where(Membership.user_id == user_id)
        )
        roles: dict[str, set[GroupRole]] = {}
        for name, role in rows:
            roles.setdefault(name, set()).add(GroupRole(role))
        return {name: frozenset(found) for name, found in roles.items()}

    def _user_info(self, session: Session, user: User) -> UserInfo:
        roles = tuple(sorted(self._roles(session, user.id)))
        return UserInfo(
            user.username,
            user.display_name,
            user.email,
            user.source,
            user.active,
            roles,
            user.created_at,
            user.last_login_at,
        )

    def _token_info(self, session: Session, row: ApiToken) -> TokenInfo:
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
        )

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
        actor = Actor(
            username=user.username,
            global_roles=self._roles(session, user.id),
            group_roles=self._group_roles(session, user.id),
            token_group=token_group,
            token_scope=token_scope,
        )
        return Principal(
            user.id, user.username, actor, remote_addr, token.public_id if token else None
        )

    # -- sign-in and tokens --------------------------------------------------------

    def check_password(self, username: str, password: str, remote_addr: str) -> User:
        """The active local user with this password; else ``Unauthorized`` (and audited)."""
        with self.db.read() as session:
            user = session.scalar(sa.select(User).where(User.username == username.strip().lower()))
            ok = verify_password(
                password, user.password_hash if user else None, self.settings.scrypt_n
            )
            if user is None or not ok or not user.active or not password:
                why = (
                    "unknown user"
                    if user is None
                    else ("disabled" if not user.active else "wrong password")
                )
                self.audit.record_refusal(
                    Principal(None, "-", Actor("-"), remote_addr),
                    "auth.login",
                    target=f"user:{username[:64]}",
                    rule="auth.password",
                    reason=why,
                )
                raise Unauthorized(BAD_CREDENTIALS)
            return user

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
            return IssuedToken(token, self._token_info(session, row))

    def authenticate_token(self, token: str, remote_addr: str) -> Principal:
        """The principal behind a bearer token; ``Unauthorized`` if it cannot be used."""
        parsed = parse_token(token)
        if parsed is None:
            raise Unauthorized("invalid API token")
        public_id, secret = parsed
        now = self.clock.now()
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
            user = session.get(User, row.user_id)
            if user is None or not user.active:
                raise Unauthorized("this account is disabled")
            principal = self.principal_for(session, user, remote_addr, row)
            stale = row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION
        if stale:
            with self.db.write() as session:
                session.execute(
                    sa.update(ApiToken)
                    .where(ApiToken.public_id == public_id)
                    .values(last_used_at=now)
                )
        return principal

    def logout(self, principal: Principal) -> None:
        """Revoke the token the caller is using."""
        if principal.token_id is None:
            return
        self.revoke_token(principal, principal.token_id)

    def create_group_token(
        self, principal: Principal, group: str, scope: str, days: int, name: str = ""
    ) -> IssuedToken:
        """A token for a CI pipeline: one group, ``read`` or ``upload``, for ``days`` days."""
        try:
            token_scope = TokenScope(scope)
        except ValueError:
            raise InvalidRequest(
                f"invalid scope {scope!r}: use read or upload", field="scope"
            ) from None
        if not 1 <= days <= self.settings.max_token_days:
            raise InvalidRequest(
                f"expiry must be between 1 and {self.settings.max_token_days} days",
                field="expires_in_days",
            )
        if len(name) > 100:
            raise InvalidRequest("token name is longer than 100 characters", field="name")
        decision = decide(principal.actor, Action.CREATE_TOKEN, group)
        with self.db.write() as session:
            row_group = session.scalar(sa.select(Group).where(Group.name == group))
            if row_group is None or decision.hidden:
                raise NotFound(f"group {group!r} not found")
            if not decision.allowed:
                raise Forbidden(decision.reason, rule=decision.rule)
            now = self.clock.now()
            token, public_id, secret_hash = new_token()
            assert principal.user_id is not None
            row = ApiToken(
                public_id=public_id,
                secret_hash=secret_hash,
                user_id=principal.user_id,
                kind="group",
                name=name,
                group_id=row_group.id,
                scope=token_scope.value,
                created_at=now,
                expires_at=now + timedelta(days=days),
            )
            session.add(row)
            session.flush()
            self.audit.record(
                session,
                principal,
                "token.create",
                group=group,
                target=f"token:{public_id}",
                details={"scope": token_scope.value, "days": days, "name": name},
            )
            return IssuedToken(token, self._token_info(session, row))

    def list_tokens(self, principal: Principal) -> Sequence[TokenInfo]:
        """The caller's own tokens, newest first, including expired and revoked ones."""
        if principal.user_id is None:
            raise Unauthorized("authentication required")
        with self.db.read() as session:
            rows = session.scalars(
                sa.select(ApiToken)
                .where(ApiToken.user_id == principal.user_id)
                .order_by(ApiToken.id.desc())
            )
            return [self._token_info(session, row) for row in rows]

    def revoke_token(self, principal: Principal, public_id: str) -> TokenInfo:
        """Revoke one of the caller's tokens (an admin may revoke anyone's)."""
        is_admin = (
            GlobalRole.ADMIN in principal.actor.global_roles and not principal.actor.is_group_token
        )
        with self.db.write() as session:
            row = session.scalar(sa.select(ApiToken).where(ApiToken.public_id == public_id))
            if row is None or (row.user_id != principal.user_id and not is_admin):
                raise NotFound(f"token {public_id!r} not found")
            if row.revoked_at is None:
                row.revoked_at = self.clock.now()
                self.audit.record(session, principal, "token.revoke", target=f"token:{public_id}")
            return self._token_info(session, row)

    # -- accounts ------------------------------------------------------------------

    def _find_user(self, session: Session, username: str) -> User:
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"user {username!r} not found")
        return user

    def _set_roles(
        self, session: Session, principal: Principal, user: User, roles: Iterable[str]
    ) -> None:
        try:
            wanted = {GlobalRole(role) for role in roles}
        except ValueError:
            raise InvalidRequest(
                f"unknown role; global roles are {', '.join(r.value for r in GlobalRole)}",
                field="roles",
            ) from None
        current = self._roles(session, user.id)
        if (
            user.id == principal.user_id
            and GlobalRole.ADMIN in current
            and GlobalRole.ADMIN not in wanted
        ):
            raise Conflict("you cannot take the admin role from yourself; ask another admin")
        for role in current - wanted:
            session.execute(
                sa.delete(GlobalRoleGrant).where(
                    GlobalRoleGrant.user_id == user.id, GlobalRoleGrant.role == role.value
                )
            )
        for role in wanted - current:
            session.add(
                GlobalRoleGrant(
                    user_id=user.id,
                    role=role.value,
                    granted_by=principal.username,
                    granted_at=self.clock.now(),
                )
            )
        if current != wanted:
            self.audit.record(
                session,
                principal,
                "user.roles",
                target=f"user:{user.username}",
                details={"added": sorted(wanted - current), "removed": sorted(current - wanted)},
            )

    def create_user(
        self,
        principal: Principal,
        username: str,
        password: str | None,
        *,
        display_name: str = "",
        email: str = "",
        roles: Iterable[str] = (),
    ) -> UserInfo:
        """Create a local account (admin only). ``password`` ``None``: no local sign-in."""
        _require(principal, Action.MANAGE_USERS)
        username = validate_user_name(username)
        if password is not None:
            problem = check_password_strength(password, username)
            if problem:
                raise InvalidRequest(problem, field="password")
        with self.db.write() as session:
            if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
                raise Conflict(f"user {username!r} already exists")
            user = User(
                username=username,
                display_name=display_name[:200],
                email=email[:320],
                password_hash=hash_password(password, self.settings.scrypt_n) if password else None,
                source="local",
                active=True,
                created_at=self.clock.now(),
            )
            session.add(user)
            session.flush()
            self.audit.record(session, principal, "user.create", target=f"user:{username}")
            self._set_roles(session, principal, user, roles)
            session.flush()
            return self._user_info(session, user)

    def update_user(
        self,
        principal: Principal,
        username: str,
        *,
        active: bool | None = None,
        display_name: str | None = None,
        email: str | None = None,
        roles: Iterable[str] | None = None,
        password: str | None = None,
    ) -> UserInfo:
        """Change an account (admin only): enable/disable, names, roles, reset password."""
        _require(principal, Action.MANAGE_USERS)
        with self.db.write() as session:
            user = self._find_user(session, username)
            changed: list[str] = []
            if active is not None and active != user.active:
                if not active and user.id == principal.user_id:
                    raise Conflict("you cannot disable your own account")
                user.active = active
                changed.append("active")
            if display_name is not None:
                user.display_name = display_name[:200]
                changed.append("display_name")
            if email is not None:
                user.email = email[:320]
                changed.append("email")
            if password is not None:
                problem = check_password_strength(password, user.username)
                if problem:
                    raise InvalidRequest(problem, field="password")
                user.password_hash = hash_password(password, self.settings.scrypt_n)
                changed.append("password")
            if changed:
                self.audit.record(
                    session,
                    principal,
                    "user.update",
                    target=f"user:{user.username}",
                    details={"changed": changed},
                )
            if roles is not None:
                self._set_roles(session, principal, user, roles)
            session.flush()
            return self._user_info(session, user)

    def change_own_password(self, principal: Principal, current: str, new: str) -> None:
        """Change the caller's own local password (needs the current one)."""
        if principal.user_id is None or principal.actor.is_group_token:
            raise Forbidden(
                "only a signed-in person can change their password", rule="auth.password"
            )
        user = self.check_password(principal.username, current, principal.remote_addr)
        problem = check_password_strength(new, user.username)
        if problem:
            raise InvalidRequest(problem, field="new_password")
        with self.db.write() as session:
            row = session.get(User, user.id)
            assert row is not None
            row.password_hash = hash_password(new, self.settings.scrypt_n)
            self.audit.record(session, principal, "user.password", target=f"user:{user.username}")

    def list_users(self, principal: Principal) -> Sequence[UserInfo]:
        """Every account, by name (admin only)."""
        _require(principal, Action.MANAGE_USERS)
        with self.db.read() as session:
            return [
                self._user_info(session, u)
                for u in session.scalars(sa.select(User).order_by(User.username))
            ]

    def get_user(self, principal: Principal, username: str) -> UserInfo:
        """One account: the caller's own, or any for an admin."""
        if username != principal.username:
            _require(principal, Action.MANAGE_USERS)
        with self.db.read() as session:
            return self._user_info(session, self._find_user(session, username))

    def ensure_first_admin(self, principal: Principal, username: str = "admin") -> str | None:
        """On a server with no accounts yet, create an admin; return its new password.

        Called by ``depot-server run``/``init`` before the server starts. Returns
        ``None`` when accounts already exist (nothing is changed then).
        """
        with self.db.read() as session:
            if session.scalar(sa.select(sa.func.count()).select_from(User)):
                return None
        password = generate_password()
        try:
            self.create_user(
                principal,
                validate_user_name(username),
                password,
                display_name="Administrator",
                roles=["admin"],
            )
        except (Conflict, sa.exc.IntegrityError):
            return None  # another node created it at the same moment
        return password
