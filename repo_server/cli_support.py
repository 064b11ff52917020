"""What every ``depot-server`` command shares: its context, output and error handling."""

from __future__ import annotations

import functools
import getpass
import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from repo_server.auth.principal import Principal, system
from repo_server.core import Depot, build_depot
from repo_server.errors import DepotError
from repo_server.settings import Settings, SettingsError
from storage import StorageError

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class Ctx:
    """What every command gets: the settings, and the services built on first use."""

    def __init__(self, settings: Settings, as_json: bool) -> None:
        self.settings = settings
        self.as_json = as_json
        self._depot: Depot | None = None
        #: The root key a quick start generated (set by ``prepare``), to announce once.
        self.root_key: Path | None = None

    @property
    def depot(self) -> Depot:
        if self._depot is None:
            self._depot = build_depot(self.settings)
        return self._depot

    @property
    def principal(self) -> Principal:
        base = system()
        origin = f"cli:{getpass.getuser()}@{socket.gethostname()}"
        return Principal(base.user_id, base.username, base.actor, origin[:64])


def fail(message: str, code: int = 1) -> None:
    """Print ``message`` to stderr and exit with ``code``."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    sys.exit(code)


def handled(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain, settings and storage errors into a message and an exit code."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except DepotError as error:
            fail(error.message, {404: 4, 409: 5, 401: 3, 403: 7, 422: 6}.get(error.status, 1))
        except (SettingsError, StorageError) as error:
            fail(str(error))
        except sa.exc.SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()
            fail(f"the database is not usable: {reason[0] if reason else type(error).__name__}")
        except ValueError as error:  # policy errors: bad names, versions
            fail(str(error), 8)

    return wrapper


def emit(ctx: Ctx, data: Any, table: Table | None = None, text: str | None = None) -> None:
    """Print ``data`` as JSON with --json, else the table or text."""
    if ctx.as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif table is not None:
        console.print(table, soft_wrap=False)
    elif text is not None:
        console.print(text, highlight=False)


pass_ctx = click.make_pass_decorator(Ctx)


def _json_after_the_command(click_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # The top-level callback has already built the Ctx when a subcommand parses its own
    # options, so a --json given after the command name turns JSON output on there.
    found = click_ctx.find_object(Ctx)
    if value and found is not None:
        found.as_json = True


def accept_json_anywhere(command: click.Command) -> None:
    """Give ``command`` and every command under it a ``--json`` flag of its own.

    Called once by ``repo_server.cli`` after every command is registered, so that
    ``depot-server ldap sync --json`` works as well as ``depot-server --json ldap sync``.
    """
    names = {opt for param in command.params for opt in getattr(param, "opts", ())}
    if "--json" not in names:
        command.params.append(
            click.Option(
                ["--json"],
                is_flag=True,
                expose_value=False,
                callback=_json_after_the_command,
                help="Machine-readable output.",
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_json_anywhere(sub)


def read_password(from_stdin: bool, confirm: bool = True) -> str:
    """A password from standard input (scripts) or a hidden prompt (people)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on standard input", 2)
        return password
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return value
