"""The module's migration builds exactly the tables its models describe, on both
databases, and its options are checked when the server starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from repo_server.db import Database
from repo_server.migrate import current_revisions, head_revision
from repo_server.plugins.product_service.models import Base
from tests.plugins.conftest import MakeWorld, migrate_plugins


def test_migrated_tables_match_the_models(database_url: str) -> None:
    migrate_plugins(database_url, ("product_service",))
    db = Database(database_url)
    try:
        assert head_revision(db, "product_service") == "product_service_0003"
        # The branch depends on the core's 0005, so Alembic keeps only our head.
        assert "product_service_0003" in current_revisions(db)
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
