"""The root of the suite: the shared fixtures come from the plugin modules of tests/fixtures.

- tests/fixtures/services.py: ``moto_endpoint``, ``s3_bucket``, ``postgres_server``,
  ``browser`` — real components started once per session (per xdist worker).
- tests/fixtures/databases.py: ``db_templates``, ``database_url`` (SQLite and PostgreSQL),
  ``clock``.
- tests/fixtures/servers.py: ``serve_app`` (a Depot over real HTTP on 127.0.0.1).
- tests/fixtures/directory.py: ``test_ca``, ``directory`` (a real slapd), ``mapping_file``.

A test package's own conftest builds on these by name; it never imports another package's
conftest. The names this module used to define are still importable from here.
"""

from __future__ import annotations

from typing import Any

from tests.fixtures import PLUGINS

pytest_plugins = PLUGINS

#: What tests used to import from here; now in tests/fixtures/services.py.
_MOVED = {
    "ARGS",
    "CHROMIUM",
    "POSTGRES_ADMIN_URL",
    "create_postgres_database",
    "drop_postgres_database",
    "moto_endpoint",
    "s3_bucket",
    "postgres_server",
    "browser",
}


def __getattr__(name: str) -> Any:
    """``from tests.conftest import create_postgres_database`` (or a fixture) still works.

    Looked up lazily: importing the plugin modules here, before pytest does, would keep
    pytest from rewriting their asserts, and fixtures that are attributes of this module
    would be registered twice."""
    if name in _MOVED:
        from tests.fixtures import services

        return getattr(services, name)
    raise AttributeError(name)
