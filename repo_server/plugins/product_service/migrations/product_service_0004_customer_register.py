"""The customer register (客户档案) instead of free text on each ticket, and warranties per
contract or product; the free-text customers of existing tickets move into the register

Revision ID: product_service_0004
Revises: product_service_0003
Create Date: 2026-12-03 06:50:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from repo_server.plugin_api import UTCDateTime

revision = "product_service_0004"
down_revision = "product_service_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_phone", sa.String(length=64), nullable=False),
        sa.Column("contact_email", sa.String(length=200), nullable=False),
        sa.Column("contract", sa.String(length=100), nullable=False),
        sa.Column("warranty_days", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_customers")),
        sa.UniqueConstraint("group_name", "key", name=op.f("uq_service_customers_group_name_key")),
    )
    op.create_index("ix_service_customers_group_name_id", "service_customers", ["group_name", "id"])
    op.create_table(
        "service_product_warranties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("warranty_days", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_product_warranties")),
        sa.UniqueConstraint(
            "group_name", "product", name=op.f("uq_service_product_warranties_group_name_product")
        ),
    )
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("warranty_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("warranty_source", sa.String(length=16), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_service_tickets_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_service_tickets_customer_id_service_customers"),
            "service_customers",
            ["customer_id"],
            ["id"],
        )
    _move_customers_into_the_register()


def _move_customers_into_the_register() -> None:
    """One register entry per customer of each group (case and spacing ignored), named
    as first written, its contact the latest ticket's; every ticket points at it."""
    connection = op.get_bind()
    tickets = sa.table(
        "service_tickets",
        sa.column("id", sa.Integer()),
        sa.column("group_name", sa.String()),
        sa.column("customer", sa.String()),
        sa.column("contact_name", sa.String()),
        sa.column("contact_phone", sa.String()),
        sa.column("contact_email", sa.String()),
        sa.column("registered_at", UTCDateTime(timezone=True)),
        sa.column("customer_id", sa.Integer()),
    )
    customers = sa.table(
        "service_customers",
        sa.column("id", sa.Integer()),
        sa.column("group_name", sa.String()),
        sa.column("name", sa.String()),
        sa.column("key", sa.String()),
        sa.column("contact_name", sa.String()),
        sa.column("contact_phone", sa.String()),
        sa.column("contact_email", sa.String()),
        sa.column("contract", sa.String()),
        sa.column("created_by", sa.String()),
        sa.column("created_at", UTCDateTime(timezone=True)),
        sa.column("updated_at", UTCDateTime(timezone=True)),
    )
    found: dict[tuple[str, str], dict[str, object]] = {}
    members: dict[tuple[str, str], list[int]] = {}
    rows = connection.execute(sa.select(tickets).order_by(tickets.c.id)).all()
    for row in rows:
        key = (row.group_name, customer_key(row.customer))
        entry = found.setdefault(
            key,
            {"name": " ".join(row.customer.split()), "created_at": row.registered_at},
        )
        # The latest ticket's contact (tickets in the order registered).
        entry.update(
            contact_name=row.contact_name,
            contact_phone=row.contact_phone,
            contact_email=row.contact_email,
            updated_at=row.registered_at,
        )
        members.setdefault(key, []).append(row.id)
    now = datetime.now(UTC)
    for (group, name_key), entry in found.items():
        new_id = connection.execute(
            sa.insert(customers)
            .values(
                group_name=group,
                key=name_key,
                contract="",
                created_by="depot",
                **{"updated_at": now, **entry},
            )
            .returning(customers.c.id)
        ).scalar_one()
        connection.execute(
            sa.update(tickets)
            .where(tickets.c.id.in_(members[(group, name_key)]))
            .values(customer_id=new_id)
        )


def customer_key(name: str) -> str:
    """A customer's name with case and spacing ignored (as the service module keys it)."""
    return " ".join(name.split()).casefold()


def downgrade() -> None:
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_service_tickets_customer_id_service_customers"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_service_tickets_customer_id"))
        batch_op.drop_column("warranty_source")
        batch_op.drop_column("warranty_days")
        batch_op.drop_column("customer_id")
    op.drop_table("service_product_warranties")
    op.drop_index("ix_service_customers_group_name_id", table_name="service_customers")
    op.drop_table("service_customers")
