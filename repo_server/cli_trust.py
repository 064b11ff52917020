"""``depot-server keys``, ``audit`` and ``scrub``: the server's keys and their ceremonies
(roots, rotation, enrolment, revocation), the log, the blobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from policies.trust.enrollment import Enrollment
from policies.trust.keyring import Keyring
from policies.trust.keys import keyid_of
from repo_server.cli_support import Ctx, console, emit, fail, handled, pass_ctx
from repo_server.trust.keystore import (
    KeyStore,
    OfflineChange,
    read_private_key,
    write_private_key,
)


def _passphrase(env: str) -> bytes | None:
    import os

    value = os.environ.get(env)
    return value.encode() if value else None


def _read_roots(paths: tuple[Path, ...]) -> list[Ed25519PrivateKey]:
    passphrase = _passphrase("DEPOT_ROOT_KEY_PASSPHRASE")
    return [read_private_key(path, passphrase) for path in paths]


def _read_enrollers(paths: tuple[Path, ...]) -> list[Ed25519PrivateKey]:
    passphrase = _passphrase("DEPOT_ENROLLMENT_KEY_PASSPHRASE")
    return [read_private_key(path, passphrase) for path in paths]


def generate_offline_keys(folder: Path, count: int, prefix: str = "root") -> list[Path]:
    """Write ``count`` new offline keys (``<prefix>-N.pem``) into ``folder`` (mode 0600)."""
    env = "DEPOT_ROOT_KEY_PASSPHRASE" if prefix == "root" else "DEPOT_ENROLLMENT_KEY_PASSPHRASE"
    passphrase = _passphrase(env)
    paths = []
    for number in range(1, count + 1):
        path = folder / f"{prefix}-{number}.pem"
        if path.exists():
            raise click.ClickException(f"{path} already exists; not overwriting an offline key")
        write_private_key(path, Ed25519PrivateKey.generate(), passphrase)
        paths.append(path)
    return paths


def require_schema(ctx: Ctx) -> None:
    """Stop with a clear message (exit 1) when the database is missing or not migrated.

    The key ceremonies write to the database; on a fresh data folder they used to end
    in a traceback. Called first by every ``keys`` command.
    """
    from repo_server.migrate import branch_heads, branch_revisions

    db = ctx.depot.db
    try:
        current = branch_revisions(db, ctx.settings.plugin_names)
    except SQLAlchemyError as error:
        fail(
            f"cannot open the database ({type(error).__name__}): check "
            "DEPOT_DATA_DIR / DEPOT_DATABASE_URL, then run `depot-server db upgrade`"
        )
    if current != branch_heads(db, ctx.settings.plugin_names):
        fail(
            "the database is not at the newest revision (a fresh data folder has no tables "
            "yet): run `depot-server db upgrade` first"
        )


def bootstrap_keys(ctx: Ctx) -> Path | None:
    """On the first start of a server without keys: a root key and an enrolment key in the
    data folder, keyring 1 and enrolment document 1.

    For a quick start only; production runs ``depot-server keys init`` with root and
    enrolment keys kept offline. Returns the root key's path when it created one.
    """
    keys: KeyStore = ctx.depot.keys
    if keys.initialized():
        return None
    data = ctx.settings.data_dir.absolute()
    [path] = generate_offline_keys(data / "root-keys", 1)
    [enroller] = generate_offline_keys(data / "enrollment-keys", 1, "enrollment")
    _initialize(ctx, _read_roots((path,)), 1, _read_enrollers((enroller,)), 1, None)
    return path


def _initialize(
    ctx: Ctx,
    roots: list[Ed25519PrivateKey],
    threshold: int,
    enrollers: list[Ed25519PrivateKey],
    enrollment_threshold: int,
    repository: str | None,
) -> None:
    depot = ctx.depot
    with depot.db.write() as session:
        current = depot.keys.create_first(
            session,
            roots,
            threshold,
            [k.public_key() for k in enrollers],
            enrollment_threshold,
            depot.clock.now(),
            repository=repository,
        )
        depot.enrollment.publish(session, ctx.principal, enrollers)
        depot.audit.record(
            session,
            ctx.principal,
            "keyring.create",
            target="keyring:1",
            details=_roles(current.keyring),
        )


def _roles(keyring: Keyring) -> dict[str, Any]:
    return {
        "version": keyring.version,
        "roles": {
            name: {"keyids": list(role.keyids), "threshold": role.threshold}
            for name, role in keyring.roles.items()
        },
    }


def announce_root(ctx: Ctx, path: Path | None) -> None:
    """Tell the operator where the generated root key is and what to pin."""
    if path is None:
        return
    console.print(
        "\n[bold]First start: created the signing keys.[/]\n"
        f"  root key:         [bold]{path}[/] - move it offline, it signs key rotations\n"
        f"  enrolment key:    [bold]{path.parent.parent / 'enrollment-keys'}[/] - move it "
        "offline, it enrols personal keys\n"
        f"  root fingerprint: [bold]{ctx.depot.keys.fingerprint()}[/]\n"
        "  (clients pin it with `depot trust init URL --root-fingerprint ...`)\n",
        highlight=False,
    )


@click.group()
def keys() -> None:
    """The signing keys: the keyring, its offline root and enrolment keys, online keys."""


@keys.command("generate-roots")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--count", type=click.IntRange(1, 9), default=3, show_default=True)
@click.option(
    "--role",
    type=click.Choice(["root", "enrollment"]),
    default="root",
    show_default=True,
    help="Root keys sign keyrings; enrolment keys sign the enrolment of personal keys.",
)
@pass_ctx
@handled
def keys_generate_roots(ctx: Ctx, folder: Path, count: int, role: str) -> None:
    """Create COUNT offline keys in FOLDER, to be kept offline by different people.

    Set DEPOT_ROOT_KEY_PASSPHRASE (or DEPOT_ENROLLMENT_KEY_PASSPHRASE) to encrypt them.
    """
    paths = generate_offline_keys(folder, count, role)
    emit(ctx, {"keys": [str(p) for p in paths]}, text="\n".join(f"wrote {p}" for p in paths))


@keys.command("init")
@click.option(
    "--root-key",
    "root_keys",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A root key file (repeat for each root key).",
)
@click.option("--threshold", type=int, help="Root signatures a keyring needs (default: all).")
@click.option(
    "--enrollment-key",
    "enrollment_keys",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An enrolment officer's key file (repeat for each).",
)
@click.option(
    "--enrollment-threshold",
    type=int,
    help="Enrolment signatures an enrolment document needs (default: all).",
)
@click.option("--repository", help="Name written into every signed document (default: public URL).")
@pass_ctx
@handled
def keys_init(
    ctx: Ctx,
    root_keys: tuple[Path, ...],
    threshold: int | None,
    enrollment_keys: tuple[Path, ...],
    enrollment_threshold: int | None,
    repository: str | None,
) -> None:
    """Create keyring version 1 (n roots, m of n; the enrolment role; fresh online keys)
    and enrolment document 1, signed by every key given."""
    require_schema(ctx)
    store: KeyStore = ctx.depot.keys
    if store.initialized():
        fail("this server already has a keyring: use `depot-server keys rotate`", 5)
    roots = _read_roots(root_keys)
    enrollers = _read_enrollers(enrollment_keys)
    _initialize(
        ctx,
        roots,
        threshold or len(roots),
        enrollers,
        enrollment_threshold or len(enrollers),
        repository,
    )
    _show(ctx, None)


def _keyid_or_file(value: str) -> str:
    path = Path(value)
    if path.is_file():
        return keyid_of(
            read_private_key(path, _passphrase("DEPOT_ROOT_KEY_PASSPHRASE")).public_key()
        )
    return value


@keys.command("rotate")
@click.option(
    "--root-key",
    "root_keys",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A root key file signing the rotation (a threshold of the current roots, and of "
    "the next ones).",
)
@click.option(
    "--add-root",
    "add_roots",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A new root key file; it signs the new keyring too.",
)
@click.option("--remove-root", "remove_roots", multiple=True, help="Key id of a root that leaves.")
@click.option("--threshold", type=int, help="New root threshold (default: unchanged).")
@click.option(
    "--add-enrollment-key",
    "add_enrollers",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A new enrolment officer's key file.",
)
@click.option(
    "--remove-enrollment-key", "remove_enrollers", multiple=True, help="Key id that leaves."
)
@click.option("--enrollment-threshold", type=int, help="New enrolment threshold.")
@click.option(
    "--enrollment-key",
    "enrollment_keys",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Enrolment key files of the next keyring, to re-sign the enrolment document "
    "when the enrolment role changes.",
)
@click.option(
    "--log-head",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The deployment's log head (`depot-server keys log-head FILE` there), for a "
    "rotation at the offline ceremony: the roots seal it instead of this database's log.",
)
@pass_ctx
@handled
def keys_rotate(
    ctx: Ctx,
    root_keys: tuple[Path, ...],
    add_roots: tuple[Path, ...],
    remove_roots: tuple[str, ...],
    threshold: int | None,
    add_enrollers: tuple[Path, ...],
    remove_enrollers: tuple[str, ...],
    enrollment_threshold: int | None,
    enrollment_keys: tuple[Path, ...],
    log_head: Path | None,
) -> None:
    """Write the next keyring with new online keys, and re-sign every document with them.

    Every root and enrolment key and both thresholds stay exactly as they are, except
    what --add-root / --remove-root / --threshold (and the enrolment options) change.
    The new keyring is signed by a threshold of the current roots and of the next ones,
    so clients can follow; running servers pick the new keys up within seconds. The next
    roots also seal the log as it stands (or the deployment's --log-head): bundles made
    before the rotation prove with it that they predate it (`depot trust extend`).
    """
    require_schema(ctx)
    from repo_server.trust.rotation import resign_all

    depot = ctx.depot
    added = _read_roots(add_roots)
    enrollment = OfflineChange(
        tuple(k.public_key() for k in _read_enrollers(add_enrollers)),
        tuple(remove_enrollers),
        enrollment_threshold,
    )
    if not enrollment.empty and not enrollment_keys:
        fail(
            "the enrolment role changes: give --enrollment-key files of the next "
            "keyring's enrolment officers to re-sign the enrolment document"
        )
    head = None if log_head is None else _read_log_head(depot.keys, log_head)
    with depot.db.write() as session:
        current = depot.keys.rotate(
            session,
            [*_read_roots(root_keys), *added],
            depot.clock.now(),
            roots=OfflineChange(
                tuple(k.public_key() for k in added),
                tuple(_keyid_or_file(r) for r in remove_roots),
                threshold,
            ),
            enrollment=enrollment,
            head=head,
        )
        resigned = resign_all(session, depot.keys, current.version)
        if not enrollment.empty:
            depot.enrollment.publish(session, ctx.principal, _read_enrollers(enrollment_keys))
        depot.audit.record(
            session,
            ctx.principal,
            "keyring.rotate",
            target=f"keyring:{current.version}",
            details={**_roles(current.keyring), "resigned": resigned.to_json()},
        )
    if not ctx.as_json:
        console.print(
            f"re-signed {resigned.manifests} manifest(s), {resigned.statements} statement(s), "
            f"{resigned.statuses} status document(s), {resigned.checkpoints} checkpoint(s)",
            highlight=False,
        )
    _show(ctx, current.version)


def _read_log_head(store: KeyStore, path: Path) -> tuple[int, bytes]:
    """The (size, root) of the deployment's log head in ``path``, signed by its log key."""
    from policies.trust.errors import TrustError
    from policies.trust.verify import verify_checkpoint

    keyring = store.current().keyring
    try:
        checkpoint = verify_checkpoint(keyring, path.read_bytes(), origin=keyring.repository)
    except (TrustError, ValueError) as error:
        fail(
            f"{path} is not a log head of {keyring.repository} signed by the log key of "
            f"keyring {keyring.version}: {error}",
            6,
        )
    return checkpoint.size, checkpoint.root


@keys.command("log-head")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
@handled
def keys_log_head(ctx: Ctx, file: Path) -> None:
    """Write this deployment's log head to FILE, for the next rotation at the ceremony.

    The head is the log's newest checkpoint, signed by the log key. Carry FILE to the
    offline machine and give it to `keys rotate --log-head FILE`: the roots seal it, so
    every bundle made before the rotation can prove it predates it (`depot trust
    extend`). Bundles made between this command and the `keys import` of the rotation
    are re-fetched instead.
    """
    require_schema(ctx)
    found = ctx.depot.checkpoints.latest()
    file.write_bytes(found.note)
    emit(
        ctx,
        {"file": str(file), "log_size": found.size},
        text=f"log head: {found.size} entries, written to {file}; at the ceremony: "
        f"`depot-server keys rotate --log-head {file.name} …`",
    )


@keys.command("enroll")
@click.option(
    "--enrollment-key",
    "enrollment_keys",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An enrolment officer's key file (as many as the enrolment threshold).",
)
@click.option("--user", "users", multiple=True, help="Enrol the keys this person registered.")
@click.option("--all", "enroll_all", is_flag=True, help="Enrol every key waiting for enrolment.")
@click.option(
    "--require-personal",
    "require",
    multiple=True,
    help="GROUP whose check-ins need personally signed approvals from now on.",
)
@click.option("--drop-personal", "drop", multiple=True, help="GROUP whose rule ends.")
@click.option("--days", type=click.IntRange(1, 3660), default=365, show_default=True)
@pass_ctx
@handled
def keys_enroll(
    ctx: Ctx,
    enrollment_keys: tuple[Path, ...],
    users: tuple[str, ...],
    enroll_all: bool,
    require: tuple[str, ...],
    drop: tuple[str, ...],
    days: int,
) -> None:
    """Sign the next enrolment document: enrol registered personal keys, start or end a
    group's rule that check-ins be signed personally, or just renew it (--days)."""
    require_schema(ctx)
    depot = ctx.depot
    with depot.db.write() as session:
        document = depot.enrollment.publish(
            session,
            ctx.principal,
            _read_enrollers(enrollment_keys),
            enroll_users=users,
            enroll_all=enroll_all,
            require_personal=require,
            drop_personal=drop,
            days=days,
        )
    _show_enrollment(ctx, document)


@keys.command("revoke")
@click.argument("keyids", nargs=-1, required=True)
@click.option(
    "--enrollment-key",
    "enrollment_keys",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An enrolment officer's key file (as many as the enrolment threshold).",
)
@pass_ctx
@handled
def keys_revoke(ctx: Ctx, keyids: tuple[str, ...], enrollment_keys: tuple[Path, ...]) -> None:
    """Revoke personal keys in the next enrolment document, from the current log size on:
    what they approved before stays valid, nothing they sign afterwards is accepted."""
    require_schema(ctx)
    depot = ctx.depot
    with depot.db.write() as session:
        document = depot.enrollment.publish(
            session, ctx.principal, _read_enrollers(enrollment_keys), revoke=keyids
        )
    _show_enrollment(ctx, document)


def _show_enrollment(ctx: Ctx, document: Enrollment) -> None:
    data = {
        "version": document.version,
        "expires": document.expires.isoformat(),
        "log_size": document.log_size,
        "keys": [
            {"actor": k.actor, "keyid": k.keyid, "revoked_from": k.revoked_from}
            for k in document.keys
        ],
        "personal": [{"group": p.group, "since": p.since} for p in document.personal],
    }
    lines = [
        f"enrolment document version {document.version}, expires "
        f"{document.expires.isoformat()}, signed over {document.log_size} log entries"
    ]
    lines += [
        f"  {k.actor:<16} {k.keyid}"
        + (f"  revoked from log entry {k.revoked_from}" if k.revoked_from is not None else "")
        for k in document.keys
    ]
    lines += [
        f"  group {p.group}: personal check-in approvals from entry {p.since}"
        for p in document.personal
    ]
    emit(ctx, data, text="\n".join(lines))


@keys.command("show")
@pass_ctx
@handled
def keys_show(ctx: Ctx) -> None:
    """Show the current keyring: version, expiry, root fingerprint, keys by role."""
    require_schema(ctx)
    _show(ctx, None)


def _show(ctx: Ctx, version: int | None) -> None:
    store: KeyStore = ctx.depot.keys
    store.forget()
    current = store.current()
    keyring = current.keyring
    data = {
        "version": keyring.version,
        "repository": keyring.repository,
        "expires": keyring.expires.isoformat(),
        "root_fingerprint": store.fingerprint(),
        "roles": {
            name: {"keyids": list(role.keyids), "threshold": role.threshold}
            for name, role in keyring.roles.items()
        },
    }
    table = Table("role", "threshold", "key ids")
    for name, role in keyring.roles.items():
        table.add_row(name, str(role.threshold), "\n".join(role.keyids))
    if ctx.as_json:
        emit(ctx, data)
        return
    console.print(
        f"keyring version [bold]{keyring.version}[/] of {keyring.repository}, "
        f"expires {keyring.expires.isoformat()}\n"
        f"root fingerprint: [bold]{data['root_fingerprint']}[/]",
        highlight=False,
    )
    console.print(table)


def _progress(label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


@click.command()
@click.option("--resume", is_flag=True, help="Carry on from where an interrupted scrub stopped.")
@pass_ctx
@handled
def scrub(ctx: Ctx, resume: bool) -> None:
    """Re-hash every stored blob against the database; report missing and changed blobs
    (exit code 6 when any is found), and unreferenced ones (left for `gc`)."""
    from repo_server.trust.scrub import Scrubber

    state_file = ctx.settings.data_dir.absolute() / "scrub-state.json"
    with _progress("scrubbing") as bar:
        task = bar.add_task("scrub", total=None)
        scrubber = Scrubber(
            ctx.depot.db,
            ctx.depot.store,
            ctx.depot.audit,
            state_file,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
        if ctx.as_json:
            bar.stop()
        state = scrubber.run(ctx.principal, resume=resume)
    lines = [f"checked {state.checked} blob(s), {state.bytes} bytes"]
    lines += [f"missing: {m['file']} ({m['sha256']})" for m in state.missing]
    lines += [f"changed: {c['file']} (now {c['actual_sha256']})" for c in state.changed]
    lines += [
        f"unreferenced (gc removes it): areas/{u['area']} {u['sha256']}" for u in state.unreferenced
    ]
    lines.append("the blob store matches the database" if state.ok else "PROBLEMS FOUND")
    emit(ctx, state.to_json(), text="\n".join(lines))
    if not state.ok:
        raise SystemExit(6)


def audit_verify_command(ctx: Ctx, witnesses: tuple[Path, ...] = ()) -> None:
    """Replay the whole log (the body of ``depot-server audit verify``), against the
    checkpoints kept by the witnesses in ``witnesses`` (folders or files)."""
    from repo_server.trust.replay import Replayer
    from repo_server.trust.witness_files import read_witnessed

    witnessed = [note for path in witnesses for note in read_witnessed(path)]
    if witnesses and not witnessed:
        fail(f"no checkpoint found in {', '.join(map(str, witnesses))}", 2)
    with _progress("replaying the log") as bar:
        task = bar.add_task("replay", total=None)
        report = Replayer(
            ctx.depot.db,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            witnessed=witnessed,
        ).run()
    text = [
        f"{report.entries} log entries, {report.checkpoints} signed checkpoints, "
        f"{report.documents} signed documents, {report.witnessed} witnessed checkpoints checked",
        *[f"problem: {p}" for p in report.problems],
        "the log and every signature verify" if report.ok else "VERIFICATION FAILED",
    ]
    emit(ctx, report.to_json(), text="\n".join(text))
    if not report.ok:
        raise SystemExit(6)
