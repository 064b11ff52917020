"""``depot-server backup``, ``restore`` and ``db downgrade``: running Depot for years.

A backup is one folder holding everything a server needs to come back, consistent with
itself:

```
depot-backup.json             what is in it (written last: a folder without it is incomplete)
database.sqlite3              SQLite: a copy made with SQLite's online backup API
database.pgdump               PostgreSQL: pg_dump's custom format, from one snapshot
blobs/areas/<group>/sha256/ab/cd/<hex>   every blob the database refers to, re-hashed
keys/<version>.<role>.pem     the online signing keys, as encrypted as they are
secret_key                    the browser-session key, when it lives in the data folder
```

Why ``pg_dump``/``pg_restore`` for PostgreSQL rather than copying rows through SQLAlchemy:
they are the tools a bank's database administrators already run and trust; they copy the
whole database exactly (sequences, constraints, indexes, Alembic's version table, large
binary columns) from one MVCC snapshot while the app nodes keep writing; and the dump
restores into any PostgreSQL of the same or a newer major version. A row-level copy
would have to re-create all of that, in foreign-key order, and would be ours to get wrong.
The one thing Depot adds is consistency with the blob store: the list of blobs to copy is
read in the very snapshot ``pg_dump`` dumps (``pg_export_snapshot``), so the backup holds
exactly the blobs its database refers to: no missing blob, and nothing ``scrub`` would
report as unreferenced after a restore. Blobs are immutable and never deleted, so they can
be copied after the snapshot was taken.

The root keys are never in a backup: they stay offline with the security officers.
Called by operators (a nightly job); see docs/operations.md, "Backup and restore".
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.cli_support import Ctx, emit, fail, handled, pass_ctx
from repo_server.groups.models import Group
from storage import StorageError
from storage.base import blob_key, parse_blob_key

FORMAT = 1
MANIFEST = "depot-backup.json"
CHUNK = 1 << 20

#: Exit codes: 5 the target is not empty or the folder is in use; 6 a blob or a file does
#: not match its checksum; 8 a tool (pg_dump, pg_restore) is missing or failed.
EXIT_CONFLICT, EXIT_INTEGRITY, EXIT_TOOL = 5, 6, 8


@dataclass(frozen=True)
class BlobEntry:
    area: str
    sha256: str
    size: int


def _referenced(connection: sa.Connection) -> list[BlobEntry]:
    """Every distinct blob the database refers to, as (area, sha256, size)."""
    rows = connection.execute(
        sa.select(Group.storage_area, StoredFile.sha256, sa.func.max(StoredFile.size))
        .join(Version, StoredFile.version_id == Version.id)
        .join(Product, Version.product_id == Product.id)
        .join(Group, Product.group_id == Group.id)
        .group_by(Group.storage_area, StoredFile.sha256)
        .order_by(Group.storage_area, StoredFile.sha256)
    ).all()
    return [BlobEntry(area, sha, int(size)) for area, sha, size in rows]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        fail("an in-memory SQLite database cannot be backed up or restored", 2)
    return Path(str(url.database))


def _pg_command(tool: str, url: URL) -> tuple[list[str], dict[str, str]]:
    """``tool`` with the connection options of ``url``; the password goes in the
    environment (``PGPASSWORD``), never on a command line others can read."""
    found = shutil.which(tool)
    if found is None:
        fail(
            f"{tool} is not installed: install the PostgreSQL client tools of the server's "
            "major version (Debian: postgresql-client)",
            EXIT_TOOL,
        )
    argv = [str(found), "--no-password"]
    if url.host:
        argv += ["--host", url.host]
    if url.port:
        argv += ["--port", str(url.port)]
    if url.username:
        argv += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return argv, env


def _run_tool(argv: list[str], env: dict[str, str], what: str) -> None:
    # argv is the tool found on PATH and options built here from the database URL.
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        fail(f"{what} failed (exit code {result.returncode}): {result.stderr.strip()}", EXIT_TOOL)


def _snapshot_database(ctx: Ctx, folder: Path) -> tuple[str, list[BlobEntry]]:
    """Copy the database into ``folder``; return the file's name and the blobs it refers to."""
    db = ctx.depot.db
    url = make_url(db.url)
    if db.dialect == "sqlite":
        target = folder / "database.sqlite3"
        source = sqlite3.connect(_sqlite_path(url))
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # SQLite's online backup API: a consistent copy while in use
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
            source.close()
        engine = sa.create_engine(f"sqlite:///{target}")
        try:
            with engine.connect() as connection:
                return target.name, _referenced(connection)
        finally:
            engine.dispose()
    if db.dialect != "postgresql":
        fail(f"backups of {db.dialect} databases are not supported", 2)
    target = folder / "database.pgdump"
    argv, env = _pg_command("pg_dump", url)
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            blobs = _referenced(connection)
            # pg_dump dumps the very snapshot the blob list was read in; the transaction
            # stays open (holding the snapshot) until it is done.
            _run_tool(
                [*argv, "--format=custom", f"--snapshot={snapshot}", "--file", str(target),
                 "--dbname", str(url.database)],
                env,
                "pg_dump",
            )  # fmt: skip
    return target.name, blobs


def _copy_blob(ctx: Ctx, entry: BlobEntry, folder: Path) -> str | None:
    """Copy one blob into ``folder``, re-hashing it; the problem found, or ``None``."""
    target = folder / "blobs" / blob_key(entry.area, entry.sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    size = 0
    try:
        with ctx.depot.store.open(entry.area, entry.sha256) as reader, partial.open("wb") as out:
            for chunk in reader:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except StorageError as error:
        partial.unlink(missing_ok=True)
        return f"areas/{entry.area} {entry.sha256}: {error}"
    if digest.hexdigest() != entry.sha256 or size != entry.size:
        partial.unlink(missing_ok=True)
        return f"areas/{entry.area} {entry.sha256}: the stored bytes have changed"
    partial.rename(target)
    return None


def _key_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _copy_private(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copyfile(source, target)
    target.chmod(0o600)


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@pass_ctx
@handled
def backup(ctx: Ctx, folder: Path) -> None:
    """Back up the database, the blobs it refers to and the online keys into FOLDER.

    FOLDER must be new or empty. The servers keep running. Exit code 6 when a blob the
    database refers to is missing or changed in the store (the backup is then incomplete
    and says so in depot-backup.json).
    """
    from repo_server.migrate import branch_revisions

    if folder.exists() and any(folder.iterdir()):
        fail(f"{folder} is not empty: back up into a new folder", EXIT_CONFLICT)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)  # it holds the keys and the database
    started = datetime.now(UTC)
    database_file, blobs = _snapshot_database(ctx, folder)
    problems = [p for entry in blobs if (p := _copy_blob(ctx, entry, folder))]
    keys = []
    for source in _key_files(ctx.settings.effective_keys_dir):
        _copy_private(source, folder / "keys" / source.name)
        keys.append({"name": source.name, "sha256": _sha256_file(source)})
    secret = ctx.settings.data_dir / "secret_key"
    if secret.exists():
        _copy_private(secret, folder / "secret_key")
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": started.isoformat(timespec="seconds"),
        "database": {
            "dialect": ctx.depot.db.dialect,
            "file": database_file,
            "sha256": _sha256_file(folder / database_file),
            "revisions": branch_revisions(ctx.depot.db, ctx.depot.settings.plugin_names),
        },
        "blobs": {"count": len(blobs), "bytes": sum(b.size for b in blobs)},
        "keys": keys,
        "secret_key": secret.exists(),
        "complete": not problems,
        "problems": problems,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    with ctx.depot.db.write() as session:
        ctx.depot.audit.record(
            session,
            ctx.principal,
            "server.backup",
            target=str(folder.absolute()),
            outcome="ok" if not problems else "failed",
            reason="" if not problems else f"{len(problems)} blob(s) could not be copied",
            details={"blobs": len(blobs), "bytes": manifest["blobs"]["bytes"], "keys": len(keys)},
        )
    emit(
        ctx,
        {"folder": str(folder), **manifest},
        text="\n".join(
            [
                f"database ({ctx.depot.db.dialect}) -> {folder / database_file}",
                f"{len(blobs)} blob(s), {manifest['blobs']['bytes']} bytes -> {folder / 'blobs'}",
                f"{len(keys)} key file(s) -> {folder / 'keys'}",
                *[f"problem: {p}" for p in problems],
                "backup complete" if not problems else "BACKUP INCOMPLETE",
            ]
        ),
    )
    if problems:
        raise SystemExit(EXIT_INTEGRITY)


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        fail(f"{folder} is not a complete Depot backup: {MANIFEST} is missing", 2)
    except (OSError, ValueError) as error:
        fail(f"cannot read {path}: {error}", 2)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        fail(f"{path} is not a backup this version of Depot can restore", 2)
    if not manifest.get("complete"):
        fail(f"{folder} is an incomplete backup: {'; '.join(manifest.get('problems', []))}", 6)
    checked: dict[str, Any] = manifest
    return checked


def _backup_blobs(folder: Path) -> Iterator[tuple[str, str, Path]]:
    root = folder / "blobs"
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        if path.is_file():
            parsed = parse_blob_key(path.relative_to(root).as_posix())
            if parsed is None:
                fail(f"{path} is not a blob of a Depot backup", EXIT_INTEGRITY)
                continue
            yield parsed[0], parsed[1], path


def _check_target_empty(ctx: Ctx) -> None:
    db = ctx.depot.db
    if db.dialect == "sqlite":
        path = _sqlite_path(make_url(db.url))
        if path.exists() and path.stat().st_size > 0 and _tables(db.engine):
            fail(f"the database {path} is not empty: restore into a new one", EXIT_CONFLICT)
        return
    if _tables(db.engine):
        fail(
            "the database is not empty: restore into a new one (createdb, then "
            "point DEPOT_DATABASE_URL at it)",
            EXIT_CONFLICT,
        )


def _tables(engine: sa.Engine) -> list[str]:
    return sa.inspect(engine).get_table_names()


def _restore_database(ctx: Ctx, folder: Path, manifest: dict[str, Any]) -> None:
    db = ctx.depot.db
    source = folder / manifest["database"]["file"]
    url = make_url(db.url)
    if db.dialect == "sqlite":
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        db.dispose()
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)  # empty (checked above)
        copy = sqlite3.connect(source)
        target = sqlite3.connect(path)
        try:
            copy.backup(target)
        finally:
            target.close()
            copy.close()
        return
    argv, env = _pg_command("pg_restore", url)
    db.dispose()
    _run_tool(
        [*argv, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
         "--dbname", str(url.database), str(source)],
        env,
        "pg_restore",
    )  # fmt: skip


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@pass_ctx
@handled
def restore(ctx: Ctx, folder: Path) -> None:
    """Restore the backup in FOLDER into the (empty) database, blob store and keys folder
    named by the settings.

    Every file is checked against the backup's checksums first, and every blob again as it
    is stored. Afterwards run `depot-server audit verify` and `depot-server scrub`.
    """
    from repo_server.migrate import branch_heads, branch_revisions

    manifest = _read_manifest(folder)
    dialect = manifest["database"]["dialect"]
    if dialect != ctx.depot.db.dialect:
        fail(
            f"this backup holds a {dialect} database and DEPOT_DATABASE_URL names a "
            f"{ctx.depot.db.dialect} one: restore into {dialect}",
            2,
        )
    database_file = folder / manifest["database"]["file"]
    if _sha256_file(database_file) != manifest["database"]["sha256"]:
        fail(f"{database_file} does not match the backup's checksum", EXIT_INTEGRITY)
    keys_dir = ctx.settings.effective_keys_dir
    for key in manifest["keys"]:
        source = folder / "keys" / key["name"]
        if _sha256_file(source) != key["sha256"]:
            fail(f"{source} does not match the backup's checksum", EXIT_INTEGRITY)
        existing = keys_dir / key["name"]
        if existing.exists() and _sha256_file(existing) != key["sha256"]:
            fail(f"{existing} exists and is another key: restore into an empty keys folder", 5)
    _check_target_empty(ctx)
    ctx.depot.store.create()  # an empty target: a new installation
    ctx.depot.store.check()

    _restore_database(ctx, folder, manifest)
    stored = 0
    for area, sha, path in _backup_blobs(folder):
        with path.open("rb") as handle:
            ctx.depot.store.ingest(area, handle, size=path.stat().st_size, sha256=sha)
        stored += 1
    if stored != manifest["blobs"]["count"]:
        fail(
            f"the backup lists {manifest['blobs']['count']} blob(s) but holds {stored}",
            EXIT_INTEGRITY,
        )
    copied = 0
    for key in manifest["keys"]:
        target = keys_dir / key["name"]
        if not target.exists():
            _copy_private(folder / "keys" / key["name"], target)
            copied += 1
    secret = ctx.settings.data_dir / "secret_key"
    if manifest.get("secret_key") and not ctx.settings.secret_key and not secret.exists():
        _copy_private(folder / "secret_key", secret)

    plugins = ctx.depot.settings.plugin_names
    revisions = branch_revisions(ctx.depot.db, plugins)
    heads = branch_heads(ctx.depot.db, plugins)
    with ctx.depot.db.write() as session:
        ctx.depot.audit.record(
            session,
            ctx.principal,
            "server.restore",
            target=str(folder.absolute()),
            details={"backup_created_at": manifest["created_at"], "blobs": stored},
        )
    behind = revisions != heads
    emit(
        ctx,
        {
            "restored_from": str(folder),
            "backup_created_at": manifest["created_at"],
            "blobs": stored,
            "keys_copied": copied,
            "revisions": revisions,
            "heads": heads,
        },
        text="\n".join(
            [
                f"restored the backup of {manifest['created_at']}: database, {stored} blob(s), "
                f"{copied} key file(s)",
                (
                    "the database is older than this code: `depot-server db upgrade` (or the "
                    "next `depot-server run`) migrates it"
                    if behind
                    else "the database is at the newest revision"
                ),
                "now run `depot-server audit verify` and `depot-server scrub`",
            ]
        ),
    )


@click.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do it: a downgrade drops the newer tables and columns.")
@pass_ctx
@handled
def db_downgrade(ctx: Ctx, revision: str, yes: bool) -> None:
    """Migrate the database back to REVISION (e.g. `0004`; `depot db current` shows them).

    For going back to an older release of Depot: stop every app node, back up, downgrade,
    then start the older release. What the newer revisions stored in their own tables and
    columns is dropped; prefer restoring the backup taken before the upgrade.
    """
    from alembic import command
    from alembic.util import CommandError

    from repo_server.migrate import alembic_config, branch_revisions

    if not yes:
        fail("a downgrade drops data of the newer revisions: add --yes to go ahead", 2)
    db = ctx.depot.db
    config = alembic_config(db)
    target = revision if "@" in revision or revision == "base" else f"depot@{revision}"
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(72540001)"))
        config.attributes["connection"] = connection
        try:
            command.downgrade(config, target)
        except CommandError as error:
            fail(f"cannot downgrade to {revision}: {error}", 2)
    revisions = branch_revisions(db, ctx.depot.settings.plugin_names)
    emit(
        ctx,
        {"revision": revisions},
        text="database at revision "
        + ", ".join(f"{branch} {rev or 'none'}" for branch, rev in revisions.items()),
    )


__all__ = ["backup", "db_downgrade", "restore"]
