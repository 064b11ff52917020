"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from repo_server.db import Database
from repo_server.migrate import (
    current_revision,
    head_revision,
    include_in_compare,
    is_current,
    upgrade,
)
from repo_server.models import Base


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert is_current(db)
        with db.engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(
                    connection, opts={"compare_type": True, "include_name": include_in_compare}
                ),
                Base.metadata,
            )
        assert diff == []
    finally:
        db.dispose()


def test_upgrade_is_idempotent(database_url: str) -> None:
    db = Database(database_url)
    try:
        upgrade(db)
        assert current_revision(db) == head_revision(db)
    finally:
        db.dispose()


def test_upgrading_a_database_with_rows(database_url: str) -> None:
    """A server that ran the first schema keeps its audit trail through every migration."""
    from repo_server.migrate import alembic_config

    db = Database(database_url)
    try:
        from alembic import command

        config = alembic_config(db)
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO audit_events (at, actor, action, outcome, target, rule, reason, "
                "remote_addr, details) VALUES ('2026-01-01 00:00:00', 'alice', 'file.upload', "
                "'ok', 't/p@1.0.0/a', '', '', '127.0.0.1', '{}')"
            )
        upgrade(db)
        with db.engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT actor, role FROM audit_events").all()
        assert [tuple(row) for row in rows] == [("alice", "")]
        assert is_current(db)
    finally:
        db.dispose()


def test_a_plugin_branch_is_current_with_the_core(database_url: str) -> None:
    """Alembic keeps only the plugin's revision as the head once it depends on the core's;
    both still count as applied."""
    from repo_server.migrate import branch_revisions, current_revisions

    db = Database(database_url)
    try:
        assert not is_current(db, ["product_service"])
        assert branch_revisions(db, ["product_service"]) == {
            "depot": head_revision(db),
            "product_service": None,
        }
        upgrade(db, plugins=["product_service"])
        assert is_current(db, ["product_service"]) and is_current(db)
        assert current_revision(db) == head_revision(db)
        assert {head_revision(db), "product_service_0002"} <= current_revisions(db)
        upgrade(db)  # the plugin disabled: the core still migrates, the tables stay
        assert is_current(db, ["product_service"])
    finally:
        db.dispose()
