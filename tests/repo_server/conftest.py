"""Fixtures for the server tests: every test runs on SQLite and on PostgreSQL.

``database_url``, ``db_templates`` and ``clock`` come from tests/fixtures/databases.py;
the people and versions of ``team`` and ``lib`` from tests/fixtures/factories.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from repo_server.clock import FrozenClock
from tests.fixtures.factories import populate_lib, populate_team
from tests.support import World, make_settings, running_world

__all__ = ["populate_lib", "populate_team"]


@pytest.fixture
def world(tmp_path: Path, database_url: str, clock: FrozenClock) -> Iterator[World]:
    with running_world(make_settings(tmp_path, database_url), clock) as w:
        yield w


@pytest.fixture
def team(world: World) -> World:
    """A group ``team`` (alice: software manager + member, bob: member, carol: officer),
    a group ``other`` (dave), an admin ``root``, and a product ``team/app`` with a draft
    version ``1.0.0``."""
    return populate_team(world)


@pytest.fixture
def lib(world: World) -> World:
    """``team``: alice (software manager), bob (member), carol (acceptance officer);
    victor (version manager), ivy (auditor), dave (in ``other`` only); ``team/app@1.0.0``
    with an artifact uploaded by bob."""
    return populate_lib(world)


def __getattr__(name: str) -> Any:
    """``from tests.repo_server.conftest import clock, database_url, db_templates`` still
    works: they moved to the shared plugin (tests/fixtures/databases.py)."""
    from tests.fixtures import databases

    if name in {"clock", "database_url", "db_templates"}:
        return getattr(databases, name)
    raise AttributeError(name)
