"""Rows of people, their global roles and their API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo_server.db import Base


class User(Base):
    """A person who can sign in (a local account, or one from the directory)."""

    __tablename__ = "users"
    __table_args__ = (
        # One account per directory entry: a new entry under an old name is a new person.
        sa.Index("ix_users_directory_id", "directory_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str] = mapped_column(sa.String(320), default="")
    #: scrypt hash of a local password; ``None`` for accounts that sign in elsewhere.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    #: ``local`` or ``ldap``.
    source: Mapped[str] = mapped_column(sa.String(16), default="local")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    #: The directory entry of an ``ldap`` account.
    dn: Mapped[str | None] = mapped_column(sa.String(1024))
    #: When the directory last confirmed this account's groups (sign-in, re-check, sync).
    directory_checked_at: Mapped[datetime | None]
    #: When the directory said this person is gone or disabled; their tokens stop working.
    directory_gone_at: Mapped[datetime | None]
    #: The permanent id of the directory entry (``ldap_id_attribute``: ``entryUUID``,
    #: ``objectGUID``) this account belongs to; ``None`` until its first sign-in or sync
    #: since ids are stored (docs/ldap.md, "Identities").
    directory_id: Mapped[str | None] = mapped_column(sa.String(255))


class GlobalRoleGrant(Base):
    """One global role (admin, version manager, auditor) held by one person."""

    __tablename__ = "global_role_grants"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    granted_by: Mapped[str] = mapped_column(sa.String(64))
    granted_at: Mapped[datetime]
    #: ``manual`` (an admin gave it) or ``ldap`` (a directory group gives it; sync owns it).
    source: Mapped[str] = mapped_column(sa.String(16), default="manual", server_default="manual")


class StandIn(Base):
    """A stand-in (代理人): ``stand_in`` decides in ``user``'s place, in ``role``, from
    ``starts_at`` until ``ends_at`` (policies/stand_ins.py weighs the period)."""

    __tablename__ = "stand_ins"
    __table_args__ = (
        sa.Index("ix_stand_ins_stand_in_id_ends_at", "stand_in_id", "ends_at"),
        # The listing, newest first, page by page (repo_server.paging).
        sa.Index("ix_stand_ins_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The person who is away (a version manager).
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    stand_in_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(32))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(64))
    revoked_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token: a sign-in token of ``depot login`` or a group token for CI.

    A group token belongs to its group, not to the person who made it (``user_id`` only
    says who that was): it acts as the group's CI identity, whatever becomes of them.

    Only a hash of the secret is stored. ``public_id`` is the part of the token before
    the secret, used to find the row; it is shown in listings and audit records.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (
        # The token listings, newest first, page by page (repo_server.paging).
        sa.Index("ix_api_tokens_user_id_id", "user_id", "id"),
        sa.Index("ix_api_tokens_group_id_id", "group_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: ``login`` (acts as the person) or ``group`` (one group, one scope).
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups.id", ondelete="CASCADE"))
    scope: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    #: The client address of the last use (as the request saw it, proxies applied).
    last_used_addr: Mapped[str | None] = mapped_column(sa.String(64))


class OidcTrust(Base):
    """A group trusts CI pipelines whose OIDC tokens come from ``issuer`` for ``audience``
    with these claims (PyPI's trusted publishers): such a token buys an upload token."""

    __tablename__ = "oidc_trusts"
    #: A group's trusts, a page at a time (repo_server.paging).
    __table_args__ = (sa.Index("ix_oidc_trusts_group_id_id", "group_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(sa.String(500), index=True)
    audience: Mapped[str] = mapped_column(sa.String(200))
    #: JSON object: claim name → required value (``*`` globs allowed).
    claims: Mapped[str] = mapped_column(sa.Text)
    #: The software manager who set it up (the exchanged tokens are the group's).
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]


class OidcUsedToken(Base):
    """An OIDC token already exchanged (by issuer and ``jti``): never accepted again."""

    __tablename__ = "oidc_used_tokens"

    issuer: Mapped[str] = mapped_column(sa.String(500), primary_key=True)
    jti: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    expires_at: Mapped[datetime]
