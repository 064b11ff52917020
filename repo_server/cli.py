"""``depot-server``: run and administer a Depot server on the machine it runs on.

Every command here has an API equivalent for remote use; these act directly on the
database and blob store named by the settings, and are recorded in the audit trail as
the ``system`` user, with the operating-system account that ran them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from repo_server.api.contract import dump
from repo_server.api.schemas.audit import AuditEvent
from repo_server.cli_backup import backup, db_downgrade, restore
from repo_server.cli_keys_transfer import keys_export, keys_import
from repo_server.cli_ldap import ldap_group
from repo_server.cli_notify import notify_group
from repo_server.cli_people import group, user
from repo_server.cli_support import (
    Ctx,
    accept_json_anywhere,
    console,
    emit,
    fail,
    handled,
    pass_ctx,
)
from repo_server.cli_trust import (
    announce_root,
    audit_verify_command,
    bootstrap_keys,
    keys,
    scrub,
)
from repo_server.paging import PageRequest
from repo_server.settings import SettingsError, load_settings


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


main.add_command(user)
main.add_command(group)
main.add_command(keys)
main.add_command(scrub)
main.add_command(ldap_group)
main.add_command(notify_group)
keys.add_command(keys_export)
keys.add_command(keys_import)
main.add_command(backup)
main.add_command(restore)


def prepare(ctx: Ctx) -> str | None:
    """Migrate the database, check the blob store, create the first admin and the signing
    keys if needed (announcing the root key made for a quick start)."""
    from repo_server.migrate import upgrade

    settings = ctx.settings
    if not settings.database_url or not settings.storage_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(ctx.depot.db, plugins=ctx.depot.settings.plugin_names)
    if not ctx.depot.catalog.holds_files():
        ctx.depot.store.create()  # a new installation; a moved folder is never re-made
    ctx.depot.store.check()
    ctx.root_key = bootstrap_keys(ctx)
    return ctx.depot.accounts.ensure_first_admin(ctx.principal)


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
    # Refused (audited) while a module that holds active quarantines is not enabled.
    missing = ctx.depot.quarantines.check_start(
        ctx.depot.plugins.names, settings.allowed_missing_plugins
    )
    if missing:
        console.print(
            f"[bold red]Started without {', '.join(missing)}[/] although it holds active "
            "quarantines (allow_missing_plugins): they still hold; nobody can lift them.",
            highlight=False,
        )
    console.print(
        f"Depot on [bold]{settings.effective_public_url}[/]\n"
        f"  database: {_redact(settings.effective_database_url)}\n"
        f"  blobs:    {ctx.depot.store.description}\n"
        f"  plugins:  {', '.join(ctx.depot.plugins.names) or 'none (the core alone)'}",
        highlight=False,
    )
    announce_admin(ctx, password)
    announce_root(ctx, ctx.root_key)
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
        {
            "initialized": True,
            "admin_password": password,
            "root_key": str(ctx.root_key) if ctx.root_key else None,
            "root_fingerprint": ctx.depot.keys.fingerprint(),
        },
        text="Database, blob store and signing keys ready.",
    )
    if not ctx.as_json:
        announce_admin(ctx, password)
        announce_root(ctx, ctx.root_key)


@main.command()
@pass_ctx
@handled
def check(ctx: Ctx) -> None:
    """Check each part the server needs: the database, its migrations, the blob store,
    the online signing keys and the enabled plugins (as ``/api/v1/health/ready`` does)."""
    from repo_server.readiness import Readiness

    ok, found = Readiness(ctx.depot).ready()
    report: dict[str, object] = {
        "ok": ok,
        "database": _redact(ctx.depot.db.url),
        "storage": ctx.depot.store.description,
        "plugins": ctx.depot.plugins.names,
        "checks": [c.as_dict() for c in found],
    }
    if found[0].ok:  # the database answers: which revisions it is at, of which
        from repo_server.migrate import branch_heads, branch_revisions

        plugins = ctx.depot.settings.plugin_names
        report["revision"] = branch_revisions(ctx.depot.db, plugins)
        report["head"] = branch_heads(ctx.depot.db, plugins)
    emit(
        ctx,
        report,
        text="\n".join(f"{'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in found),
    )
    if not ok:
        fail("not ready: " + ", ".join(c.name for c in found if not c.ok))


@main.group()
def db() -> None:
    """Database schema migrations."""


db.add_command(db_downgrade)


@db.command("upgrade")
@pass_ctx
@handled
def db_upgrade(ctx: Ctx) -> None:
    """Migrate the database to the newest revision."""
    from repo_server.migrate import branch_revisions, upgrade

    plugins = ctx.depot.settings.plugin_names
    settings = ctx.settings
    if not settings.database_url:  # the embedded default: the data folder holds the file
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(ctx.depot.db, plugins=plugins)
    revisions = branch_revisions(ctx.depot.db, plugins)
    emit(ctx, {"revision": revisions}, text=f"database at revision {_revisions(revisions)}")


@db.command("current")
@pass_ctx
@handled
def db_current(ctx: Ctx) -> None:
    """Show the database's revisions (the core's and each enabled plugin's)."""
    from repo_server.migrate import branch_heads, branch_revisions

    plugins = ctx.depot.settings.plugin_names
    current = branch_revisions(ctx.depot.db, plugins)
    head = branch_heads(ctx.depot.db, plugins)
    emit(
        ctx,
        {"revision": current, "head": head},
        text=f"revision {_revisions(current)} (newest {_revisions(head)})",
    )


def _revisions(by_branch: dict[str, str | None]) -> str:
    """``depot 0005, quality quality_0001``."""
    return ", ".join(f"{branch} {revision or 'none'}" for branch, revision in by_branch.items())


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
    help="Only remove what is this old: temporary data of uploads begun, and blobs stored, "
    "this long ago.",
)
@click.option(
    "--sessions-older-than",
    "sessions_older_than",
    default=None,
    help="Remove upload sessions idle this long, with their staged bytes (default: the "
    "setting upload_session_age, 7d).",
)
@pass_ctx
@handled
def gc(ctx: Ctx, older_than: str, sessions_older_than: str | None) -> None:
    """Remove temporary data left by uploads that never finished, abandoned upload
    sessions, and blobs no file refers to (the bytes of uploads refused after they were
    stored)."""
    from repo_server.artifacts.blobs import remove_unreferenced
    from repo_server.audit.services import AuditLog

    seconds = parse_age(older_than)
    idle = (
        parse_age(sessions_older_than)
        if sessions_older_than is not None
        else float(ctx.depot.settings.upload_session_age)
    )
    now = time.time()
    removed = ctx.depot.uploads.remove_idle(idle)
    removed += ctx.depot.store.remove_incomplete(seconds, now)
    removed += remove_unreferenced(ctx.depot.db, ctx.depot.store, seconds, now)

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


@main.group()
def audit() -> None:
    """The audit trail: list records, verify the whole log."""


@audit.command("verify")
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A witness's folder (`depot witness`) or a checkpoint file it kept (repeatable): "
    "the log must agree with every checkpoint in it.",
)
@pass_ctx
@handled
def audit_verify(ctx: Ctx, witnesses: tuple[Path, ...]) -> None:
    """Replay the whole log: every entry, root, checkpoint, signature and lifecycle rule,
    and the rows against the signed documents.

    Exit code 6 when anything was edited, deleted, re-ordered or does not verify, or
    disagrees with a witness's checkpoint.
    """
    audit_verify_command(ctx, witnesses)


@audit.command("list")
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
        ctx.principal,
        group=group,
        actor=actor,
        action=action,
        after_id=after,
        page=PageRequest(limit),
    ).items
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
    emit(ctx, [dump(AuditEvent, e) for e in entries], table)


# Last, once every command is registered: --json before or after the command name.
accept_json_anywhere(main)
