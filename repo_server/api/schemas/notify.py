"""Notifications and stand-ins on the wire: a person's mail settings, stand-in appointments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, Field

from repo_server.api.paging import Paged
from repo_server.api.schemas.common import Body, Moment, Out, UserName


class NotificationSettings(Out):
    """What the caller gets mailed, and where to."""

    email: str = Field(description="where mail goes (the account's address; empty: none)")
    awaiting: bool = Field(description="a request waits for my decision")
    decided: bool = Field(description="a request I filed was decided")
    reminders: bool = Field(description="a request has waited too long for my decision")
    language: str = Field(
        description="the language of my pages and mail: en or zh-CN (empty: the browser's)"
    )
    time_zone: str = Field(
        description="the IANA time zone of the dates I read (empty: the server's)"
    )


class NotificationChange(Body):
    """Kinds of mail to turn on or off, the language and the time zone; absent fields stay
    as they are."""

    awaiting: bool | None = None
    decided: bool | None = None
    reminders: bool | None = None
    language: Literal["", "en", "zh-CN"] | None = Field(
        default=None, description='"en", "zh-CN", or "" for the browser\'s language'
    )
    time_zone: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_+/-]*$")] | None = Field(
        default=None, description='an IANA zone such as "Asia/Shanghai"; "" for the server\'s'
    )


class StandIn(Out):
    """A stand-in appointment: ``stand_in`` decides in ``stands_for``'s place, in ``role``,
    from ``starts_at`` until ``ends_at``."""

    id: int
    stands_for: str
    stand_in: str
    role: str
    starts_at: Moment
    ends_at: Moment
    reason: str
    created_by: str
    created_at: Moment
    revoked_by: str | None
    revoked_at: Moment | None
    active: bool = Field(description="whether the stand-in may decide right now")


class StandInList(Paged):
    """A page of stand-in appointments, newest first."""

    stand_ins: list[StandIn]


def _moment(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("a moment is written like 2026-12-10T08:00:00Z") from None
    return value


#: A moment in a body: RFC 3339 with its offset (``2026-12-10T08:00:00Z``); read from JSON
#: text, so not strictly a ``datetime`` object.
GivenMoment = Annotated[AwareDatetime, BeforeValidator(_moment)]


class Appointment(Body):
    """Name a stand-in. ``stands_for`` defaults to the caller (an admin names anyone's)."""

    stand_in: UserName
    stands_for: UserName | None = None
    role: Literal["version_manager"] = "version_manager"
    starts_at: GivenMoment | None = Field(default=None, description="default: now")
    ends_at: GivenMoment
    reason: Annotated[str, Field(max_length=1000)] = ""
