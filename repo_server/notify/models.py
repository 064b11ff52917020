"""Rows of a person's notification settings and of the reminders already sent."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo_server.db import Base


class NotificationSetting(Base):
    """What one person wants mailed, and in which language and time zone; no row means
    everything, in the browser's language and the server's zone (the default)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    #: A request waits for my decision.
    awaiting: Mapped[bool] = mapped_column(default=True)
    #: A request I filed was decided.
    decided: Mapped[bool] = mapped_column(default=True)
    #: A request has waited for my decision longer than the server's reminder age.
    reminders: Mapped[bool] = mapped_column(default=True)
    #: The language of my pages and mail (``en``, ``zh-CN``; empty: the browser's, else English).
    language: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")
    #: The time zone of the dates I read (IANA name; empty: the server's ``time_zone``).
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    updated_at: Mapped[datetime]


class ReminderSent(Base):
    """One reminder about one request to one person on one day (UTC): never sent twice."""

    __tablename__ = "reminders_sent"
    __table_args__ = (sa.UniqueConstraint("request_id", "recipient", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("requests.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(sa.String(64))
    #: ``YYYY-MM-DD`` on the server's clock, in UTC.
    day: Mapped[str] = mapped_column(sa.String(10))
    sent_at: Mapped[datetime]
