"""Fixtures for directory sign-in: a real slapd per test, and Depot servers using it.

Every server test runs on SQLite and on PostgreSQL, like tests/repo_server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from repo_server.app import create_app
from repo_server.auth.principal import system
from repo_server.clock import FrozenClock
from tests.ldap.directory import (
    GROUPS,
    MAPPING,
    PEOPLE,
    SERVICE_DN,
    SERVICE_PASSWORD,
    DirectoryCA,
    LiveDirectory,
    make_ca,
)
from tests.support import DatabaseTemplates, World, make_settings, running_world

#: The local break-glass admin of every test server, and its password.
ROOT_PASSWORD = "break-glass admin password"

MakeWorld = Callable[..., World]


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> DirectoryCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def directory(
    tmp_path_factory: pytest.TempPathFactory, test_ca: DirectoryCA
) -> Iterator[LiveDirectory]:
    """A fresh slapd with the people and groups of tests/ldap/directory.py."""
    running = LiveDirectory(tmp_path_factory.mktemp("slapd"), test_ca)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "ldap-mapping.toml"
    path.write_text(MAPPING)
    return path


def ldap_settings(directory: LiveDirectory, mapping_file: Path, **overrides: Any) -> dict[str, Any]:
    """Settings for a server signing people in through ``directory``."""
    values: dict[str, Any] = {
        "ldap_url": directory.url,
        "ldap_bind_dn": SERVICE_DN,
        "ldap_bind_password": SERVICE_PASSWORD,
        "ldap_user_base": PEOPLE,
        "ldap_group_base": GROUPS,
        "ldap_disabled_filter": "(employeeType=disabled)",
        "ldap_mapping_file": str(mapping_file),
        "ldap_nesting_depth": 2,
        "ldap_recheck_interval": 300,
        "ldap_timeout": 2,
        "break_glass_accounts": "root",
    }
    values.update(overrides)
    return values


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


def populate(world: World) -> None:
    """Project groups named by the mapping, and the local break-glass admin ``root``."""
    world.depot.accounts.create_user(system(), "root", ROOT_PASSWORD, roles=["admin"])
    for name in ("payments", "ops", "deep"):
        world.depot.groups.create(system(), name)


@pytest.fixture
def make_world(
    tmp_path: Path,
    database_url: str,
    clock: FrozenClock,
    directory: LiveDirectory,
    mapping_file: Path,
) -> Iterator[MakeWorld]:
    """Build a server on this test's database with the directory settings, overridden.

    The first one prepares the database (keys, groups, the break-glass admin); later ones
    are more app nodes on the same database, with other settings.
    """
    with ExitStack() as stack:
        count = 0

        def build(**overrides: Any) -> World:
            nonlocal count
            count += 1
            settings = make_settings(
                tmp_path / f"server-{count}",
                database_url,
                **ldap_settings(directory, mapping_file, **overrides),
            )
            if count > 1:
                world = World(create_app(settings, clock=clock), clock)
                stack.callback(world.depot.close)
                return world
            world = stack.enter_context(running_world(settings, clock))
            populate(world)
            return world

        yield build


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    """A server signing people in through the test directory (plain LDAP, service
    account), with groups payments, ops and deep, and the local admin ``root``."""
    return make_world()


@pytest.fixture
def live_url(world: World) -> Iterator[str]:
    """The test server over real HTTP on 127.0.0.1 (werkzeug, threaded), for the ``depot``
    command and the browser."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, world.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
