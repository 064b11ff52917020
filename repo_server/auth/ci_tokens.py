"""Group tokens: the CI identities of a project group (Harbor's robot accounts).

Called by the API (``/tokens``, ``/groups/<group>/tokens``). A group token belongs to its
group: its software manager makes it, it acts as ``ci:<group>:<id>`` (see
:meth:`repo_server.auth.services.AuthService.robot_principal`), and the group's software
managers and the admins list and revoke every token of the group. A person lists and
revokes their own sign-in tokens.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from policies.access import Action, GlobalRole, TokenScope, decide
from policies.tokens import group_token_lifetime
from repo_server.audit.services import AuditLog
from repo_server.auth.facts import IssuedToken, TokenInfo, token_info
from repo_server.auth.models import ApiToken
from repo_server.auth.principal import Principal
from repo_server.auth.tokens import new_token
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from repo_server.groups.models import Group
from repo_server.paging import EVERYTHING, Page, PageRequest, by_id
from repo_server.settings import Settings


class TokenService:
    """Making, listing and revoking API tokens."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.settings = settings

    def _refuse(self, principal: Principal, action: str, group: str, rule: str, why: str) -> None:
        self.audit.record_refusal(principal, action, group=group, rule=rule, reason=why)
        raise Forbidden(why, rule=rule)

    def create_group_token(
        self, principal: Principal, group: str, scope: str, days: int, name: str = ""
    ) -> IssuedToken:
        """A CI token of ``group``: ``read`` or ``upload``, for ``days`` days (at most the
        server's ``max_token_days``). Only a software manager of the group makes one."""
        try:
            token_scope = TokenScope(scope)
        except ValueError:
            raise InvalidRequest(
                f"invalid scope {scope!r}: use read or upload", field="scope"
            ) from None
        if len(name) > 100:
            raise InvalidRequest("token name is longer than 100 characters", field="name")
        decision = decide(principal.actor, Action.CREATE_TOKEN, group)
        with self.db.read() as session:
            exists = session.scalar(sa.select(Group.id).where(Group.name == group)) is not None
        if not exists or decision.hidden:
            raise NotFound(f"group {group!r} not found")
        if not decision.allowed:
            self._refuse(principal, "token.create", group, decision.rule, decision.reason)
        lifetime = group_token_lifetime(days, self.settings.max_token_days)
        if not lifetime.allowed:
            raise InvalidRequest(lifetime.reason, field="expires_in_days")
        if principal.user_id is None:
            raise Unauthorized("authentication required")
        with self.db.write() as session:
            row_group = session.scalar(sa.select(Group).where(Group.name == group))
            if row_group is None:
                raise NotFound(f"group {group!r} not found")
            now = self.clock.now()
            token, public_id, secret_hash = new_token()
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

    def list_tokens(self, principal: Principal, page: PageRequest = EVERYTHING) -> Page[TokenInfo]:
        """The caller's own sign-in tokens (and group tokens they made), by id, newest
        first, including expired and revoked ones."""
        if principal.user_id is None:
            raise Unauthorized("authentication required")
        with self.db.read() as session:
            rows = by_id(
                session,
                sa.select(ApiToken).where(ApiToken.user_id == principal.user_id),
                ApiToken.id,
                page,
                scope=f"tokens:{principal.user_id}",
                newest_first=True,
            )
            return rows.map(lambda row: token_info(session, row))

    def _manage(self, principal: Principal, group: str, action: str) -> int:
        """The id of ``group`` if the caller may manage its tokens (else 404/403)."""
        decision = decide(principal.actor, Action.MANAGE_TOKENS, group)
        with self.db.read() as session:
            group_id = session.scalar(sa.select(Group.id).where(Group.name == group))
        if group_id is None or decision.hidden:
            raise NotFound(f"group {group!r} not found")
        if not decision.allowed:
            self._refuse(principal, action, group, decision.rule, decision.reason)
        return group_id

    def list_group_tokens(
        self, principal: Principal, group: str, page: PageRequest = EVERYTHING
    ) -> Page[TokenInfo]:
        """Every token of ``group``, whoever made it, by id, newest first (its software
        managers and admins)."""
        group_id = self._manage(principal, group, "token.list")
        with self.db.read() as session:
            rows = by_id(
                session,
                sa.select(ApiToken).where(ApiToken.group_id == group_id),
                ApiToken.id,
                page,
                scope=f"group-tokens:{group}",
                newest_first=True,
            )
            return rows.map(lambda row: token_info(session, row))

    def revoke_group_token(self, principal: Principal, group: str, public_id: str) -> TokenInfo:
        """Revoke a token of ``group`` (its software managers and admins)."""
        group_id = self._manage(principal, group, "token.revoke")
        with self.db.write() as session:
            row = session.scalar(
                sa.select(ApiToken).where(
                    ApiToken.public_id == public_id, ApiToken.group_id == group_id
                )
            )
            if row is None:
                raise NotFound(f"token {public_id!r} not found in group {group!r}")
            return self._revoke(session, principal, row)

    def revoke_token(self, principal: Principal, public_id: str) -> TokenInfo:
        """Revoke a token: one the caller made, a token of a group they are a software
        manager of, or (an admin) any."""
        actor = principal.actor
        is_admin = GlobalRole.ADMIN in actor.global_roles and not actor.is_group_token
        with self.db.write() as session:
            row = session.scalar(sa.select(ApiToken).where(ApiToken.public_id == public_id))
            allowed = row is not None and (
                is_admin or (row.user_id == principal.user_id and not actor.is_group_token)
            )
            if row is not None and not allowed and row.group_id is not None:
                group = session.get(Group, row.group_id)
                allowed = (
                    group is not None and decide(actor, Action.MANAGE_TOKENS, group.name).allowed
                )
            if row is None or not allowed:
                raise NotFound(f"token {public_id!r} not found")
            return self._revoke(session, principal, row)

    def _revoke(self, session: sa.orm.Session, principal: Principal, row: ApiToken) -> TokenInfo:
        if row.revoked_at is None:
            row.revoked_at = self.clock.now()
            group = session.get(Group, row.group_id) if row.group_id is not None else None
            self.audit.record(
                session,
                principal,
                "token.revoke",
                group=group.name if group else None,
                target=f"token:{row.public_id}",
            )
        return token_info(session, row)
