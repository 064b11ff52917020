"""Fixtures for directory sign-in: a real slapd per test, and Depot servers using it.

Every server test runs on SQLite and on PostgreSQL, like tests/repo_server. The fixtures
themselves live in tests/fixtures/directory.py (shared with tests/browser); here they get
the short names this package's tests use.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.directory import ROOT_PASSWORD, MakeWorld, ldap_settings, populate
from tests.support import World

__all__ = ["ROOT_PASSWORD", "MakeWorld", "ldap_settings", "populate"]


@pytest.fixture
def make_world(make_ldap_world: MakeWorld) -> MakeWorld:
    """Build a server on this test's database with the directory settings, overridden
    (``make_ldap_world``)."""
    return make_ldap_world


@pytest.fixture
def world(ldap_world: World) -> World:
    """A server signing people in through the test directory (``ldap_world``)."""
    return ldap_world


@pytest.fixture
def live_url(ldap_live_url: str) -> str:
    """The test server over real HTTP on 127.0.0.1 (``ldap_live_url``)."""
    return ldap_live_url


def __getattr__(name: str) -> Any:
    """The fixtures that moved to the shared plugin stay importable from here."""
    from tests.fixtures import databases, directory

    if name in {"test_ca", "directory", "mapping_file"}:
        return getattr(directory, name)
    if name in {"db_templates", "database_url", "clock"}:
        return getattr(databases, name)
    raise AttributeError(name)
