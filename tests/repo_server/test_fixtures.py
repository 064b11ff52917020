"""The suite's own set-up keeps its promises: a recycled PostgreSQL database is like a new
one, and a copied keyring is the one the server would have made and can sign with."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from repo_server.clock import FrozenClock
from tests.fixtures.databases import DatabaseTemplates
from tests.support import World, make_settings, running_world

INSERT = (
    "INSERT INTO audit_events (at, actor, action, outcome, target, rule, reason, "
    "remote_addr, details, leaf_index, leaf) VALUES ('2026-01-01 00:00:00', 'alice', "
    "'file.upload', 'ok', 't/p@1.0.0/a', '', '', '127.0.0.1', '{}', :leaf, 'x') RETURNING id"
)


def test_a_recycled_postgres_database_is_like_a_new_one(db_templates: DatabaseTemplates) -> None:
    url = db_templates.postgres()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            seeded = conn.execute(sa.text("SELECT id, size FROM log_state")).all()
            assert conn.execute(sa.text(INSERT), {"leaf": 0}).scalar_one() == 1
            assert conn.execute(sa.text(INSERT), {"leaf": 1}).scalar_one() == 2
            conn.execute(sa.text("UPDATE log_state SET size = 7"))
    finally:
        engine.dispose()
    db_templates.drop(url)

    again = db_templates.postgres()
    assert again == url  # the same database, emptied
    engine = sa.create_engine(again)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one() == 0
            assert conn.execute(sa.text("SELECT id, size FROM log_state")).all() == seeded
            # The sequences start again.
            assert conn.execute(sa.text(INSERT), {"leaf": 0}).scalar_one() == 1
            conn.execute(sa.text("CREATE TABLE stray (id integer)"))
    finally:
        engine.dispose()
    db_templates.drop(again)

    # A schema a test changed is not handed out again for the template's schema.
    assert db_templates.postgres() != again


def test_a_copied_keyring_signs_like_a_new_one(tmp_path: Path) -> None:
    templates = DatabaseTemplates(tmp_path, None)
    clock = FrozenClock()
    fingerprints, roots = [], []
    for name in ("first", "second"):
        settings = make_settings(tmp_path / name, templates.sqlite(tmp_path / name))
        with running_world(settings, clock) as world:
            world.user("alice")
            fingerprints.append(world.depot.keys.fingerprint())
            roots.append(world.root_keys)
            keyring = world.call("GET", "/api/v1/trust/keyring/1")
            assert keyring.status_code == 200, keyring.json
            files = sorted(p.name for p in world.depot.keys.folder.glob("*.pem"))
            assert files and all(
                (world.depot.keys.folder / f).stat().st_mode & 0o077 == 0 for f in files
            )
            assert _signs(world)
    assert fingerprints[0] == fingerprints[1]
    assert roots[0][0].private_bytes_raw() == roots[1][0].private_bytes_raw()


def _signs(world: World) -> bool:
    envelope = world.depot.keys.sign("status", "application/vnd.test", b"{}")
    return bool(envelope.signatures)
