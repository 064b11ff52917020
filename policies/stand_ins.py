"""Stand-ins (代理人): a version manager away names someone to decide in her place.

For a period (``starts_at`` up to, not including, ``ends_at``) the stand-in decides the
requests the version manager decides — upgrade, check-in, check-out — and reads what
they concern, recorded as "X for Y". Four eyes hold for both: the stand-in never decides
what she filed, accepted or uploaded herself, nor what the person she stands for filed,
accepted or uploaded (``four_eyes.stand_in``). Outside the period she is refused with
``stand_in.period``. The stand-in does not become a version manager: she neither
retires versions nor creates groups, and names no stand-in of her own.

The server turns appointment rows into :class:`Appointment` facts, asks
:func:`decide_appointment` before storing one, and, when it authenticates a person,
:func:`acting_roles` for the roles she holds as a stand-in at that moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from policies.access import Actor, GlobalRole
from policies.decisions import Decision

#: The roles a stand-in can be named for (the deciders of the library-wide requests).
APPOINTABLE = frozenset({GlobalRole.VERSION_MANAGER})
#: The longest period of one appointment.
MAX_PERIOD = timedelta(days=90)


@dataclass(frozen=True)
class Appointment:
    """One stand-in appointment, as plain facts."""

    stands_for: str
    stand_in: str
    role: GlobalRole
    starts_at: datetime
    ends_at: datetime
    revoked: bool = False
    #: Whether ``stands_for`` still holds ``role`` (a stand-in for someone who lost it
    #: decides nothing).
    holder_has_role: bool = True

    def covers(self, now: datetime) -> bool:
        """Whether the appointment lets the stand-in decide at ``now``."""
        return not self.revoked and self.holder_has_role and self.starts_at <= now < self.ends_at


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def acting_roles(
    appointments: Sequence[Appointment], now: datetime
) -> tuple[dict[GlobalRole, str], dict[GlobalRole, str]]:
    """The roles held as a stand-in at ``now`` (role → for whom, the earliest appointment
    first), and those of appointments that do not cover ``now`` (role → why not)."""
    current: dict[GlobalRole, str] = {}
    outside: dict[GlobalRole, str] = {}
    for appointment in sorted(appointments, key=lambda a: a.starts_at):
        if appointment.covers(now):
            current.setdefault(appointment.role, appointment.stands_for)
            continue
        if appointment.revoked:
            why = "was revoked"
        elif not appointment.holder_has_role:
            why = f"lapsed: {appointment.stands_for} no longer holds the role"
        else:
            why = (
                f"runs from {_stamp(appointment.starts_at)} "
                f"until {_stamp(appointment.ends_at)}, not now"
            )
        outside.setdefault(
            appointment.role,
            f"{appointment.stand_in}'s appointment as stand-in for {appointment.stands_for} {why}",
        )
    return current, {role: why for role, why in outside.items() if role not in current}


def _may_appoint(actor: Actor, stands_for: str) -> Decision | None:
    if actor.is_group_token:
        return Decision.refuse("token.scope", "a group token cannot name stand-ins")
    if actor.username != stands_for and GlobalRole.ADMIN not in actor.global_roles:
        return Decision.refuse(
            "stand_in.appointer",
            f"only {stands_for} herself or an admin names or revokes her stand-ins",
        )
    return None


def decide_appointment(
    actor: Actor,
    *,
    stands_for: str,
    stands_for_roles: frozenset[GlobalRole],
    stand_in: str,
    role: GlobalRole,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> Decision:
    """May ``actor`` name ``stand_in`` to decide in ``stands_for``'s place, in ``role``,
    from ``starts_at`` until ``ends_at``?"""
    refused = _may_appoint(actor, stands_for)
    if refused:
        return refused
    if role not in APPOINTABLE:
        return Decision.refuse(
            "stand_in.role", "a stand-in can be named only for the version manager's decisions"
        )
    if role not in stands_for_roles:
        return Decision.refuse("stand_in.holder", f"{stands_for} is not a {role.replace('_', ' ')}")
    if stand_in == stands_for:
        return Decision.refuse("stand_in.same_person", "nobody stands in for herself")
    if ends_at <= starts_at or ends_at <= now:
        return Decision.refuse(
            "stand_in.period", "the period must end after it starts, and in the future"
        )
    if ends_at - starts_at > MAX_PERIOD:
        return Decision.refuse(
            "stand_in.period", f"a period is at most {MAX_PERIOD.days} days: name her again after"
        )
    return Decision.allow("stand_in.appoint")


def decide_revocation(actor: Actor, appointment: Appointment, now: datetime) -> Decision:
    """May ``actor`` end ``appointment`` now?"""
    refused = _may_appoint(actor, appointment.stands_for)
    if refused:
        return refused
    if appointment.revoked or appointment.ends_at <= now:
        return Decision.refuse("stand_in.period", "the appointment is over already")
    return Decision.allow("stand_in.revoke")
