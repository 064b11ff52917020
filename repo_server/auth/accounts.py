"""Accounts: creating, changing and listing the people who can sign in.

Called by the API (``/api/v1/users``, ``/auth/password``) and by ``depot-server user``.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action, GlobalRole, decide
from policies.names import validate_user_name
from repo_server.audit.services import AuditLog
from repo_server.auth.facts import UserInfo, global_roles, user_info
from repo_server.auth.models import GlobalRoleGrant, User
from repo_server.auth.passwords import check_password_strength, generate_password, hash_password
from repo_server.auth.principal import Principal
from repo_server.auth.services import AuthService
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Conflict, Forbidden, InvalidRequest, NotFound
from repo_server.paging import EVERYTHING, Page, PageRequest, fetch
from repo_server.settings import Settings


def _require(principal: Principal, action: Action) -> None:
    decision = decide(principal.actor, action)
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)


class AccountService:
    """The accounts of one server."""

    def __init__(
        self, db: Database, audit: AuditLog, clock: Clock, settings: Settings, auth: AuthService
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.settings = settings
        self.auth = auth

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
        current = global_roles(session, user.id)
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
                raise InvalidRequest(problem.message, field="password", rule=problem.rule)
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
            return user_info(session, user)

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
                if user.source == "ldap":
                    raise InvalidRequest(
                        f"{user.username} signs in through the directory; "
                        "the password is set there, not in Depot",
                        field="password",
                    )
                problem = check_password_strength(password, user.username)
                if problem:
                    raise InvalidRequest(problem.message, field="password", rule=problem.rule)
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
            return user_info(session, user)

    def change_own_password(self, principal: Principal, current: str, new: str) -> None:
        """Change the caller's own local password (needs the current one)."""
        if principal.user_id is None or principal.actor.is_group_token:
            raise Forbidden(
                "only a signed-in person can change their password", rule="auth.password"
            )
        with self.db.read() as session:
            me = session.get(User, principal.user_id)
            if me is not None and me.source == "ldap":
                raise InvalidRequest(
                    "you sign in with your directory (LDAP) account: change your password "
                    "there, not in Depot",
                    field="new_password",
                )
        user = self.auth.check_password(principal.username, current, principal.remote_addr)
        problem = check_password_strength(new, user.username)
        if problem:
            raise InvalidRequest(problem.message, field="new_password", rule=problem.rule)
        with self.db.write() as session:
            row = session.get(User, user.id)
            assert row is not None
            row.password_hash = hash_password(new, self.settings.scrypt_n)
            self.audit.record(session, principal, "user.password", target=f"user:{user.username}")

    def list_users(self, principal: Principal, page: PageRequest = EVERYTHING) -> Page[UserInfo]:
        """Every account, by name (admin only)."""
        _require(principal, Action.MANAGE_USERS)
        with self.db.read() as session:
            rows = fetch(
                session,
                sa.select(User),
                (User.username,),
                page,
                scope="users",
                key=lambda user: (user.username,),
                scalars=True,
            )
            return rows.map(lambda user: user_info(session, user))

    def get_user(self, principal: Principal, username: str) -> UserInfo:
        """One account: the caller's own, or any for an admin."""
        if username != principal.username:
            _require(principal, Action.MANAGE_USERS)
        with self.db.read() as session:
            return user_info(session, self._find_user(session, username))

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
