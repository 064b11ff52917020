"""Sign-in and API tokens.

Called by the API (``/api/v1/auth``, ``/tokens``) and by the authentication hook of
every request (:meth:`AuthService.authenticate_token`). Accounts are in
:mod:`repo_server.auth.accounts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action, Actor, GlobalRole, TokenScope, decide
from repo_server.audit.services import AuditLog
from repo_server.auth.facts import IssuedToken, TokenInfo, global_roles, group_roles, token_info
from repo_server.auth.models import ApiToken, User
from repo_server.auth.passwords import verify_password
from repo_server.auth.principal import Principal
from repo_server.auth.tokens import new_token, parse_token, secret_matches
from repo_server.clock import Clock, iso
from repo_server.db import Database
from repo_server.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from repo_server.groups.models import Group
from repo_server.settings import Settings

BAD_CREDENTIALS = "invalid user name or password"
#: How stale ``last_used_at`` of a token may get before a request refreshes it.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class AuthService:
    """Sign-in and tokens of one server."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.settings = settings

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
            global_roles=global_roles(session, user.id),
            group_roles=group_roles(session, user.id),
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
        or disabled (which ends the session at the next page)."""
        with self.db.read() as session:
            user = session.get(User, user_id)
            if user is None or not user.active:
                return None
            return self.principal_for(session, user, remote_addr)

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
            return IssuedToken(token, token_info(session, row))

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
            return [token_info(session, row) for row in rows]

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
            return token_info(session, row)
