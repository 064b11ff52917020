"""``depot-server``: run and administer a Depot server on the machine it runs on.

Every command here has an API equivalent for remote use; these act directly on the
database and blob store named by the settings, and are recorded in the audit trail as
the ``system`` user, with the operating-system account that ran them.
"""

from __future__ import annotations

import getpass
import json
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from repo_server.auth.principal import Principal, system
from repo_server.core import Depot, build_depot
from repo_server.errors import DepotError
from repo_server.settings import Settings, SettingsError, load_settings
from storage import StorageError

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class Ctx:
    """What every command gets: the settings, and the services built on first use."""

    def __init__(self, settings: Settings, as_json: bool) -> None:
        self.settings = settings
        self.as_json = as_json
        self._depot: Depot | None = None

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
    import functools

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except DepotError as error:
            fail(error.message, {404: 4, 409: 5, 401: 3, 403: 7, 422: 6}.get(error.status, 1))
        except (SettingsError, StorageError) as error:
            fail(str(error))
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    envvar="DEPOT_CONFIG",
    help="TOML settings file (also DEPOT_CONFIG).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data folder of the embedded default (also DEPOT_DATA_DIR).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def main(
    click_ctx: click.Context, config_file: str | None, data_dir: Path | None, as_json: bool
) -> None:
    """Run and administer a Depot server."""
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    try:
        settings = load_settings(config_file=config_file, **overrides)
    except SettingsError as error:
        fail(str(error), 2)
    click_ctx.obj = Ctx(settings, as_json)
    click_ctx.call_on_close(lambda: click_ctx.obj._depot and click_ctx.obj._depot.close())


pass_ctx = click.make_pass_decorator(Ctx)


def prepare(ctx: Ctx) -> str | None:
    """Migrate the database, check the blob store, create the first admin if needed."""
    from repo_server.migrate import upgrade

    settings = ctx.settings
    if not settings.database_url or not settings.storage_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(ctx.depot.db)
    ctx.depot.store.check()
    return ctx.depot.auth.ensure_first_admin(ctx.principal)


def announce_admin(ctx: Ctx, password: str | None) -> None:
    """Tell the operator, once, how the first admin signs in."""
    if password is None:
        return
    url = ctx.settings.effective_public_url
    console.print(
        "\n[bold]First start: created the admin account.[/]\n"
        "  user name: [bold]admin[/]\n"
        f"  password:  [bold]{password}[/]\n"
        "  (shown only this once; change it with `depot passwd`)\n"
        f"Sign in with:  depot login --server {url} --user admin\n",
        highlight=False,
    )


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8080).")
@click.option("--workers", type=int, help="Worker processes (default 2).")
@click.option("--threads", type=int, help="Threads per worker (default 8).")
@pass_ctx
@handled
def run(
    ctx: Ctx, host: str | None, port: int | None, workers: int | None, threads: int | None
) -> None:
    """Start the server (migrating the database first)."""
    from dataclasses import replace

    from repo_server.serve import DepotServer

    given: dict[str, Any] = {"host": host, "port": port, "workers": workers, "threads": threads}
    changes = {key: value for key, value in given.items() if value}
    ctx.settings = replace(ctx.settings, **changes)
    password = prepare(ctx)
    settings = ctx.settings
    console.print(
        f"Depot on [bold]{settings.effective_public_url}[/]\n"
        f"  database: {_redact(settings.effective_database_url)}\n"
        f"  blobs:    {ctx.depot.store.description}",
        highlight=False,
    )
    announce_admin(ctx, password)
    ctx.depot.close()
    DepotServer(settings.with_secret_key()).run()


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as is; it is about to fail anyway
        return url


@main.command()
@pass_ctx
@handled
def init(ctx: Ctx) -> None:
    """Prepare the database and blob store without starting the server."""
    password = prepare(ctx)
    emit(
        ctx,
        {"initialized": True, "admin_password": password},
        text="Database and blob store ready.",
    )
    if not ctx.as_json:
        announce_admin(ctx, password)


@main.command()
@pass_ctx
@handled
def check(ctx: Ctx) -> None:
    """Check that the settings, the database and the blob store are usable."""
    from repo_server.migrate import current_revision, head_revision

    db = ctx.depot.db
    current, head = current_revision(db), head_revision(db)
    ctx.depot.store.check()
    ok = current == head
    emit(
        ctx,
        {
            "database": _redact(db.url),
            "revision": current,
            "head": head,
            "storage": ctx.depot.store.description,
            "ok": ok,
        },
        text=(
            f"database {_redact(db.url)}: revision {current} (newest {head})\n"
            f"blob store {ctx.depot.store.description}: reachable"
        ),
    )
    if not ok:
        fail("the database is not at the newest revision: run `depot-server db upgrade`")


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@pass_ctx
@handled
def db_upgrade(ctx: Ctx) -> None:
    """Migrate the database to the newest revision."""
    from repo_server.migrate import current_revision, upgrade

    upgrade(ctx.depot.db)
    revision = current_revision(ctx.depot.db)
    emit(ctx, {"revision": revision}, text=f"database at revision {revision}")


@db.command("current")
@pass_ctx
@handled
def db_current(ctx: Ctx) -> None:
    """Show the database's revision."""
    from repo_server.migrate import current_revision, head_revision

    current, head = current_revision(ctx.depot.db), head_revision(ctx.depot.db)
    emit(ctx, {"revision": current, "head": head}, text=f"revision {current} (newest {head})")


def read_password(from_stdin: bool, confirm: bool = True) -> str:
    """A password from standard input (scripts) or a hidden prompt (people)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on standard input", 2)
        return password
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return value


@main.group()
def user() -> None:
    """Local accounts."""


@user.command("create")
@click.argument("username")
@click.option("--display-name", default="", help="Full name shown in the pages.")
@click.option("--email", default="")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["admin", "version_manager", "auditor"]),
    help="Global role (repeatable).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--no-password", is_flag=True, help="No local password (directory sign-in only).")
@pass_ctx
@handled
def user_create(
    ctx: Ctx,
    username: str,
    display_name: str,
    email: str,
    roles: tuple[str, ...],
    password_stdin: bool,
    no_password: bool,
) -> None:
    """Create a local account."""
    password = None if no_password else read_password(password_stdin)
    info = ctx.depot.auth.create_user(
        ctx.principal, username, password, display_name=display_name, email=email, roles=roles
    )
    emit(
        ctx,
        info.to_json(),
        text=f"created user {info.username}"
        + (f" ({', '.join(info.roles)})" if info.roles else ""),
    )


@user.command("list")
@pass_ctx
@handled
def user_list(ctx: Ctx) -> None:
    """List accounts."""
    users = ctx.depot.auth.list_users(ctx.principal)
    table = Table("user", "name", "roles", "active", "last sign-in")
    for u in users:
        table.add_row(
            u.username,
            u.display_name,
            ", ".join(u.roles),
            "yes" if u.active else "no",
            str(u.last_login_at or "-"),
        )
    emit(ctx, [u.to_json() for u in users], table)


@user.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
@handled
def user_set_password(ctx: Ctx, username: str, password_stdin: bool) -> None:
    """Set a new password for an account."""
    info = ctx.depot.auth.update_user(
        ctx.principal, username, password=read_password(password_stdin)
    )
    emit(ctx, info.to_json(), text=f"password of {username} changed")


@user.command("disable")
@click.argument("username")
@pass_ctx
@handled
def user_disable(ctx: Ctx, username: str) -> None:
    """Disable an account: it can no longer sign in, and its tokens stop working."""
    info = ctx.depot.auth.update_user(ctx.principal, username, active=False)
    emit(ctx, info.to_json(), text=f"{username} disabled")


@user.command("enable")
@click.argument("username")
@pass_ctx
@handled
def user_enable(ctx: Ctx, username: str) -> None:
    """Enable a disabled account."""
    info = ctx.depot.auth.update_user(ctx.principal, username, active=True)
    emit(ctx, info.to_json(), text=f"{username} enabled")


@user.command("roles")
@click.argument("username")
@click.argument("roles", nargs=-1, type=click.Choice(["admin", "version_manager", "auditor"]))
@pass_ctx
@handled
def user_roles(ctx: Ctx, username: str, roles: tuple[str, ...]) -> None:
    """Set the global roles of an account (none given: take all away)."""
    info = ctx.depot.auth.update_user(ctx.principal, username, roles=list(roles))
    emit(ctx, info.to_json(), text=f"{username}: {', '.join(info.roles) or 'no global roles'}")


@main.group()
def group() -> None:
    """Project groups and their storage areas."""


@group.command("create")
@click.argument("name")
@click.option("--display-name", default="")
@click.option("--description", default="")
@pass_ctx
@handled
def group_create(ctx: Ctx, name: str, display_name: str, description: str) -> None:
    """Create a project group and allocate its storage area."""
    info = ctx.depot.groups.create(ctx.principal, name, display_name, description)
    emit(
        ctx,
        info.to_json(),
        text=f"created group {info.name} (storage area areas/{info.storage_area}/)",
    )


@group.command("list")
@pass_ctx
@handled
def group_list(ctx: Ctx) -> None:
    """List every group."""
    groups = ctx.depot.groups.list(ctx.principal, all_groups=True)
    table = Table("group", "name", "members", "created")
    for g in groups:
        table.add_row(g.name, g.display_name, str(g.member_count), str(g.created_at.date()))
    emit(ctx, [g.to_json() for g in groups], table)


@group.command("members")
@click.argument("name")
@pass_ctx
@handled
def group_members(ctx: Ctx, name: str) -> None:
    """List the members of a group."""
    members = ctx.depot.groups.members(ctx.principal, name)
    table = Table("user", "name", "roles")
    for m in members:
        table.add_row(m.username, m.display_name, ", ".join(m.roles))
    emit(ctx, [m.to_json() for m in members], table)


ROLE_CHOICE = click.Choice(["member", "software_manager", "acceptance_officer"])


@group.command("add-member")
@click.argument("name")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICE, default="member", show_default=True)
@pass_ctx
@handled
def group_add_member(ctx: Ctx, name: str, username: str, role: str) -> None:
    """Give a person a role in a group."""
    info = ctx.depot.groups.add_member(ctx.principal, name, username, role)
    emit(ctx, info.to_json(), text=f"{username} in {name}: {', '.join(info.roles)}")


@group.command("remove-member")
@click.argument("name")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICE, default="member", show_default=True)
@pass_ctx
@handled
def group_remove_member(ctx: Ctx, name: str, username: str, role: str) -> None:
    """Take a role in a group away from a person."""
    ctx.depot.groups.remove_member(ctx.principal, name, username, role)
    emit(ctx, {"removed": True}, text=f"{username} is no longer {role} of {name}")


def parse_age(text: str) -> float:
    """Seconds in ``30m``, ``24h``, ``7d`` or a plain number of seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except (ValueError, IndexError):
        raise click.BadParameter(f"{text!r} is not an age like 30m, 24h or 7d") from None


@main.command()
@click.option(
    "--older-than",
    default="24h",
    show_default=True,
    help="Only remove temporary data of uploads begun this long ago.",
)
@pass_ctx
@handled
def gc(ctx: Ctx, older_than: str) -> None:
    """Remove temporary data left by uploads that never finished."""
    seconds = parse_age(older_than)
    removed = ctx.depot.store.remove_incomplete(seconds, time.time())
    from repo_server.audit.services import AuditLog

    audit: AuditLog = ctx.depot.audit
    with ctx.depot.db.write() as session:
        audit.record(
            session,
            ctx.principal,
            "storage.gc",
            target=ctx.depot.store.description,
            details={"removed": len(removed), "older_than_seconds": seconds},
        )
    emit(
        ctx,
        {"removed": removed},
        text="\n".join(
            [f"removed {item}" for item in removed] + [f"{len(removed)} item(s) removed"]
        ),
    )


@main.command("audit")
@click.option("--group")
@click.option("--actor")
@click.option("--action")
@click.option("--after", type=int, default=0, help="Only records after this id.")
@click.option("--limit", type=int, default=50, show_default=True)
@pass_ctx
@handled
def audit_list(
    ctx: Ctx, group: str | None, actor: str | None, action: str | None, after: int, limit: int
) -> None:
    """Show audit records, oldest first."""
    entries = ctx.depot.audit.search(
        ctx.principal, group=group, actor=actor, action=action, after_id=after, limit=limit
    )
    table = Table("id", "at", "actor", "action", "outcome", "target", "reason")
    for e in entries:
        table.add_row(
            str(e.id),
            str(e.at.replace(microsecond=0)),
            e.actor,
            e.action,
            e.outcome,
            e.target,
            e.reason,
        )
    emit(ctx, [e.to_json() for e in entries], table)
