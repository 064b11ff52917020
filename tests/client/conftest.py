"""A live Depot server on 127.0.0.1 (werkzeug, threaded) for the CLI to talk to over HTTP.

The client's behaviour does not depend on the database, so these run on SQLite; the
server suite covers PostgreSQL, and tests/e2e runs the real gunicorn server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from client.main import cli
from repo_server.clock import FrozenClock
from tests.fixtures.servers import serve
from tests.support import DatabaseTemplates, World, make_settings, running_world


@dataclass
class Live:
    world: World
    url: str
    config_dir: Path

    def depot(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        config: bool = True,
    ) -> Result:
        base = {
            "DEPOT_CONFIG_DIR": str(self.config_dir),
            "DEPOT_URL": "",
            "DEPOT_TOKEN": "",
            "COLUMNS": "200",
        }
        if not config:
            base["DEPOT_CONFIG_DIR"] = str(self.config_dir / "none")
        return CliRunner().invoke(
            cli, list(args), input=input, env={**base, **(env or {})}, catch_exceptions=False
        )

    def json(self, *args: str, **kwargs: Any) -> Any:
        result = self.depot("--json", *args, **kwargs)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def login(self, user: str, password: str = "correct horse battery staple") -> None:
        result = self.depot(
            "login", "--server", self.url, "--user", user, "--password-stdin", input=password + "\n"
        )
        assert result.exit_code == 0, result.output


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    templates = DatabaseTemplates(tmp_path, None)
    settings = make_settings(tmp_path / "server", templates.sqlite(tmp_path))
    # The CLI checks signed times against the real clock, so the server starts at "now".
    with (
        running_world(settings, FrozenClock(datetime.now(UTC))) as world,
        serve(world.app) as url,
    ):
        yield Live(world, url, tmp_path / "client-config")


@pytest.fixture
def team(live: Live) -> Live:
    """alice (software manager) and bob (member) in ``team``, with ``team/app@1.0.0``.

    dave is in ``other`` only."""
    world = live.world
    for name in ("alice", "bob", "dave"):
        world.user(name)
    world.group("team", {"alice": ("member", "software_manager"), "bob": "member"})
    world.group("other", {"dave": "member"})
    world.product("team", "app", world.tokens["alice"])
    world.version("team", "app", "1.0.0", world.tokens["alice"])
    return live


@pytest.fixture
def lib(live: Live) -> Live:
    """``team``: alice (software manager), bob (member), carol and olga (acceptance
    officers); victor (version manager); ``team/app@1.0.0``, a draft, no files yet."""
    world = live.world
    for name in ("alice", "bob", "carol", "olga"):
        world.user(name)
    world.user("victor", roles=("version_manager",))
    world.group(
        "team",
        {
            "alice": ("member", "software_manager"),
            "bob": "member",
            "carol": "acceptance_officer",
            "olga": "acceptance_officer",
        },
    )
    world.product("team", "app", world.tokens["alice"])
    world.version("team", "app", "1.0.0", world.tokens["alice"])
    return live
