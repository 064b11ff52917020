"""The quality module's tables: issues and their event record, quarantines, the quality
archive and the supplier register.

Versions are named by their group, product and version strings (never core row ids),
people by username.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from repo_server.plugin_api import NAMING, UTCDateTime


class Base(DeclarativeBase):
    """The quality module's own metadata (its own Alembic branch)."""

    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Issue(Base):
    """A quality issue against one version: number ``Q-<id>``."""

    __tablename__ = "quality_issues"
    __table_args__ = (
        sa.Index("ix_quality_issues_version", "group_name", "product", "version"),
        # The issue list of a group, newest first, a page at a time.
        sa.Index("ix_quality_issues_group_name_id", "group_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(sa.String(100))
    product: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    issue_class: Mapped[str] = mapped_column(sa.String(16))
    supplier: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    cause: Mapped[str | None] = mapped_column(sa.String(16))
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    reported_by: Mapped[str] = mapped_column(sa.String(64))
    reported_at: Mapped[datetime] = mapped_column(index=True)
    decided_by: Mapped[str | None] = mapped_column(sa.String(64))
    decided_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(64))
    closed_at: Mapped[datetime | None]

    @property
    def number(self) -> str:
        return f"Q-{self.id}"

    @property
    def ref(self) -> str:
        return f"{self.group_name}/{self.product}@{self.version}"


class IssueEvent(Base):
    """One step in an issue's record: who, when, what, and the words they used."""

    __tablename__ = "quality_issue_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("quality_issues.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(64))
    step: Mapped[str] = mapped_column(sa.String(32))
    text: Mapped[str] = mapped_column(sa.Text)
    #: A decision's DSSE envelope signed with the decider's personal key (JSON), if any.
    signature: Mapped[str | None] = mapped_column(sa.Text)


class Quarantine(Base):
    """One version stopped by one confirmed serious issue, until a quality manager lifts it."""

    __tablename__ = "quality_quarantines"
    __table_args__ = (
        sa.Index("ix_quality_quarantines_version", "group_name", "product", "version"),
        # The quarantines of a group, newest first, a page at a time.
        sa.Index("ix_quality_quarantines_group_name_id", "group_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("quality_issues.id"), index=True)
    group_name: Mapped[str] = mapped_column(sa.String(100))
    product: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[str] = mapped_column(sa.String(64))
    #: The build identifiers of the batch, comma-separated.
    batch: Mapped[str] = mapped_column(sa.Text)
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(sa.String(64))
    lifted_at: Mapped[datetime | None]
    lifted_by: Mapped[str | None] = mapped_column(sa.String(64))
    lift_reason: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def ref(self) -> str:
        return f"{self.group_name}/{self.product}@{self.version}"


class ArchiveEntry(Base):
    """The quality archive of one version: build batch, build date, end of support.

    A missing row (or an empty field) means the core's facts: the build identifiers and
    the first upload's time.
    """

    __tablename__ = "quality_archive"
    __table_args__ = (
        sa.UniqueConstraint("group_name", "product", "version"),
        # The versions past their end of support, oldest end first, a page at a time.
        sa.Index("ix_quality_archive_end_of_support_id", "end_of_support", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(sa.String(100))
    product: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[str] = mapped_column(sa.String(64))
    build_batch: Mapped[str | None] = mapped_column(sa.Text)
    build_date: Mapped[date | None] = mapped_column(sa.Date)
    end_of_support: Mapped[date | None] = mapped_column(sa.Date, index=True)
    updated_by: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime]


class Supplier(Base):
    """A vendor of purchased products in the supplier register."""

    __tablename__ = "quality_suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    qualification: Mapped[str] = mapped_column(sa.Text)
    qualified_until: Mapped[date | None] = mapped_column(sa.Date)
    contact: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(16))
    #: How often the supplier is evaluated (months; ``None``: every 12).
    evaluation_months: Mapped[int | None] = mapped_column(sa.Integer)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]


class Evaluation(Base):
    """A periodic evaluation of a supplier (one per period)."""

    __tablename__ = "quality_supplier_evaluations"
    __table_args__ = (sa.UniqueConstraint("supplier_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("quality_suppliers.id"))
    period: Mapped[str] = mapped_column(sa.String(16))
    score: Mapped[int] = mapped_column(sa.Integer)
    notes: Mapped[str] = mapped_column(sa.Text)
    evaluator: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime]


class Notice(Base):
    """A stop-use notice (停止使用通告): a confirmed serious issue tells each person who
    took a version of the batch out (checked it out or downloaded it) to stop using it.
    There is no mail in the core: the notice is recorded here and shown on the pages."""

    __tablename__ = "quality_notices"
    __table_args__ = (
        sa.UniqueConstraint("issue_id", "person"),
        # A person's notices, newest first, a page at a time.
        sa.Index("ix_quality_notices_person_id", "person", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("quality_issues.id"), index=True)
    person: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: The versions of the batch this person took out, comma-separated.
    versions: Mapped[str] = mapped_column(sa.Text)
    sent_at: Mapped[datetime]
    sent_by: Mapped[str] = mapped_column(sa.String(64))


class ProductSupport(Base):
    """The end of support of a whole product: every version of it is past its support
    from that day on (unless its own end of support came earlier)."""

    __tablename__ = "quality_product_support"
    __table_args__ = (sa.UniqueConstraint("group_name", "product"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(sa.String(100))
    product: Mapped[str] = mapped_column(sa.String(100))
    end_of_support: Mapped[date | None] = mapped_column(sa.Date, index=True)
    updated_by: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime]


class Retirement(Base):
    """A retirement request prepared for the version manager: a version past its end of
    support is withdrawn at once, and its formal retirement is theirs. Filed once per
    version (the unique constraint), the first time the server sees the date passed."""

    __tablename__ = "quality_retirements"
    __table_args__ = (sa.UniqueConstraint("group_name", "product", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(sa.String(100), index=True)
    product: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[str] = mapped_column(sa.String(64))
    end_of_support: Mapped[date] = mapped_column(sa.Date)
    prepared_at: Mapped[datetime]
    #: ``open`` until the version is retired (``retired``, with who and when).
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    retired_by: Mapped[str | None] = mapped_column(sa.String(64))
    retired_at: Mapped[datetime | None]

    @property
    def ref(self) -> str:
        return f"{self.group_name}/{self.product}@{self.version}"
