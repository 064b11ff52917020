"""``depot trust``, ``depot verify``, ``depot keys`` and ``depot audit verify``: what the
client trusts, offline verification, personal signing keys, and the log's growth."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.api import Api
from client.context import Context, pass_context
from client.errors import ClientError, Exit
from client.paging import collect, page_options
from client.trust import TrustStore, server_id, trust_failure
from client.trust_state import (
    check_growth,
    library_summary,
    merged_keyrings,
    parse_staleness,
    seen_versions,
    stores_of,
)
from client.witness import check_bundle_witnesses, fetch_checkpoint
from policies.trust.dsse import Envelope
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring
from policies.trust.keys import keyid_of, private_from_pem, private_to_pem, public_text
from policies.trust.library import check_seen_entry, check_state_floor
from policies.trust.note import SignedNote
from policies.trust.verify import Bundle, check_bundle_seal, verify_bundle


@click.group()
def trust() -> None:
    """The root key this client trusts for a server (pinned once)."""


@trust.command("init")
@click.argument("url")
@click.option(
    "--root-fingerprint",
    required=True,
    help="sha256 of the server's keyring version 1, from its administrators "
    "(`depot-server keys show`).",
)
@pass_context
def trust_init(ctx: Context, url: str, root_fingerprint: str) -> None:
    """Pin the root of trust of the server at URL.

    Fetches keyring version 1, checks that it has the given fingerprint and is signed by
    its own root keys, then follows the chain to the newest keyring.
    """
    api = Api(url)
    store = TrustStore.for_server(api.server)
    now = datetime.now(UTC)
    first = Envelope.from_json(api.get("/api/v1/trust/keyring/1"))
    store.pin(first, root_fingerprint.strip().lower(), now)
    keyring = store.refresh_keyring(api, now)
    ctx.output.emit(
        {
            "server": api.server,
            "repository": keyring.repository,
            "keyring_version": keyring.version,
            "trust_dir": str(store.folder),
        },
        text=(
            f"trusting {api.server} (repository {keyring.repository}), "
            f"keyring version {keyring.version}\ntrusted state in {store.folder}"
        ),
    )


@trust.command("show")
@pass_context
def trust_show(ctx: Context) -> None:
    """What this client trusts for the configured server."""
    store = TrustStore.for_server(ctx.api(signed_in=False).server)
    root = store.root()
    keyring = store.keyring()
    checkpoint = store.checkpoint()
    data = {
        "server": root["server"],
        "root_fingerprint": root["fingerprint"],
        "keyring_version": keyring.version,
        "keyring_expires": keyring.expires.isoformat(),
        "log_size": checkpoint.size if checkpoint else None,
        "versions_seen": len(store.state()["statuses"]),
        "library": library_summary(store),
    }
    lines = [f"{k}: {v}" for k, v in data.items() if k != "library"]
    for product, seen in data["library"].items():
        lines.append(
            f"library {product}: index serial {seen['serial']}, expires {seen['expires']}, "
            f"{seen['versions_listed']} version(s) listed, {seen['versions_seen']} seen"
        )
        lines.extend(
            f"  {product}@{version}: #{entry['library_number']} {entry['state']} "
            f"(signed {entry['issued']}), manifest sha256:{entry['manifest_sha256']}"
            for version, entry in seen["versions"].items()
        )
    ctx.output.emit(data, text="\n".join(lines))


@trust.command("extend")
@click.argument(
    "bundles",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@pass_context
def trust_extend(ctx: Context, bundles: tuple[Path, ...]) -> None:
    """Let archived BUNDLES verify after key rotations (online, once per bundle).

    A bundle made before `depot-server keys rotate` is signed by keys the rotation
    retired, so `depot verify` refuses it. This adds the seal the offline roots signed at
    that rotation (the log as it stood) and the proof that the bundle's log checkpoint is
    part of the sealed log; from then on `depot verify --archival` accepts the bundle
    offline, after any number of later rotations, for as long as the file is kept. The
    bundle's own signatures stay as they are, and nothing fetched is written before it
    verifies. A bundle signed by the newest keys, or already extended, is left alone.
    """
    api = ctx.api()
    store = TrustStore.for_server(api.server)
    now = datetime.now(UTC)
    newest = store.refresh_keyring(api, now).version
    fingerprint = store.root()["fingerprint"]
    results: list[dict[str, Any]] = []
    for path in bundles:
        bundle = _read_bundle(path)
        own = Keyring.from_payload(bundle.keyrings[-1].payload).version if bundle.keyrings else 0
        if bundle.seal is not None or own >= newest:
            why = "already extended" if bundle.seal is not None else "signed by the newest keys"
            results.append({"bundle": str(path), "extended": False, "reason": why})
            continue
        try:
            seal_env = Envelope.from_json(api.get(f"/api/v1/trust/seal/{own}"))
        except ClientError as error:
            if error.exit_code != Exit.NOT_FOUND:
                raise
            raise ClientError(
                f"{path}: the server has no seal of keyring {own} (rotated before seals were made)",
                Exit.NOT_FOUND,
                hint="fetch the bundle again with `depot pull --bundle` while the version is "
                "in the library (the rotation re-signed its documents)",
            ) from None
        sealed = json.loads(seal_env.payload)
        size = SignedNote.parse(bundle.checkpoint).text.split(b"\n")[1].decode()
        proof: list[str] = []
        if size.isdigit() and int(size) <= int(sealed.get("log_size", -1)):
            proof = api.get(
                "/api/v1/log/proof/consistency", old=int(size), new=int(sealed["log_size"])
            )["proof"]
        extended = replace(bundle, seal=seal_env, seal_proof=tuple(proof))
        try:
            seal = check_bundle_seal(
                replace(
                    extended,
                    keyrings=tuple(merged_keyrings(store.keyring_envelopes(), bundle.keyrings)),
                ),
                root_fingerprint=fingerprint,
                now=now,
            )
        except TrustError as error:
            raise trust_failure(error, f"{path} cannot be extended") from None
        _write_bundle(path, extended)
        results.append(
            {
                "bundle": str(path),
                "extended": True,
                "keyring": seal.keyring,
                "log_size": seal.log_size,
                "sealed": seal.sealed.isoformat(),
            }
        )
    ctx.output.emit(
        {"bundles": results},
        text="\n".join(
            f"extended {r['bundle']}: sealed when keyring {r['keyring']} was retired "
            f"({r['sealed']}, a log of {r['log_size']} entries); `depot verify --archival` "
            "accepts it offline"
            if r["extended"]
            else f"unchanged {r['bundle']}: {r['reason']}"
            for r in results
        ),
    )


def _read_bundle(path: Path) -> Bundle:
    try:
        return Bundle.from_json(json.loads(path.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError, TrustError) as error:
        raise ClientError(f"{path} is not a Depot bundle: {error}", Exit.INTEGRITY) from None


def _write_bundle(path: Path, bundle: Bundle) -> None:
    """Replace the bundle file atomically (a crash leaves the old one or the new one)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(bundle.to_json(), indent=1, sort_keys=True))
    os.replace(tmp, path)


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _stored_name(path: Path, manifest: dict[str, object]) -> str:
    """The manifest's name for the local ``path``: the longest stored name that ends the
    path at a folder boundary (``out/sub/inner.txt`` is ``sub/inner.txt``), else the
    file's own name."""
    local = path.as_posix()
    entries = manifest.get("files")
    names = (
        [e.get("name") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    )
    fits = [
        name
        for name in names
        if isinstance(name, str) and (local == name or local.endswith("/" + name))
    ]
    return max(fits, key=len) if fits else path.name


@click.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--bundle",
    "bundle_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The bundle saved by `depot pull --bundle`.",
)
@click.option(
    "--root-fingerprint", help="The pinned root (default: the one `depot trust init` stored)."
)
@click.option(
    "--allow-stale-status",
    "stale",
    is_flag=False,
    flag_value="24h",
    default=None,
    metavar="[DURATION]",
    help="Accept a status expired at most DURATION ago (15m, 24h, 7d; 24h without a value, "
    "30d at most). Warns: a stop since then would not be known.",
)
@click.option(
    "--archival",
    is_flag=True,
    help="Verify an archived bundle: every signature and proof, but no expiry (keyring, "
    "enrolment, status); the result says 'archival' when one had expired.",
)
@pass_context
def verify(
    ctx: Context,
    files: tuple[Path, ...],
    bundle_path: Path,
    root_fingerprint: str | None,
    stale: str | None,
    archival: bool,
) -> None:
    """Verify FILES against a bundle, offline: no server is asked anything.

    Checks the keyring chain from the pinned root (walked through the newest keyring
    this client already trusts, never less), the status (signature, not stopped, not
    expired, not older than a retirement or quarantine this client saw), the manifest
    naming each file with its size and sha256, the approvals (four eyes) and the
    inclusion of the check-in in the signed log.
    """
    allowance = parse_staleness(stale)
    bundle = _read_bundle(bundle_path)
    fingerprint = root_fingerprint or _stored_fingerprint(bundle)
    manifest = json.loads(bundle.manifest.payload)
    stores = stores_of(str(manifest.get("repository", "")))
    # Never trust less than the newest keyring this client holds, archived bundles
    # included: a document signed by a key rotated out since fails (`rotated_out`), or
    # a leaked retired key could sign a bundle that passes as archival.
    for store in stores:
        bundle = replace(
            bundle, keyrings=merged_keyrings(store.keyring_envelopes(), bundle.keyrings)
        )
    now = datetime.now(UTC)
    results = []
    for path in files:
        sha, size = _sha256(path)
        try:
            verified = verify_bundle(
                bundle,
                root_fingerprint=fingerprint,
                group=manifest["group"],
                product=manifest["product"],
                version=manifest["version"],
                filename=_stored_name(path, manifest),
                sha256_actual=sha,
                size_actual=size,
                now=now,
                stale=allowance,
                archival=archival,
            )
            product = f"{verified.status.group}/{verified.status.product}"
            for store in stores:
                before = seen_versions(store, product).get(verified.status.version)
                check_state_floor(
                    verified.status.ref, before, verified.status.state, verified.status.issued
                )
                # The bundle's index, too, against what this client remembers of it.
                if verified.library is not None:
                    entry = verified.library.entry(verified.status.version)
                    assert entry is not None  # verify_bundle checked it lists the version
                    check_seen_entry(verified.library, entry, before)
        except TrustError as error:
            failure = trust_failure(error, f"{path} does not verify")
            if error.check == "expired" and not archival:
                failure.hint = "if this is an archived bundle: `depot verify --archival`"
            raise failure from None
        library = verified.library
        results.append(
            {
                "file": str(path),
                "sha256": sha,
                "size": size,
                "standing": verified.standing,
                # In the library by the bundle's signed index (None: the bundle has none).
                "library_serial": None if library is None else library.serial,
                # The signed build attestations the manifest names, each verified.
                "provenance": [a.to_json() for a in verified.provenance],
            }
        )
        status = verified.status
        if verified.standing == "archival":
            ctx.output.warn(
                f"archival: the signatures and proofs hold, but the bundle's documents have "
                f"expired; {status.group}/{status.product}@{status.version} was checked in "
                f"as of {status.issued.isoformat()}, its state since then is not known"
            )
        elif status.expires <= now:
            ctx.output.warn(
                f"the bundle's status expired at {status.expires.isoformat()}: the state of "
                f"{status.group}/{status.product}@{status.version} is unknown since then"
            )
    check_bundle_witnesses(bundle, fingerprint, now)
    ref = f"{manifest['group']}/{manifest['product']}@{manifest['version']}"
    lines = [
        f"{'archival' if r['standing'] == 'archival' else 'verified'}  {r['file']}  {ref}  "
        f"sha256:{r['sha256']}"
        for r in results
    ]
    proven: list[dict[str, Any]] = results[0]["provenance"] if results else []  # type: ignore[assignment]
    lines += [
        f"provenance verified: sha256:{a['payload_sha256']}  builder {a['builder_id']}  "
        f"{len(a['subjects'])} file(s)"
        for a in proven
    ] or ["provenance: none signed (build fields stated, not proven)"]
    ctx.output.emit({"ref": ref, "verified": results}, text="\n".join(lines))


def _stored_fingerprint(bundle: Bundle) -> str:
    """The root pinned with `depot trust init` for the repository the bundle is from."""
    repository = ""
    if bundle.keyrings:
        with contextlib.suppress(json.JSONDecodeError, UnicodeDecodeError):
            repository = str(json.loads(bundle.keyrings[0].payload).get("repository", ""))
    for root in TrustStore.pinned_roots():
        if root.get("repository") == repository:
            return str(root["fingerprint"])
    raise ClientError(
        f"no root is pinned for the repository {repository or '(unknown)'} of this bundle",
        Exit.INTEGRITY,
        "trust.not_initialized",
        "pass --root-fingerprint, or pin one with `depot trust init URL --root-fingerprint FP`",
    )


# -- personal keys -----------------------------------------------------------------------


def key_path(ctx: Context, server: str) -> Path:
    """Where the personal key for ``server`` is kept (``DEPOT_KEY_FILE`` overrides)."""
    if os.environ.get("DEPOT_KEY_FILE"):
        return Path(os.environ["DEPOT_KEY_FILE"])
    return ctx.directory / "keys" / f"{server_id(server)}.pem"


def _passphrase() -> bytes | None:
    value = os.environ.get("DEPOT_KEY_PASSPHRASE")
    return value.encode() if value else None


def load_personal_key(ctx: Context, server: str) -> Ed25519PrivateKey | None:
    """The personal key for ``server``, or ``None`` when there is none."""
    path = key_path(ctx, server)
    if not path.exists():
        return None
    try:
        return private_from_pem(path.read_bytes(), _passphrase())
    except TrustError as error:
        raise ClientError(
            f"cannot use the personal key {path}: {error}",
            Exit.FAILURE,
            hint="set DEPOT_KEY_PASSPHRASE to the key's passphrase",
        ) from None


@click.group()
def keys() -> None:
    """Your personal signing key: approvals made with the CLI carry your signature."""


@keys.command("generate")
@pass_context
def keys_generate(ctx: Context) -> None:
    """Create a personal key and register its public half with the server.

    The private key stays on this machine (mode 0600; encrypted when
    DEPOT_KEY_PASSPHRASE is set). Once the enrolment officers have enrolled the public key
    (`depot-server keys enroll`), `depot approve` and `depot refuse` sign what you decide.
    """
    api = ctx.api()
    path = key_path(ctx, api.server)
    if path.exists():
        raise ClientError(
            f"a personal key already exists at {path}",
            Exit.CONFLICT,
            hint="revoke it with `depot keys revoke KEYID` and move the file away first",
        )
    key = Ed25519PrivateKey.generate()
    registered = api.json("POST", "/api/v1/keys", {"public": public_text(key.public_key())})
    waiting = (
        ""
        if registered.get("enrolled")
        else ("\nit counts once the enrolment officers enrol it (`depot-server keys enroll`)")
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_to_pem(key, _passphrase()))
    ctx.output.emit(
        {"keyid": registered["keyid"], "path": str(path)},
        text=f"registered key {registered['keyid']}\nprivate key: {path} (keep it safe)" + waiting,
    )


@keys.command("list")
@click.option("--user", help="Another person's keys.")
@page_options
@pass_context
def keys_list(ctx: Context, user: str | None, limit: int | None, all_pages: bool) -> None:
    """Registered personal keys (yours by default), oldest first."""
    api = ctx.api()
    found = collect(
        lambda **q: api.get("/api/v1/keys", **q),
        "keys",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
        user=user,
    )
    lines = [
        f"{k['keyid']}  {k['username']}  {k['registered_at']}"
        + ("  revoked" if k["revoked"] else "")
        + ("" if k.get("enrolled") else "  waiting for enrolment")
        for k in found
    ]
    ctx.output.emit(found, text="\n".join(lines) or "no keys")


@keys.command("revoke")
@click.argument("keyid")
@pass_context
def keys_revoke(ctx: Context, keyid: str) -> None:
    """Revoke a personal key: the server refuses statements it signs from now on, and
    clients once the enrolment officers sign the revocation (`depot-server keys revoke`)."""
    info = ctx.api().json("POST", f"/api/v1/keys/{keyid}/revoke", {})
    ctx.output.emit(info, text=f"revoked {keyid}")


def sign_statement(
    ctx: Context, api: Api, request_id: str, decision: str, comment: str
) -> dict[str, Any] | None:
    """The decision's statement signed with the personal key, or ``None`` without a key."""
    key = load_personal_key(ctx, api.server)
    if key is None:
        return None
    from policies.trust.dsse import sign

    to_sign = api.json(
        "POST",
        f"/api/v1/requests/{request_id}/statement",
        {"decision": decision, "comment": comment},
    )
    import base64

    payload = base64.b64decode(to_sign["payload"])
    ctx.output.note(f"signing with personal key {keyid_of(key.public_key())[:16]}…")
    return sign(to_sign["payloadType"], payload, [key]).to_json()


# -- the log -----------------------------------------------------------------------------


def audit_verify(ctx: Context) -> None:
    """Check that the server's log only grew since the checkpoint this client stored."""
    api = ctx.api()
    store = TrustStore.for_server(api.server)
    now = datetime.now(UTC)
    keyring = store.refresh_keyring(api, now)
    note, checkpoint = fetch_checkpoint(api, store, keyring, now)
    old = store.checkpoint()
    check_growth(api, old, checkpoint, "the server's log does not verify")
    store.remember_checkpoint(note)
    before = old.size if old else 0
    ctx.output.emit(
        {"previous_size": before if old else None, "size": checkpoint.size, "ok": True},
        text=(
            f"the log grew from {before} to {checkpoint.size} entries, consistently"
            if old
            else f"first checkpoint stored: {checkpoint.size} entries"
        ),
    )
