"""``depot-server keys``, ``audit`` and ``scrub``: the server's keys, the log, the blobs."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from repo_server.cli_support import Ctx, console, emit, fail, handled, pass_ctx
from repo_server.trust.keystore import KeyStore, read_private_key, write_private_key


def _passphrase(env: str) -> bytes | None:
    import os

    value = os.environ.get(env)
    return value.encode() if value else None


def _read_roots(paths: tuple[Path, ...]) -> list[Ed25519PrivateKey]:
    passphrase = _passphrase("DEPOT_ROOT_KEY_PASSPHRASE")
    return [read_private_key(path, passphrase) for path in paths]


def generate_roots(folder: Path, count: int) -> list[Path]:
    """Write ``count`` new root keys into ``folder`` (mode 0600); return their paths."""
    passphrase = _passphrase("DEPOT_ROOT_KEY_PASSPHRASE")
    paths = []
    for number in range(1, count + 1):
        path = folder / f"root-{number}.pem"
        if path.exists():
            raise click.ClickException(f"{path} already exists; not overwriting a root key")
        write_private_key(path, Ed25519PrivateKey.generate(), passphrase)
        paths.append(path)
    return paths


def bootstrap_keys(ctx: Ctx) -> Path | None:
    """On the first start of a server without keys: a root key in the data folder, keyring 1.

    For a quick start only; production runs ``depot-server keys init`` with root keys
    kept offline. Returns the root key's path when it created one.
    """
    keys: KeyStore = ctx.depot.keys
    if keys.initialized():
        return None
    folder = ctx.settings.data_dir.absolute() / "root-keys"
    [path] = generate_roots(folder, 1)
    with ctx.depot.db.write() as session:
        keys.create(session, _read_roots((path,)), 1, ctx.depot.clock.now())
    return path


def announce_root(ctx: Ctx, path: Path | None) -> None:
    """Tell the operator where the generated root key is and what to pin."""
    if path is None:
        return
    console.print(
        "\n[bold]First start: created the signing keys.[/]\n"
        f"  root key:         [bold]{path}[/] - move it offline, it signs key rotations\n"
        f"  root fingerprint: [bold]{ctx.depot.keys.fingerprint()}[/]\n"
        "  (clients pin it with `depot trust init URL --root-fingerprint ...`)\n",
        highlight=False,
    )


@click.group()
def keys() -> None:
    """The signing keys: the keyring, its root keys and online keys."""


@keys.command("generate-roots")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--count", type=click.IntRange(1, 9), default=3, show_default=True)
@pass_ctx
@handled
def keys_generate_roots(ctx: Ctx, folder: Path, count: int) -> None:
    """Create COUNT root keys in FOLDER, to be kept offline by different people.

    Set DEPOT_ROOT_KEY_PASSPHRASE to encrypt them.
    """
    paths = generate_roots(folder, count)
    emit(ctx, {"root_keys": [str(p) for p in paths]}, text="\n".join(f"wrote {p}" for p in paths))


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
@click.option("--repository", help="Name written into every signed document (default: public URL).")
@pass_ctx
@handled
def keys_init(
    ctx: Ctx, root_keys: tuple[Path, ...], threshold: int | None, repository: str | None
) -> None:
    """Create keyring version 1: fresh online keys, signed by the given root keys."""
    store: KeyStore = ctx.depot.keys
    if store.initialized():
        fail("this server already has a keyring: use `depot-server keys rotate`", 5)
    roots = _read_roots(root_keys)
    with ctx.depot.db.write() as session:
        current = store.create(
            session, roots, threshold or len(roots), ctx.depot.clock.now(), repository=repository
        )
    _show(ctx, current.version)


@keys.command("rotate")
@click.option(
    "--root-key",
    "root_keys",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A current root key file (as many as the current threshold).",
)
@click.option(
    "--new-root-key",
    "new_root_keys",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A root key of the next keyring (default: keep the current roots).",
)
@click.option("--threshold", type=int, help="Root threshold of the next keyring.")
@pass_ctx
@handled
def keys_rotate(
    ctx: Ctx, root_keys: tuple[Path, ...], new_root_keys: tuple[Path, ...], threshold: int | None
) -> None:
    """Write the next keyring with new online keys (and, if given, new root keys).

    It is signed by the current roots and by the next ones, so clients can follow.
    Restart the server processes afterwards so they load the new keys.
    """
    store: KeyStore = ctx.depot.keys
    with ctx.depot.db.write() as session:
        current = store.create(
            session,
            _read_roots(root_keys),
            threshold or 0,
            ctx.depot.clock.now(),
            new_roots=_read_roots(new_root_keys) or None,
            new_threshold=threshold,
        )
    _show(ctx, current.version)


@keys.command("show")
@pass_ctx
@handled
def keys_show(ctx: Ctx) -> None:
    """Show the current keyring: version, expiry, root fingerprint, keys by role."""
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
    """Re-hash every stored blob against the database; report missing, changed and
    unreferenced blobs (exit code 6 when any is found)."""
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
    lines += [f"unreferenced: areas/{u['area']} {u['sha256']}" for u in state.unreferenced]
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
