"""Rows of project groups and their members."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo_server.db import Base


class Group(Base):
    """A project group (项目组) and its storage area (软件存储区域)."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(63), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: The area's name in the blob store (``areas/<storage_area>/...``); never changes.
    storage_area: Mapped[str] = mapped_column(sa.String(63), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(64))
    #: Check-in approvals of this group must carry the approver's personal signature.
    require_personal_checkin: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: A new product of this group (and its first version) waits for a version manager's
    #: approval; false waives the review (set by a version manager or an admin).
    review_new_products: Mapped[bool] = mapped_column(default=True, server_default=sa.true())


class Membership(Base):
    """One role of one person in one group; a person may hold several roles."""

    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("group_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    added_by: Mapped[str] = mapped_column(sa.String(64))
    added_at: Mapped[datetime]
    #: ``manual`` (added by a person) or ``ldap`` (a directory group gives it; sync owns it).
    source: Mapped[str] = mapped_column(sa.String(16), default="manual", server_default="manual")
