"""The quality module's migration builds exactly its models' tables, and its rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from repo_server.db import Database
from repo_server.migrate import current_revisions
from repo_server.plugins.quality import rules
from repo_server.plugins.quality.models import Base
from tests.plugins.conftest import migrate_plugins

NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
QM = rules.Who("quinn", frozenset({"quality_manager"}), {})
SM = rules.Who("alice", frozenset(), {"team": frozenset({"member", "software_manager"})})
MEMBER = rules.Who("bob", frozenset(), {"team": frozenset({"member"})})
PIPELINE = rules.Who("ci", frozenset({"quality_manager"}), {}, is_pipeline=True)


def test_the_migration_matches_the_models(database_url: str) -> None:
    migrate_plugins(database_url, ("quality",))
    db = Database(database_url)
    try:
        assert "quality_0005" in current_revisions(db)
        with db.engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
            )
        # The core's tables are there too; only differences in ours count.
        ours = [d for d in diff if "quality_" in repr(d)]
        assert ours == []
    finally:
        db.dispose()


def test_the_modules_active_quarantines_become_the_cores(database_url: str) -> None:
    """A server upgraded with quarantines decided before the core held them: the active
    ones are copied (versions and build batch), the lifted ones are not."""
    import sqlalchemy as sa

    from repo_server.migrate import upgrade

    db = Database(database_url)
    try:
        upgrade(db, "quality_0002")
        at = "2026-11-01 10:00:00"
        with db.engine.begin() as connection:
            for issue in (1, 2):
                connection.execute(
                    sa.text(
                        "INSERT INTO quality_issues (id, group_name, product, version, title,"
                        " description, issue_class, status, reported_by, reported_at)"
                        " VALUES (:id, 'team', 'app', '1.0.0', 't', 'd', 'serious',"
                        " 'confirmed', 'bob', :at)"
                    ),
                    {"id": issue, "at": at},
                )
            connection.execute(
                sa.text(
                    "INSERT INTO quality_quarantines (issue_id, group_name, product, version,"
                    " batch, started_at, started_by, lifted_at) VALUES"
                    " (1, 'team', 'app', '1.0.0', 'B-7', :at, 'quinn', NULL),"
                    " (1, 'team', 'lib', '2.0.0', 'B-7', :at, 'quinn', NULL),"
                    " (2, 'team', 'app', '1.0.0', '', :at, 'quinn', :at)"
                ),
                {"at": at},
            )
        upgrade(db, plugins=("quality",))
        with db.engine.connect() as connection:
            core = connection.execute(
                sa.text("SELECT id, source, reference, rule, lifted_at FROM quarantines")
            ).all()
            covers = connection.execute(
                sa.text("SELECT kind, value FROM quarantine_covers ORDER BY kind, value")
            ).all()
        assert [(r.source, r.reference, r.rule, r.lifted_at) for r in core] == [
            ("quality", "Q-1", "quality.serious_issue", None)
        ]
        assert [tuple(c) for c in covers] == [
            ("build", "B-7"),
            ("version", "team/app@1.0.0"),
            ("version", "team/lib@2.0.0"),
        ]
    finally:
        db.dispose()


def test_only_the_quality_manager_decides_and_a_pipeline_is_nobody() -> None:
    assert rules.may_decide(QM, "open", "serious").allowed
    assert rules.may_decide(MEMBER, "open", "serious").kind == "forbidden"
    assert rules.may_decide(PIPELINE, "open", "serious").kind == "forbidden"
    assert rules.may_decide(QM, "confirmed", "serious").kind == "conflict"
    assert rules.may_decide(QM, "open", "general").kind == "conflict"
    assert rules.may_report(PIPELINE).kind == "forbidden" and rules.may_report(MEMBER).allowed
    assert rules.may_lift(QM, 0).kind == "conflict" and rules.may_lift(QM, 2).allowed
    assert rules.may_lift(SM, 2).kind == "forbidden"
    assert rules.may_handle(QM, "closed").kind == "conflict"


def test_who_closes_what() -> None:
    assert rules.may_close(SM, "open", "general", "team").allowed
    assert rules.may_close(SM, "open", "general", "other").kind == "forbidden"
    assert rules.may_close(MEMBER, "open", "general", "team").kind == "forbidden"
    assert rules.may_close(SM, "confirmed", "serious", "team").kind == "forbidden"
    assert rules.may_close(QM, "open", "serious", "team").kind == "conflict"
    assert rules.may_close(QM, "dismissed", "serious", "team").allowed
    assert rules.may_close(QM, "closed", "general", "team").kind == "conflict"
    assert rules.may_set_archive(SM, "team").allowed
    assert rules.may_set_archive(MEMBER, "team").kind == "forbidden"
    assert rules.may_classify(QM, "open", "general", "general").kind == "conflict"


def test_end_of_support_starts_on_its_day() -> None:
    assert not rules.past_end_of_support(None, NOW)
    assert not rules.past_end_of_support(date(2026, 3, 16), NOW)
    assert rules.past_end_of_support(date(2026, 3, 15), NOW)
    assert rules.withdrawn_reason(date(2026, 3, 15)).startswith(
        "support of this version ended on 2026-03-15: it is withdrawn"
    )
    assert rules.earliest(None, None) is None
    assert rules.earliest(date(2026, 3, 16), None, date(2026, 3, 15)) == date(2026, 3, 15)


def test_input_parsing() -> None:
    assert rules.issue_id("Q-17") == rules.issue_id("17") == 17
    assert rules.issue_id("Q-0") is None and rules.issue_id("X-1") is None
    assert rules.parse_date("2026-02-30") is None and rules.parse_date("2026-2-3") is None
    assert rules.parse_date("2026-02-28") == date(2026, 2, 28)
    assert all(rules.valid_period(p) for p in ("2026", "2026-H1", "2026-Q4", "2026-07"))
    assert not any(rules.valid_period(p) for p in ("2026-H3", "26-H1", "2026-13", "spring"))
    assert rules.parse_ref("team/app@1.0.0") == ("team", "app", "1.0.0")
    assert rules.parse_ref("team/app") is None and rules.parse_ref("team/a/b@1") is None
    assert rules.serious_reason(["Q-10", "Q-9"]).startswith("serious quality issue Q-9, Q-10")


def test_trends_cover_twelve_months_across_a_year_end() -> None:
    found = rules.trends(
        [
            (datetime(2026, 3, 1, tzinfo=UTC), "serious"),
            (datetime(2025, 4, 30, tzinfo=UTC), "general"),
            (datetime(2025, 3, 31, tzinfo=UTC), "general"),  # outside the window
        ],
        NOW,
    )
    assert found[0]["month"] == "2025-04" and found[-1]["month"] == "2026-03"
    assert (found[0]["general"], found[-1]["serious"]) == (1, 1)
    assert sum(int(m["total"]) for m in found) == 2  # type: ignore[call-overload]
    assert rules.first_of_window(NOW) == datetime(2025, 4, 1, tzinfo=UTC)
