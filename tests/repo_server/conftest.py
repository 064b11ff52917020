"""Fixtures for the server tests: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from repo_server.clock import FrozenClock
from tests.support import DatabaseTemplates, World, make_settings, running_world


@pytest.fixture(scope="session")
def db_templates(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[DatabaseTemplates]:
    admin = request.getfixturevalue("postgres_server")
    templates = DatabaseTemplates(tmp_path_factory.mktemp("db-templates"), admin)
    yield templates
    templates.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, db_templates: DatabaseTemplates
) -> Iterator[str]:
    url = db_templates.sqlite(tmp_path) if request.param == "sqlite" else db_templates.postgres()
    yield url
    db_templates.drop(url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def world(tmp_path: Path, database_url: str, clock: FrozenClock) -> Iterator[World]:
    with running_world(make_settings(tmp_path, database_url), clock) as w:
        yield w


@pytest.fixture
def team(world: World) -> World:
    """A group ``team`` (alice: software manager + member, bob: member, carol: officer),
    a group ``other`` (dave), an admin ``root``, and a product ``team/app`` with a draft
    version ``1.0.0``."""
    for name in ("alice", "bob", "carol", "dave"):
        world.user(name)
    world.user("root", roles=("admin",))
    world.group(
        "team",
        {"alice": ("member", "software_manager"), "bob": "member", "carol": "acceptance_officer"},
    )
    world.group("other", {"dave": "member"})
    world.product("team", "app", world.tokens["alice"])
    world.version("team", "app", "1.0.0", world.tokens["alice"])
    return world


@pytest.fixture
def lib(world: World) -> World:
    """``team``: alice (software manager), bob (member), carol (acceptance officer);
    victor (version manager), ivy (auditor), dave (in ``other`` only); ``team/app@1.0.0``
    with an artifact uploaded by bob."""
    return populate_lib(world)


def populate_lib(world: World) -> World:
    """Set up the people, groups and version of the ``lib`` fixture in ``world``."""
    for name in ("alice", "bob", "carol", "dave"):
        world.user(name)
    world.user("victor", roles=("version_manager",))
    world.user("ivy", roles=("auditor",))
    world.group(
        "team",
        {"alice": ("member", "software_manager"), "bob": "member", "carol": "acceptance_officer"},
    )
    world.group("other", {"dave": "member"})
    world.product("team", "app", world.tokens["alice"])
    world.version("team", "app", "1.0.0", world.tokens["alice"])
    assert (
        world.upload("team/app@1.0.0", "app.tar.gz", b"the build", world.tokens["bob"]).status_code
        == 201
    )
    assert (
        world.upload(
            "team/app@1.0.0", "manual.pdf", b"%PDF", world.tokens["bob"], role="document"
        ).status_code
        == 201
    )
    return world
