"""The ``depot`` command.

A command's module is imported when the command runs (or when ``--help`` lists them):
``depot ls`` does not load the trust rules and their cryptography, nor the other
commands — each ``depot`` process starts in a fraction of the time all of them take.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from client.context import Context
from client.errors import EXIT_HELP, ClientError, Exit
from client.output import Output

#: Every command of ``depot``: its name, and the module and attribute that define it.
COMMANDS = {
    "login": "auth:login",
    "logout": "auth:logout",
    "whoami": "auth:whoami",
    "passwd": "auth:passwd",
    "ls": "browse:ls",
    "search": "browse:search",
    "push": "transfer:push",
    "pull": "transfer:pull",
    "group": "manage:group",
    "product": "manage:product",
    "version": "manage:version",
    "user": "manage:user",
    "token": "tokens:token",
    "audit": "audit:audit",
    "upgrade": "lifecycle:upgrade",
    "submit": "lifecycle:submit",
    "accept": "lifecycle:accept",
    "reject": "lifecycle:reject",
    "checkin": "lifecycle:checkin",
    "checkout": "lifecycle:checkout",
    "requests": "requests:requests",
    "request": "requests:request_show",
    "approve": "requests:approve",
    "refuse": "requests:refuse",
    "history": "lifecycle:history",
    "retire": "lifecycle:retire",
    "feedback": "lifecycle:feedback",
    "register": "registers:register",
    "item": "registers:item",
    "trust": "trust:trust",
    "verify": "trust:verify",
    "keys": "trust:keys",
    "service": "service:service",
    "quality": "quality:quality",
    "witness": "witness:witness",
}


def load_command(name: str) -> click.Command:
    """The command ``name`` of :data:`COMMANDS`, its module imported now."""
    module, attribute = COMMANDS[name].split(":")
    command: click.Command = getattr(
        importlib.import_module(f"client.commands.{module}"), attribute
    )
    if name == "trust" and isinstance(command, click.Group) and "witness" not in command.commands:
        from client.commands.witness import trust_witness

        command.add_command(trust_witness)
    return command


class DepotGroup(click.Group):
    """Runs a command and turns every ``ClientError`` into a message and an exit code;
    loads each command's module only when it is asked for (:data:`COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(load_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ClientError as error:
            output = ctx.obj.output if isinstance(ctx.obj, Context) else Output()
            output.error(error)
            sys.exit(int(error.exit_code))
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(130)


@click.group(
    cls=DepotGroup, epilog=EXIT_HELP, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--server", envvar="DEPOT_URL", help="Server URL (default: from `depot login`; DEPOT_URL)."
)
@click.option(
    "--profile",
    envvar="DEPOT_PROFILE",
    help="Which saved sign-in to use (default: `default`; DEPOT_PROFILE).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or notes.")
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="DEPOT_CONFIG_DIR",
    help="Where the client keeps its config (default ~/.config/depot).",
)
@click.version_option(package_name="depot", prog_name="depot")
@click.pass_context
def cli(
    click_ctx: click.Context,
    server: str | None,
    profile: str | None,
    as_json: bool,
    quiet: bool,
    config_dir: Path | None,
) -> None:
    """Depot: the bank's governed software artifact repository.

    Sign in with `depot login`, then list with `depot ls`, upload with `depot push` and
    download, verified, with `depot pull`. CI pipelines set DEPOT_URL and DEPOT_TOKEN.
    """
    context = Context(
        Output(as_json=as_json, quiet=quiet),
        server_option=server or None,
        profile_option=profile or None,
    )
    if config_dir is not None:
        context.directory = config_dir
    click_ctx.obj = context


def main() -> None:
    """Entry point of the ``depot`` console script."""
    cli(prog_name="depot")


__all__ = ["Exit", "cli", "main"]
