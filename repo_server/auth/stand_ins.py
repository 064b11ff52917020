"""Stand-ins: a version manager names someone to decide in her place for a period.

Called by the API (``/api/v1/stand-ins``), the stand-ins page and, for every caller,
:meth:`repo_server.auth.services.AuthService.principal_for` (through
:func:`appointments_as_stand_in`), so that during the period the stand-in's principal
carries the role she decides in and for whom. The rules are policies/stand_ins.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from policies.access import GlobalRole
from policies.decisions import Decision
from policies.stand_ins import Appointment, decide_appointment, decide_revocation
from repo_server.audit.services import AuditLog
from repo_server.auth.facts import global_roles
from repo_server.auth.models import GlobalRoleGrant, StandIn, User
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import N_, Forbidden, InvalidRequest, NotFound
from repo_server.paging import EVERYTHING, Page, PageRequest, fetch

#: Appointments that ended longer ago than this no longer explain a refusal.
_RECENT = timedelta(days=30)


@dataclass(frozen=True)
class StandInInfo:
    """One appointment as the API and the page show it."""

    id: int
    stands_for: str
    stand_in: str
    role: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None
    #: Whether it lets the stand-in decide right now.
    active: bool


def appointments_as_stand_in(session: Session, user_id: int, now: datetime) -> list[Appointment]:
    """The appointments of ``user_id`` as a stand-in that are current, to come, or ended
    within the last 30 days (to explain a refusal), as facts for the rules."""
    holder = aliased(User)
    rows = session.execute(
        sa.select(StandIn, holder.username)
        .join(holder, holder.id == StandIn.user_id)
        .where(StandIn.stand_in_id == user_id, StandIn.ends_at > now - _RECENT)
    ).all()
    if not rows:
        return []
    me = session.get(User, user_id)
    assert me is not None
    held = {
        (grant.user_id, grant.role)
        for grant in session.scalars(
            sa.select(GlobalRoleGrant).where(
                GlobalRoleGrant.user_id.in_({row.StandIn.user_id for row in rows})
            )
        )
    }
    return [
        Appointment(
            stands_for=name,
            stand_in=me.username,
            role=GlobalRole(row.role),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            revoked=row.revoked_at is not None,
            holder_has_role=(row.user_id, row.role) in held,
        )
        for row, name in rows
    ]


class StandInService:
    """The stand-in appointments of one server."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock

    def appoint(
        self,
        principal: Principal,
        *,
        stands_for: str,
        stand_in: str,
        starts_at: datetime | None,
        ends_at: datetime,
        reason: str = "",
        role: str = GlobalRole.VERSION_MANAGER.value,
    ) -> StandInInfo:
        """Name ``stand_in`` to decide in ``stands_for``'s place from ``starts_at`` (now
        when ``None``) until ``ends_at``; audited, a refusal too."""
        now = self.clock.now()
        starts_at = starts_at or now
        for field, moment in (("starts_at", starts_at), ("ends_at", ends_at)):
            if moment.tzinfo is None:
                raise InvalidRequest(
                    N_("%(field)s needs a time zone (e.g. Z)", field=field), field=field
                )
        try:
            wanted = GlobalRole(role)
        except ValueError:
            raise InvalidRequest(N_("unknown role %(role)r", role=role), field="role") from None
        reason = reason.strip()
        if len(reason) > 1000:
            raise InvalidRequest(N_("reason is longer than 1000 characters"), field="reason")
        target = f"user:{stands_for}"
        with self.db.write() as session:
            holder = self._person(session, stands_for, "stands_for")
            deputy = self._person(session, stand_in, "stand_in")
            decision = decide_appointment(
                principal.actor,
                stands_for=holder.username,
                stands_for_roles=global_roles(session, holder.id),
                stand_in=deputy.username,
                role=wanted,
                starts_at=starts_at,
                ends_at=ends_at,
                now=now,
            )
            if decision.allowed:
                row = StandIn(
                    user_id=holder.id,
                    stand_in_id=deputy.id,
                    role=wanted.value,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    reason=reason,
                    created_by=principal.username,
                    created_at=now,
                )
                session.add(row)
                session.flush()
                self.audit.record(
                    session,
                    principal,
                    "stand_in.appoint",
                    target=target,
                    role=wanted.value,
                    reason=reason,
                    details={
                        "stand_in_id": row.id,
                        "stand_in": deputy.username,
                        "starts_at": starts_at.isoformat(),
                        "ends_at": ends_at.isoformat(),
                    },
                )
                return self._info(row, holder.username, deputy.username, now)
        self._refused(principal, "stand_in.appoint", target, decision)

    def revoke(self, principal: Principal, appointment_id: int) -> StandInInfo:
        """End appointment ``appointment_id`` now (she who named it, or an admin)."""
        now = self.clock.now()
        with self.db.write() as session:
            row, holder, deputy = self._row(session, principal, appointment_id)
            decision = decide_revocation(principal.actor, self._facts(row, holder, deputy), now)
            target = f"user:{holder}"
            if decision.allowed:
                row.revoked_at = now
                row.revoked_by = principal.username
                self.audit.record(
                    session,
                    principal,
                    "stand_in.revoke",
                    target=target,
                    role=row.role,
                    details={"stand_in_id": row.id, "stand_in": deputy},
                )
                return self._info(row, holder, deputy, now)
        self._refused(principal, "stand_in.revoke", target, decision)

    def listing(self, principal: Principal, page: PageRequest = EVERYTHING) -> Page[StandInInfo]:
        """Appointments newest first: all of them for a version manager, an admin or an
        auditor; else those naming the caller (for her or as her stand-in)."""
        now = self.clock.now()
        query = sa.select(StandIn)
        sees_all = self._sees_all(principal)
        if not sees_all:
            me = principal.user_id or 0
            query = query.where(sa.or_(StandIn.user_id == me, StandIn.stand_in_id == me))
        scope = "stand-ins:all" if sees_all else f"stand-ins:{principal.username}"
        with self.db.read() as session:
            rows = fetch(
                session,
                query,
                (StandIn.id,),
                page,
                scope=scope,
                key=lambda row: (row.id,),
                descending=True,
                scalars=True,
            )
            items = tuple(
                self._info(
                    row, self._name(session, row.user_id), self._name(session, row.stand_in_id), now
                )
                for row in rows.items
            )
        return Page(items, rows.next, rows.previous)

    @staticmethod
    def _name(session: Session, user_id: int) -> str:
        user = session.get(User, user_id)
        return user.username if user is not None else "?"

    # -- helpers -------------------------------------------------------------------

    @staticmethod
    def _sees_all(principal: Principal) -> bool:
        roles = principal.actor.global_roles
        return not principal.actor.is_group_token and bool(
            roles & {GlobalRole.ADMIN, GlobalRole.AUDITOR, GlobalRole.VERSION_MANAGER}
        )

    def _refused(
        self, principal: Principal, action: str, target: str, decision: Decision
    ) -> NoReturn:
        """Audit the refusal (in a transaction of its own) and raise it."""
        self.audit.record_refusal(
            principal, action, target=target, rule=decision.rule, reason=decision.reason
        )
        raise Forbidden(decision.reason, rule=decision.rule)

    @staticmethod
    def _person(session: Session, username: str, field: str) -> User:
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None or not user.active:
            raise NotFound(N_("no active person named %(name)r", name=username), field=field)
        return user

    def _row(
        self, session: Session, principal: Principal, appointment_id: int
    ) -> tuple[StandIn, str, str]:
        row = session.get(StandIn, appointment_id, with_for_update=True)
        if row is not None:
            holder = session.get(User, row.user_id)
            deputy = session.get(User, row.stand_in_id)
            assert holder is not None and deputy is not None
            names = {holder.username, deputy.username}
            if self._sees_all(principal) or principal.username in names:
                return row, holder.username, deputy.username
        raise NotFound(N_("stand-in appointment #%(id)s not found", id=appointment_id))

    @staticmethod
    def _facts(row: StandIn, holder: str, deputy: str) -> Appointment:
        return Appointment(
            stands_for=holder,
            stand_in=deputy,
            role=GlobalRole(row.role),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            revoked=row.revoked_at is not None,
        )

    def _info(self, row: StandIn, holder: str, deputy: str, now: datetime) -> StandInInfo:
        return StandInInfo(
            row.id,
            holder,
            deputy,
            row.role,
            row.starts_at,
            row.ends_at,
            row.reason,
            row.created_by,
            row.created_at,
            row.revoked_by,
            row.revoked_at,
            self._facts(row, holder, deputy).covers(now),
        )
