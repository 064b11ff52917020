"""The ``depot`` command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from client.commands.audit import audit
from client.commands.auth import login, logout, passwd, whoami
from client.commands.browse import ls, search
from client.commands.lifecycle import (
    accept,
    checkin,
    checkout,
    feedback,
    history,
    reject,
    retire,
    submit,
    upgrade,
)
from client.commands.manage import group, product, user, version
from client.commands.quality import quality
from client.commands.requests import approve, refuse, request_show, requests
from client.commands.service import service
from client.commands.tokens import token
from client.commands.transfer import pull, push
from client.commands.trust import keys, trust, verify
from client.commands.witness import trust_witness, witness
from client.context import Context
from client.errors import EXIT_HELP, ClientError, Exit
from client.output import Output


class DepotGroup(click.Group):
    """Runs a command and turns every ``ClientError`` into a message and an exit code."""

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


for command in (
    login,
    logout,
    whoami,
    passwd,
    ls,
    search,
    push,
    pull,
    group,
    product,
    version,
    user,
    token,
    audit,
    upgrade,
    submit,
    accept,
    reject,
    checkin,
    checkout,
    requests,
    request_show,
    approve,
    refuse,
    history,
    retire,
    feedback,
    trust,
    verify,
    keys,
    service,
    quality,
    witness,
):
    cli.add_command(command)
trust.add_command(trust_witness)


def main() -> None:
    """Entry point of the ``depot`` console script."""
    cli(prog_name="depot")


__all__ = ["Exit", "cli", "main"]
