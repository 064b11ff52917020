"""The module's migration builds exactly the tables its models describe, on both
databases, and its options are checked when the server starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from repo_server.db import Database
from repo_server.migrate import current_revisions, head_revision, upgrade
from repo_server.plugins.product_service.models import Base
from tests.plugins.conftest import MakeWorld, migrate_plugins


def test_migrated_tables_match_the_models(database_url: str) -> None:
    migrate_plugins(database_url, ("product_service",))
    db = Database(database_url)
    try:
        assert head_revision(db, "product_service") == "product_service_0004"
        # The branch depends on the core's 0005, so Alembic keeps only our head.
        assert "product_service_0004" in current_revisions(db)
        ours = set(Base.metadata.tables)

        def include(name: str | None, kind: str, parent: dict[str, str | None]) -> bool:
            if kind == "schema":
                return True
            if kind == "table":
                return name in ours
            return parent.get("table_name") in ours

        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": include}
            )
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
    finally:
        db.dispose()


def test_a_bad_option_stops_the_start(make_world: MakeWorld, tmp_path: Path) -> None:
    with pytest.raises(Exception) as error:
        make_world("product_service", product_service={"holidays": ["next tuesday"]})
    assert "[plugin.product_service] option 'holidays': 'next tuesday' is not an ISO date" in str(
        error.value
    )


def test_the_free_text_customers_move_into_the_register(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        upgrade(db, "depot@head")
        upgrade(db, "product_service_0002")  # a server of yesterday, with its tickets
        rows = [
            (1, "team", "Bank of Example", "Li Wei", "+86 21 5555 0100", "", "2026-11-01"),
            (2, "team", "bank of  example", "Wang Fang", "", "w@example.cn", "2026-11-02"),
            (3, "team", "Example Leasing", "Zhang San", "", "z@example.cn", "2026-11-03"),
            (4, "other", "Bank of Example", "Li Wei", "+86 21 5555 0100", "", "2026-11-04"),
        ]
        with db.engine.begin() as connection:
            for ticket_id, group, customer, contact, phone, email, day in rows:
                connection.execute(
                    sa.text(
                        "INSERT INTO service_tickets (id, group_name, product, version, kind, "
                        "channel, customer, contact_name, contact_phone, contact_email, "
                        "description, delivered_on, charge, status, registered_by, "
                        "registered_at, updated_at) VALUES (:id, :g, 'app', '1.0.0', "
                        "'service', 'phone', :c, :n, :p, :e, 'x', :d, 'free', 'registered', "
                        "'bob', :at, :at)"
                    ),
                    {
                        "id": ticket_id,
                        "g": group,
                        "c": customer,
                        "n": contact,
                        "p": phone,
                        "e": email,
                        "d": day,
                        "at": f"{day} 09:00:00.000000",
                    },
                )
        upgrade(db, plugins=("product_service",))
        with db.engine.connect() as connection:
            customers = connection.execute(
                sa.text(
                    "SELECT id, group_name, name, contact_name, contact_email, created_by "
                    "FROM service_customers ORDER BY id"
                )
            ).all()
            links = dict(
                connection.execute(sa.text("SELECT id, customer_id FROM service_tickets")).all()
            )
    finally:
        db.dispose()
    # One entry per customer of each group (case and spacing ignored), its contact the
    # latest ticket's; every ticket points at its entry.
    assert [tuple(c) for c in customers] == [
        (1, "team", "Bank of Example", "Wang Fang", "w@example.cn", "depot"),
        (2, "team", "Example Leasing", "Zhang San", "z@example.cn", "depot"),
        (3, "other", "Bank of Example", "Li Wei", "", "depot"),
    ]
    assert links == {1: 1, 2: 1, 3: 2, 4: 3}
