"""``depot-server keys export`` and ``keys import``: carry keyrings and online keys from the
offline key ceremony to a deployment.

The root keys never reach a server. On an offline machine the security officers run
``keys generate-roots`` and ``keys init`` (or ``keys rotate``) against a ceremony data folder
of its own; ``keys export FOLDER`` then writes only what the app nodes need into FOLDER: the
online key files (``<version>.<role>.pem``, as encrypted as they were written) and every
keyring as signed (``keyring-<version>.json``). That folder becomes the deployment's
``DEPOT_KEYS_DIR`` (read-only for the app nodes), and ``keys import`` — run once per keyring
by the one-shot ``init`` step of a deployment, before ``depot-server init`` — checks the chain
of keyrings and stores the new ones in the deployment's database. See docs/operations.md,
"The key ceremony".
"""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.trust.dsse import Envelope
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring, root_fingerprint, trust_first_keyring, update_keyring
from policies.trust.keys import keyid_of
from policies.trust.seal import verify_seal
from repo_server.cli_support import Ctx, emit, fail, handled, pass_ctx
from repo_server.trust.keystore import ONLINE_ROLES, KeyStore, read_private_key
from repo_server.trust.log import MerkleLog
from repo_server.trust.models import KeyringRecord, SealRecord

_KEYRING_FILE = re.compile(r"keyring-([1-9][0-9]*)\.json")
_SEAL_FILE = re.compile(r"seal-([1-9][0-9]*)\.json")
_KEY_FILE = re.compile(r"[1-9][0-9]*\.(release|status|log)\.pem")


def keyring_files(folder: Path, pattern: re.Pattern[str] = _KEYRING_FILE) -> dict[int, Path]:
    """The ``keyring-<version>.json`` files of ``folder`` (or those ``pattern`` names: the
    seals, ``seal-<version>.json``), by version."""
    found: dict[int, Path] = {}
    if folder.is_dir():
        for path in folder.iterdir():
            match = pattern.fullmatch(path.name)
            if match:
                found[int(match.group(1))] = path
    return dict(sorted(found.items()))


def _import_seals(session: Session, source: Path, chain: list[Keyring], now: datetime) -> list[int]:
    """Store the roots' seals of ``source`` this database lacks, each checked first: signed
    by the roots of the keyring after the one it seals (else exit code 6), and sealing
    *this* log (its size and root at that size). A seal of another log (the ceremony's own,
    when the rotation was not given the deployment's `keys log-head`) is left out with a
    warning: the keyring still imports, and bundles made before it are fetched again."""
    added = []
    for version, path in keyring_files(source, _SEAL_FILE).items():
        if session.get(SealRecord, version) is not None:
            continue
        try:
            envelope = Envelope.from_bytes(path.read_bytes())
            seal, _ = verify_seal(chain, envelope)
        except (TrustError, ValueError) as error:
            fail(f"{path} does not verify: {error}", 6)
        if seal.keyring != version:
            fail(f"{path} holds the seal of keyring {seal.keyring}", 6)
        size = MerkleLog.size(session)
        if seal.log_size > size or MerkleLog.reader(session).root(seal.log_size).hex() != (
            seal.log_root
        ):
            click.echo(
                f"warning: {path} seals another log than this deployment's "
                f"({seal.log_size} entries), left out: the rotation was not given this "
                "deployment's log head. Bundles made before it cannot be extended; fetch them "
                "again (`depot pull --bundle`). For the next rotation: `depot-server keys "
                "log-head FILE` here, then `keys rotate --log-head FILE` at the ceremony",
                err=True,
            )
            continue
        session.add(SealRecord(keyring=version, envelope=envelope.to_bytes(), created_at=now))
        added.append(version)
    return added


def check_chain(envelopes: list[bytes]) -> list[Keyring]:
    """Parse keyrings 1…N and check each one as a client will: version 1 signed by a
    threshold of its own roots, every next one by the previous roots and by its own.

    Raises ``click.ClickException`` naming the version at fault. Expiry is not checked
    here: an expired keyring is still a link of the chain.
    """
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    chain: list[Keyring] = []
    for number, data in enumerate(envelopes, start=1):
        try:
            envelope = Envelope.from_bytes(data)
            if number == 1:
                keyring = trust_first_keyring(envelope, root_fingerprint(envelope), now)
            else:
                keyring = update_keyring(chain[-1], envelope, now, final=False)
        except (TrustError, ValueError) as error:
            raise click.ClickException(
                f"keyring version {number} does not verify: {error}"
            ) from None
        if keyring.version != number:
            raise click.ClickException(f"keyring-{number}.json holds version {keyring.version}")
        chain.append(keyring)
    return chain


def _same_or_new(source: Path, target: Path) -> bool:
    """Copy ``source`` to ``target`` (mode 0600) unless an identical file is there.

    Returns whether it copied; a different file already at ``target`` is an error.
    """
    if target.exists():
        if (
            hashlib.sha256(target.read_bytes()).digest()
            != hashlib.sha256(source.read_bytes()).digest()
        ):
            raise click.ClickException(f"{target} exists and differs from {source}")
        return False
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copyfile(source, target)
    target.chmod(0o600)
    return True


@click.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@pass_ctx
@handled
def keys_export(ctx: Ctx, folder: Path) -> None:
    """Write every keyring and the online key files into FOLDER, for a deployment.

    Run on the offline machine after `keys init` or `keys rotate`; the root keys are not
    written. FOLDER becomes the deployment's DEPOT_KEYS_DIR.
    """
    store: KeyStore = ctx.depot.keys
    with ctx.depot.db.read() as session:
        rows = [
            (row.version, row.envelope)
            for row in session.scalars(sa.select(KeyringRecord).order_by(KeyringRecord.version))
        ]
    if not rows:
        fail("there is no keyring to export: run `depot-server keys init` first", 4)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for version, envelope in rows:
        target = folder / f"keyring-{version}.json"
        if target.exists() and target.read_bytes() != envelope:
            fail(f"{target} exists and holds another keyring", 5)
        if not target.exists():
            target.write_bytes(envelope)
            written.append(target.name)
    with ctx.depot.db.read() as session:
        seals = [(row.keyring, row.envelope) for row in session.scalars(sa.select(SealRecord))]
    for version, envelope in seals:
        target = folder / f"seal-{version}.json"
        if target.exists() and target.read_bytes() != envelope:
            fail(f"{target} exists and holds another seal", 5)
        if not target.exists():
            target.write_bytes(envelope)
            written.append(target.name)
    newest = rows[-1][0]
    for role in ONLINE_ROLES:
        source = store.key_path(role, newest)
        if not source.exists():
            fail(f"key file {source} does not exist", 4)
        if _same_or_new(source, folder / source.name):
            written.append(source.name)
    emit(
        ctx,
        {
            "folder": str(folder),
            "written": written,
            "keyring_version": newest,
            "root_fingerprint": store.fingerprint(),
        },
        text="\n".join(
            [f"wrote {folder / name}" for name in written]
            + [
                f"keyring version {newest}; root fingerprint {store.fingerprint()}",
                "copy this folder (never the root keys) to the deployment's keys folder",
            ]
        ),
    )


@click.command("import")
@click.argument(
    "folder", required=False, type=click.Path(file_okay=False, exists=True, path_type=Path)
)
@pass_ctx
@handled
def keys_import(ctx: Ctx, folder: Path | None) -> None:
    """Store the keyrings of FOLDER (default: the keys folder) in the database.

    Migrates the database first, checks the chain of keyrings, adds the versions the
    database does not have yet and checks that the online keys of the newest one are in
    the keys folder (copying them there from FOLDER when FOLDER is another folder).
    Exit code 4 when FOLDER holds no keyring, 6 when a keyring does not verify or
    differs from the one the database has.
    """
    from repo_server.migrate import upgrade

    store: KeyStore = ctx.depot.keys
    source = folder or store.folder
    files = keyring_files(source)
    if not files:
        fail(
            f"{source} holds no keyring-<version>.json: export the keys from the key "
            "ceremony with `depot-server keys export` (see docs/operations.md)",
            4,
        )
    if list(files) != list(range(1, len(files) + 1)):
        fail(f"{source} holds keyrings {sorted(files)}: they must be versions 1 to N", 6)
    envelopes = [path.read_bytes() for path in files.values()]
    try:
        chain = check_chain(envelopes)
    except click.ClickException as error:
        fail(error.message, 6)
    if not ctx.settings.database_url or not ctx.settings.storage_url:
        ctx.settings.data_dir.mkdir(parents=True, exist_ok=True)  # the embedded default
    upgrade(ctx.depot.db, plugins=ctx.depot.settings.plugin_names)
    newest = chain[-1].version
    with ctx.depot.db.read() as session:
        existing = {row.version: row.envelope for row in session.scalars(sa.select(KeyringRecord))}
    for version, data in enumerate(envelopes, start=1):
        if version in existing and existing[version] != data:
            fail(
                f"keyring version {version} of {source} differs from the one this "
                "database has (another root of trust?)",
                6,
            )
    if existing and max(existing) > newest:
        fail(
            f"the database has keyring version {max(existing)}, newer than the "
            f"{newest} of {source}: export the newest keyring again",
            6,
        )
    if folder is not None and folder.absolute() != store.folder.absolute():
        for role in ONLINE_ROLES:
            key_file = folder / store.key_path(role, newest).name
            if key_file.exists():
                _same_or_new(key_file, store.key_path(role, newest))
    for role in ONLINE_ROLES:
        # Before anything is stored: the key file is there, readable, and the one the
        # newest keyring names.
        key = read_private_key(store.key_path(role, newest), store.passphrase)
        if keyid_of(key.public_key()) not in chain[-1].role_keys(role)[0]:
            fail(
                f"{store.key_path(role, newest)} is not the {role} key keyring version "
                f"{newest} names",
                6,
            )
    from repo_server.trust.rotation import resign_all

    added = [version for version in range(1, newest + 1) if version not in existing]
    resigned = None
    with ctx.depot.db.write() as session:
        sealed = _import_seals(session, source, chain, ctx.depot.clock.now())
        for version in added:
            session.add(
                KeyringRecord(
                    version=version,
                    envelope=envelopes[version - 1],
                    created_at=ctx.depot.clock.now(),
                )
            )
        if existing and added:
            # A rotation at the ceremony: what this deployment signed with the retired
            # online keys is signed anew with the new ones, as `keys rotate` does on a
            # server (clients verify with the newest keyring's keys).
            session.flush()
            resigned = resign_all(session, store, newest)
        if added or sealed:
            ctx.depot.audit.record(
                session,
                ctx.principal,
                "keys.import",
                target=chain[-1].repository,
                details={
                    "versions": added,
                    "seals": sealed,
                    "root_fingerprint": root_fingerprint(Envelope.from_bytes(envelopes[0])),
                    **({"resigned": resigned.to_json()} if resigned else {}),
                },
            )
    store.forget()
    emit(
        ctx,
        {
            "added": added,
            "seals": sealed,
            "resigned": resigned.to_json() if resigned else None,
            "keyring_version": newest,
            "root_fingerprint": store.fingerprint(),
        },
        text=(
            (
                f"added keyring version(s) {', '.join(map(str, added))}"
                if added
                else "the database already has every keyring"
            )
            + (
                f"\nadded the roots' seal(s) of keyring(s) {', '.join(map(str, sealed))}"
                if sealed
                else ""
            )
            + (
                f"\nre-signed {resigned.manifests} manifest(s), {resigned.statements} "
                f"statement(s), {resigned.statuses} status document(s), "
                f"{resigned.checkpoints} checkpoint(s) with keyring {newest}'s keys"
                if resigned
                else ""
            )
            + f"\nkeyring version {newest}, online keys in {store.folder} verified"
            + f"\nroot fingerprint: {store.fingerprint()}"
        ),
    )
