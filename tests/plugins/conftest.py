"""Fixtures for the business modules' tests: a Depot with plugins enabled and their
tables migrated, through the test client (SQLite and PostgreSQL), as a live server for
the CLI (SQLite), and as a live server for Chromium.

The core's suites (tests/repo_server, tests/client, ...) run with no plugin enabled.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from repo_server.clock import FrozenClock
from repo_server.db import Database
from repo_server.migrate import upgrade
from tests.client.conftest import Live
from tests.fixtures import servers
from tests.fixtures.servers import sign_in
from tests.support import DatabaseTemplates, World, make_settings, running_world

__all__ = ["Live", "MakeWorld", "migrate_plugins", "screenshot", "serve", "sign_in"]

#: Start a Depot with the named plugins enabled; keyword arguments are the plugins'
#: options (``product_service={"warranty_days": 30}``), and ``settings={...}`` overrides
#: core settings (``settings={"download_recheck_seconds": 0}``).
MakeWorld = Callable[..., World]


def migrate_plugins(url: str, plugins: tuple[str, ...]) -> None:
    """Add the tables of ``plugins`` to a database the core's migrations built."""
    db = Database(url)
    try:
        upgrade(db, plugins=plugins)
    finally:
        db.dispose()


@pytest.fixture
def make_world(
    tmp_path: Path, database_url: str, clock: FrozenClock, db_templates: DatabaseTemplates
) -> Iterator[MakeWorld]:
    """A factory: ``make_world("quality")`` is a running Depot (test client) with the
    quality module enabled, on SQLite and on PostgreSQL.

    The first Depot of a test runs on a copy of a template already migrated for its
    plugins (of the same kind as ``database_url``); the next ones share that database and
    migrate it in place for theirs."""
    with ExitStack() as stack:
        shared: list[str] = []

        def make(*plugins: str, **options: dict[str, Any]) -> World:
            if not shared:
                if database_url.startswith("sqlite"):
                    url = db_templates.sqlite(tmp_path / "with-plugins", plugins)
                else:
                    url = db_templates.postgres(plugins)
                    stack.callback(db_templates.drop, url)
                shared.append(url)
            else:
                migrate_plugins(shared[0], plugins)
            core = options.pop("settings", {})
            settings = make_settings(
                tmp_path, shared[0], plugins=",".join(plugins), plugin=options, **core
            )
            return stack.enter_context(running_world(settings, clock))

        yield make


def serve(stack: ExitStack, world: World) -> str:
    """Serve ``world`` on 127.0.0.1 (werkzeug, threaded) until ``stack`` closes; its URL."""
    return stack.enter_context(servers.serve(world.app))


@pytest.fixture
def make_live(tmp_path: Path) -> Iterator[Callable[..., Live]]:
    """A factory (once per test): ``make_live("quality")`` is a live server (SQLite, the
    clock at "now", as the CLI checks signed times against the real clock) with the
    plugins enabled, and a ``depot`` command to call it with (tests/client/conftest.py)."""
    with ExitStack() as stack:

        def make(*plugins: str, **options: dict[str, Any]) -> Live:
            url = DatabaseTemplates(tmp_path, None).sqlite(tmp_path, plugins)
            core = options.pop("settings", {})
            settings = make_settings(
                tmp_path / "server", url, plugins=",".join(plugins), plugin=options, **core
            )
            world = stack.enter_context(running_world(settings, FrozenClock(datetime.now(UTC))))
            return Live(world, serve(stack, world), tmp_path / "client-config")

        yield make


def screenshot(page: Page, name: str) -> None:
    """Keep a picture of ``page`` in ``$DEPOT_SCREENSHOTS`` when that is set."""
    folder = os.environ.get("DEPOT_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)
