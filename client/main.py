"""The ``depot`` command.

A command's module is imported when the command runs, and ``depot --help`` lists the
summaries of :data:`COMMANDS` without importing any: ``depot ls`` does not load the trust
rules and their cryptography, nor the other commands — each ``depot`` process starts in a
fraction of the time all of them take.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import NamedTuple

import click

from client.errors import EXIT_HELP, ClientError, Exit


class Listed(NamedTuple):
    """A command of ``depot``: the module and attribute that define it, and the first
    sentence of its help (what ``depot --help`` lists without importing the module; a test
    checks that it is the command's own)."""

    target: str
    summary: str


#: Every command of ``depot``.
COMMANDS = {
    "login": Listed(
        "auth:login",
        "Sign in; the token is kept for this server only (OS keyring, else a 0600 file).",
    ),
    "logout": Listed("auth:logout", "Revoke your sign-in token and forget it."),
    "whoami": Listed("auth:whoami", "Show who you are signed in as, your roles and groups."),
    "passwd": Listed("auth:passwd", "Change your password."),
    "ls": Listed(
        "browse:ls",
        "List your groups, a group's products, a product's versions, or a version's files.",
    ),
    "search": Listed(
        "browse:search",
        "Search your groups' products, versions and files by name, or files by sha256.",
    ),
    "push": Listed(
        "transfer:push",
        "Upload files, folders and globs into GROUP/PRODUCT@VERSION, verified by sha256.",
    ),
    "pull": Listed(
        "transfer:pull",
        "Download the files of GROUP/PRODUCT@VERSION (or those PATTERNS name), verified.",
    ),
    "provenance": Listed(
        "provenance:provenance",
        "Signed build provenance: keys, attestations for pushes, what a version holds.",
    ),
    "group": Listed("manage:group", "Project groups and their members."),
    "product": Listed("manage:product", "Software products."),
    "version": Listed("manage:version", "Versions of products."),
    "user": Listed("manage:user", "Accounts (admins)."),
    "token": Listed("tokens:token", "API tokens for CI pipelines."),
    "audit": Listed(
        "audit:audit",
        "Show audit records, oldest first (auditors and admins); `depot audit verify` checks"
        " that the server's log only grew since this client last looked.",
    ),
    "upgrade": Listed(
        "lifecycle:upgrade",
        "Upgrade requests: asking to create a new version of a product in the library.",
    ),
    "submit": Listed(
        "lifecycle:submit",
        "Deliver draft GROUP/PRODUCT@VERSION for acceptance (software managers).",
    ),
    "accept": Listed(
        "lifecycle:accept", "Accept GROUP/PRODUCT@VERSION with a test report (acceptance officers)."
    ),
    "reject": Listed(
        "lifecycle:reject",
        "Reject GROUP/PRODUCT@VERSION with a test report and a comment (acceptance officers).",
    ),
    "checkin": Listed(
        "lifecycle:checkin", "Check-in requests: taking an accepted version into the library."
    ),
    "checkout": Listed(
        "lifecycle:checkout", "Check-out requests: taking a version in the library out for use."
    ),
    "requests": Listed(
        "requests:requests",
        "List requests: by default those that wait for your decision (your inbox).",
    ),
    "request": Listed(
        "requests:request_show",
        "Show request ID (12 or #12) in full: `depot request 12` or `depot request show 12`.",
    ),
    "approve": Listed(
        "requests:approve",
        "Approve request ID (12 or #12): a registration, an upgrade, a check-in or a check-out.",
    ),
    "refuse": Listed(
        "requests:refuse", "Refuse request ID (12 or #12), with a comment saying why."
    ),
    "history": Listed(
        "lifecycle:history",
        "Everything that happened to GROUP/PRODUCT@VERSION and its files, oldest first.",
    ),
    "retire": Listed(
        "lifecycle:retire", "Retire checked-in GROUP/PRODUCT@VERSION (version managers)."
    ),
    "register": Listed(
        "registers:register",
        "The library register: every version in the library (version managers, auditors).",
    ),
    "item": Listed(
        "registers:item",
        "Physical items (install media, licence dongles, manuals) and their custody.",
    ),
    "feedback": Listed(
        "lifecycle:feedback",
        "List the usage feedback on GROUP/PRODUCT@VERSION, or record some with --text.",
    ),
    "trust": Listed("trust:trust", "The root key this client trusts for a server (pinned once)."),
    "verify": Listed(
        "trust:verify", "Verify FILES against a bundle, offline: no server is asked anything."
    ),
    "keys": Listed(
        "trust:keys", "Your personal signing key: approvals made with the CLI carry your signature."
    ),
    "service": Listed(
        "service:service",
        "Service tickets and complaints against a product version (the service module).",
    ),
    "quality": Listed(
        "quality:quality",
        "Quality issues, quarantines, the quality archive and suppliers (quality module).",
    ),
    "witness": Listed(
        "witness:witness",
        "Witness a server's log from outside it: keep its checkpoints, check that each new one"
        " extends the last, cosign it (tlog-cosignature/v1) and post the cosignature back.",
    ),
    "stand-in": Listed(
        "notify:stand_in",
        "Stand-ins: someone who decides in a version manager's place for a period.",
    ),
    "notify": Listed("notify:notify", "Which mail you get about requests."),
}


def load_command(name: str) -> click.Command:
    """The command ``name`` of :data:`COMMANDS`, its module imported now."""
    module, attribute = COMMANDS[name].target.split(":")
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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``depot --help``, from :data:`COMMANDS`' summaries for the
        commands not loaded (as click's, which would import every command's module)."""
        entries = [
            (name, self.commands.get(name) or click.Command(name, help=COMMANDS[name].summary))
            for name in self.list_commands(ctx)
        ]
        shown = [(name, command) for name, command in entries if not command.hidden]
        if shown:
            limit = formatter.width - 6 - max(len(name) for name, _ in shown)
            with formatter.section("Commands"):
                formatter.write_dl([(n, c.get_short_help_str(limit)) for n, c in shown])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(load_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ClientError as error:
            from client.context import Context
            from client.output import Output

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
    # Imported here, not at the top: `depot --help` never runs this and starts without
    # the HTTP client, rich and the keyring (issue 15: under 150 ms).
    from client.context import Context
    from client.output import Output

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
    # Every option can also come from DEPOT_<COMMAND>_<OPTION> (DEPOT_PUSH_THREADS=8,
    # DEPOT_PULL_OUTPUT=dist); those with a variable of their own (DEPOT_URL,
    # DEPOT_BUILD_ID, ...) keep it.
    cli(prog_name="depot", auto_envvar_prefix="DEPOT")


__all__ = ["Exit", "cli", "main"]
