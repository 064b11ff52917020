"""What a client checks before it trusts a checked-in version's bytes, online or offline.

The order follows TUF's client workflow, in-toto's layout checks and Certificate
Transparency's proofs: keyring → status (fresh, not rolled back, usable) → manifest (the
one the status names, of this version, listing this file) → approvals (four eyes) → log
checkpoint and the inclusion of the check-in → the downloaded bytes. ``client/verified.py``
fetches the documents and calls these one by one; ``depot verify`` calls
:func:`verify_bundle`. Every function raises :class:`TrustError` naming the failed check.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from policies.trust.approvals import verify_statements
from policies.trust.bundle import Bundle
from policies.trust.canonical import parse_canonical, utc_text
from policies.trust.documents import Checkpoint, FileEntry, Manifest, Statement, Status
from policies.trust.dsse import MANIFEST, STATUS, Envelope, verify
from policies.trust.enrollment import check_enrollment_log, verify_enrollment
from policies.trust.errors import TrustError
from policies.trust.fields import check_filename
from policies.trust.keyring import Keyring, trust_first_keyring, walk_keyrings
from policies.trust.library import (
    LIBRARY,
    STOPPED,
    LibraryIndex,
    check_fresh,
    check_listed,
    verify_library_index,
)
from policies.trust.merkle import leaf_hash, verify_consistency, verify_inclusion
from policies.trust.note import ED25519, SignedNote, VerifierKey, verify_note
from policies.trust.provenance import Attestation, verify_provenance
from policies.trust.seal import Seal, check_sealed, verify_seal

__all__ = [
    "Bundle",
    "VerifiedRelease",
    "check_bundle_seal",
    "check_download",
    "check_log_growth",
    "checkin_expectation",
    "require_usable",
    "safe_filename",
    "verify_bundle",
    "verify_checkpoint",
    "verify_inclusion_of",
    "verify_manifest",
    "verify_statements",
    "verify_status",
]

#: The earlier name of :func:`policies.trust.fields.check_filename`.
safe_filename = check_filename


def _ref(group: str, product: str, version: str) -> str:
    return f"{group}/{product}@{version}"


def verify_status(
    keyring: Keyring,
    env: Envelope,
    *,
    group: str,
    product: str,
    version: str,
    now: datetime,
    trusted_serial: int | None,
    trusted_payload_sha256: str | None = None,
    stale: timedelta = timedelta(0),
    check_expiry: bool = True,
) -> Status:
    """The status of ``group/product@version``: signed by the status role, about this
    version, not rolled back, not expired.

    ``trusted_serial`` / ``trusted_payload_sha256`` are what the client stored last time
    (``None`` on first sight): a lower serial, or the same serial with other content, is
    a rollback. Freshness is :func:`check_fresh`: a lifetime of at most a day, and
    ``stale`` is how long past its expiry the caller accepts it (at most 30 days; the
    caller warns); the state is checked separately by :func:`require_usable`.
    ``check_expiry=False`` (an archived bundle) checks the lifetime bound but not the
    expiry: the caller reports such a status as archival, never as current.
    """
    ref = _ref(group, product, version)
    keys, threshold = keyring.role_keys("status")
    status = Status.from_payload(verify(env, STATUS, keys, threshold, role="status"))
    if (status.repository, status.ref) != (keyring.repository, ref):
        raise TrustError(
            "subject",
            f"the status is about {status.ref} of {status.repository}, not {ref} of "
            f"{keyring.repository}",
        )
    if trusted_serial is not None:
        if status.serial < trusted_serial:
            raise TrustError(
                "rollback",
                f"status serial {status.serial} of {ref} is older than serial "
                f"{trusted_serial}, already seen",
            )
        if status.serial == trusted_serial and not (
            trusted_payload_sha256 is not None
            and hmac.compare_digest(env.payload_sha256().encode(), trusted_payload_sha256.encode())
        ):
            raise TrustError(
                "rollback",
                f"the status of {ref} carries serial {status.serial}, already seen with "
                "other content",
            )
    check_fresh(
        f"status for {ref}",
        status.issued,
        status.expires,
        now if check_expiry else status.issued,
        stale,
    )
    return status


def require_usable(status: Status) -> None:
    """Refuse a version that is not (or no longer) checked in: ``TrustError("state")``."""
    if status.state != "checked_in":
        reason = f": {status.reason}" if status.reason else ""
        raise TrustError("state", f"{status.ref} is {status.state}{reason}")


def verify_manifest(
    keyring: Keyring,
    env: Envelope,
    *,
    group: str,
    product: str,
    version: str,
    filename: str,
    status: Status,
) -> tuple[Manifest, FileEntry]:
    """The manifest the verified ``status`` names, of this version, and its entry for
    ``filename``.

    ``filename`` must be one safe file name ("name"); the manifest must be signed by the
    release role, have the sha256 the status names ("hash"), and name this repository,
    group, product and version ("subject").
    """
    check_filename(filename)
    ref = _ref(group, product, version)
    if status.ref != ref:
        raise TrustError("subject", f"the status given is of {status.ref}, not {ref}")
    keys, threshold = keyring.role_keys("release")
    payload = verify(env, MANIFEST, keys, threshold, role="release")
    actual = env.payload_sha256()
    if not hmac.compare_digest(actual.encode(), status.manifest_sha256.encode()):
        raise TrustError(
            "hash",
            f"the manifest has sha256 {actual}, the status of {ref} names {status.manifest_sha256}",
        )
    manifest = Manifest.from_payload(payload)
    if (manifest.repository, manifest.ref) != (keyring.repository, ref):
        raise TrustError(
            "subject",
            f"the manifest is of {manifest.ref} of {manifest.repository}, not {ref} of "
            f"{keyring.repository}",
        )
    return manifest, manifest.file(filename)


def log_note_keys(keyring: Keyring, origin: str) -> list[VerifierKey]:
    """The log role's keys as signed-note verifier keys: the key name is the log's origin."""
    keys, _ = keyring.role_keys("log")
    return [VerifierKey(origin, ED25519, key) for key in keys.values()]


def verify_checkpoint(keyring: Keyring, note: bytes, *, origin: str) -> Checkpoint:
    """A checkpoint (a C2SP signed note) signed by the log role, of the log named ``origin``.

    Signature lines of other keys (witnesses' cosignatures) are ignored here; see
    :func:`policies.trust.witness.verify_cosignatures`.
    """
    _, threshold = keyring.role_keys("log")
    signed = SignedNote.parse(note)
    verify_note(signed, log_note_keys(keyring, origin), threshold, what="the checkpoint (log keys)")
    checkpoint = Checkpoint.from_payload(signed.text)
    if checkpoint.origin != origin:
        raise TrustError(
            "subject", f"the checkpoint is of the log {checkpoint.origin!r}, not {origin!r}"
        )
    return checkpoint


def check_log_growth(old: Checkpoint | None, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """The log only grew since the checkpoint ``old`` the client stored (``None``: first time).

    ``proof`` is the consistency proof from ``old.size`` to ``new.size``; a shrinking log,
    another log, or two roots for one size raise ``TrustError("consistency")``.
    """
    if old is None:
        return
    if old.origin != new.origin:
        raise TrustError(
            "consistency", f"the checkpoint is of {new.origin!r}, the stored one of {old.origin!r}"
        )
    verify_consistency(old.size, new.size, old.root, new.root, proof)


def checkin_expectation(
    group: str, product: str, version: str, manifest_sha256: str
) -> dict[str, Any]:
    """What the log entry of a version's check-in says (for :func:`verify_inclusion_of`)."""
    return {
        "action": "checkin.approve",
        "outcome": "ok",
        "target": _ref(group, product, version),
        "details": {"manifest_sha256": manifest_sha256},
    }


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _mismatch(record: Mapping[str, Any], expect: Mapping[str, Any], path: str = "") -> str | None:
    for key, want in expect.items():
        name = f"{path}{key}"
        if key not in record:
            return f"it has no {name}"
        got = record[key]
        if isinstance(want, Mapping):
            if not isinstance(got, Mapping):
                return f"its {name} is {_json(got)}, not an object"
            found = _mismatch(got, want, name + ".")
            if found:
                return found
        elif _json(got) != _json(want):
            return f"its {name} is {_json(got)}, expected {_json(want)}"
    return None


def verify_inclusion_of(
    record: bytes,
    index: int,
    size: int,
    proof: Sequence[bytes],
    checkpoint: Checkpoint,
    *,
    expect: Mapping[str, Any],
) -> None:
    """``record`` is leaf ``index`` of the checkpoint's log, and it says what is expected.

    The record must be canonical JSON holding every key/value of ``expect`` (nested
    objects compared key by key, values compared as JSON: ``1`` is not ``true``) and, if
    it records an ``index``, that index; so a valid entry about another artifact fails
    with "inclusion" before the Merkle proof is even checked.
    """
    if size != checkpoint.size:
        raise TrustError(
            "inclusion",
            f"the inclusion proof is for a log of {size} entries, the checkpoint has "
            f"{checkpoint.size}",
        )
    entry = parse_canonical(record)
    wrong = _mismatch(entry, expect)
    if wrong is None and "index" in entry and _json(entry["index"]) != _json(index):
        wrong = f"it records index {_json(entry['index'])}"
    if wrong:
        raise TrustError(
            "inclusion", f"the log entry at index {index} is not the one expected: {wrong}"
        )
    verify_inclusion(leaf_hash(record), index, size, proof, checkpoint.root)


def check_download(sha256_hex_actual: str, size_actual: int, entry: FileEntry) -> None:
    """The bytes received for ``entry`` are the signed ones: same size, then same sha256.

    The client also stops reading at ``entry.size + 1`` bytes, so an endless stream ends.
    """
    if size_actual < entry.size:
        raise TrustError(
            "size",
            f"{entry.name} is truncated: {size_actual} of {entry.size} signed bytes arrived",
        )
    if size_actual > entry.size:
        raise TrustError(
            "size", f"{entry.name} is larger than the {entry.size} signed bytes ({size_actual})"
        )
    if not hmac.compare_digest(sha256_hex_actual.encode(), entry.sha256.encode()):
        raise TrustError(
            "hash",
            f"{entry.name} has sha256 {sha256_hex_actual}, the signed manifest says {entry.sha256}",
        )


@dataclass(frozen=True)
class VerifiedRelease:
    """What :func:`verify_bundle` proved about one file of one version.

    ``standing`` is ``current`` when every signed document was still in force at ``now``,
    and ``archival`` when the bundle was verified as an archive: every signature and
    proof holds, but its keyring, enrolment document or status had expired, so what
    happened to the version since the status was issued is not known.
    """

    keyring: Keyring
    status: Status
    manifest: Manifest
    entry: FileEntry
    statements: tuple[Statement, ...]
    checkpoint: Checkpoint
    standing: str = "current"
    #: The bundle's library index, verified and listing the version (``None``: not carried).
    library: LibraryIndex | None = None
    #: The build attestations the manifest names, each verified (signature, subjects).
    provenance: tuple[Attestation, ...] = ()
    #: The roots' seal that proved a bundle signed by retired keys predates their rotation.
    seal: Seal | None = None


@contextmanager
def _naming_retired_keys(
    older: Sequence[Keyring], env: Envelope, payload_type: str, role: str, what: str
) -> Iterator[None]:
    """Turn a ``threshold`` failure into ``rotated_out`` when a retired key signed ``env``.

    Only the message changes: a document that only keys of an older keyring signed is
    refused (current or archival), because whoever leaked such a key after the rotation
    could sign anything with it, unless the bundle carries the roots' seal of that
    rotation and its log checkpoint is part of the sealed log (:mod:`policies.trust.seal`).
    """
    try:
        yield
    except TrustError as error:
        if error.check != "threshold":
            raise
        for ring in reversed(older):
            keys, threshold = ring.role_keys(role)
            try:
                verify(env, payload_type, keys, threshold, role=role)
            except TrustError:
                continue
            raise TrustError(
                "rotated_out",
                f"the bundle's {what} is signed by the {role} key of keyring {ring.version}, "
                f"which keyring {ring.version + 1} rotated out; a rotated-out key signs nothing "
                "a client accepts unless the roots' seal of that rotation proves the bundle "
                "predates it. For a bundle made before that rotation, add the seal with "
                "`depot trust extend BUNDLE` (online, once) and verify with --archival, or "
                "fetch it again with `depot pull --bundle` (the rotation re-signed its "
                "documents)",
            ) from None
        raise


def verify_bundle(
    bundle: Bundle,
    *,
    root_fingerprint: str,
    group: str,
    product: str,
    version: str,
    filename: str,
    sha256_actual: str,
    size_actual: int,
    now: datetime,
    stale: timedelta = timedelta(0),
    archival: bool = False,
) -> VerifiedRelease:
    """Verify one file against a bundle, offline, from the pinned root fingerprint.

    The whole chain, in the client's order: keyrings from version 1, status (accepted
    past its expiry only within ``stale``; a quarantined or retired version always
    fails), manifest and file entry, the enrolment document, approvals, checkpoint, the
    inclusion of the check-in in the log (and that the log extends the one the
    enrolment document was signed over), and the file's size and sha256.

    When the bundle carries the product's library index, it must be signed by the status
    role, of this product, fresh, and list the version with this manifest, not stopped.

    ``archival=True`` verifies an archived bundle years later: no expiry is checked
    (keyring, enrolment document, status, library index), and the result's ``standing``
    says ``archival`` when one of them had expired.
    """
    if not bundle.keyrings:
        raise TrustError("keyring_version", "the bundle holds no keyring")
    keyring = trust_first_keyring(bundle.keyrings[0], root_fingerprint, now)
    keyring = walk_keyrings(keyring, bundle.keyrings[1:], now, check_expiry=not archival)
    # The walk checked every keyring of the chain.
    chain = [Keyring.from_payload(env.payload) for env in bundle.keyrings]
    # The keyring whose online keys signed the bundle: the newest, or, in a bundle with
    # the roots' seal of a later rotation, the one the seal retired.
    signer, seal = keyring, None
    if bundle.seal is not None:
        seal, signer = verify_seal(chain, bundle.seal)
        if not archival:
            raise TrustError(
                "sealed",
                f"the bundle is signed by the keys of keyring {seal.keyring}, retired since "
                f"(its roots sealed the log at {utc_text(seal.sealed)}): it verifies as an "
                "archive only, `depot verify --archival`",
            )
    # Older keyrings only name retired keys in messages.
    older = [ring for ring in chain if ring.version < signer.version]
    with _naming_retired_keys(older, bundle.status, STATUS, "status", "status"):
        status = verify_status(
            signer,
            bundle.status,
            group=group,
            product=product,
            version=version,
            now=now,
            trusted_serial=None,
            stale=stale,
            check_expiry=not archival,
        )
    require_usable(status)
    library = _bundle_library(bundle, signer, older, group, product, version, now, stale, archival)
    with _naming_retired_keys(older, bundle.manifest, MANIFEST, "release", "manifest"):
        manifest, entry = verify_manifest(
            signer,
            bundle.manifest,
            group=group,
            product=product,
            version=version,
            filename=filename,
            status=status,
        )
    enrollment = None
    if signer.has_role("enrollment") or bundle.enrollment is not None:
        if bundle.enrollment is None:
            raise TrustError("bundle", "the bundle holds no enrolment document")
        enrollment = verify_enrollment(
            signer, bundle.enrollment, now=now, check_expiry=not archival
        )
    index, size, proof, record = bundle.inclusion_parts()
    statements = verify_statements(signer, manifest, bundle.statements, enrollment, index)
    checkpoint = verify_checkpoint(signer, bundle.checkpoint, origin=signer.repository)
    if seal is not None:
        check_sealed(seal, checkpoint, bundle.seal_hashes())
    verify_inclusion_of(
        record,
        index,
        size,
        proof,
        checkpoint,
        expect=checkin_expectation(group, product, version, bundle.manifest.payload_sha256()),
    )
    if enrollment is not None:
        check_enrollment_log(enrollment, checkpoint, bundle.enrollment_hashes())
    check_download(sha256_actual, size_actual, entry)
    provenance = verify_provenance(
        manifest.provenance,
        bundle.provenance,
        {f.name: f.sha256 for f in manifest.files},
        manifest.ref,
    )
    expired = [
        keyring.expires,
        status.expires,
        *([enrollment.expires] if enrollment is not None else []),
        *([library.expires] if library is not None else []),
    ]
    standing = "archival" if seal is not None or min(expired) <= now else "current"
    return VerifiedRelease(
        keyring,
        status,
        manifest,
        entry,
        tuple(statements),
        checkpoint,
        standing,
        library,
        provenance,
        seal,
    )


def check_bundle_seal(bundle: Bundle, *, root_fingerprint: str, now: datetime) -> Seal:
    """The bundle's seal verifies and its checkpoint is part of the sealed log.

    What ``depot trust extend`` checks before it writes a seal fetched from a server into
    a bundle: the keyring chain from the pinned root (expiries lifted, as for an
    archive), the seal signed by the next keyring's roots, the checkpoint signed by the
    log key of the keyring it retired, and the consistency proof. :func:`verify_bundle`
    checks all of it again, with everything else, whenever the bundle is verified.
    """
    if not bundle.keyrings:
        raise TrustError("keyring_version", "the bundle holds no keyring")
    if bundle.seal is None:
        raise TrustError("seal", "the bundle carries no seal")
    first = trust_first_keyring(bundle.keyrings[0], root_fingerprint, now)
    walk_keyrings(first, bundle.keyrings[1:], now, check_expiry=False)
    chain = [Keyring.from_payload(env.payload) for env in bundle.keyrings]
    seal, signer = verify_seal(chain, bundle.seal)
    checkpoint = verify_checkpoint(signer, bundle.checkpoint, origin=signer.repository)
    check_sealed(seal, checkpoint, bundle.seal_hashes())
    return seal


def _bundle_library(
    bundle: Bundle,
    keyring: Keyring,
    older: Sequence[Keyring],
    group: str,
    product: str,
    version: str,
    now: datetime,
    stale: timedelta,
    archival: bool,
) -> LibraryIndex | None:
    """The bundle's library index, verified, listing ``version`` with the bundle's
    manifest and not stopped (``None`` when the bundle carries none)."""
    if bundle.library is None:
        return None
    try:
        with _naming_retired_keys(older, bundle.library, LIBRARY, "status", "library index"):
            index = verify_library_index(
                keyring,
                bundle.library,
                group=group,
                product=product,
                now=now,
                trusted_serial=None,
                trusted_payload_sha256=None,
                seen={},
                stale=stale,
                check_expiry=not archival,
            )
    except TrustError as error:
        if error.check != "threshold":
            raise
        raise TrustError("threshold", f"the bundle's library index: {error}") from None
    check_listed(index, version, bundle.manifest.payload_sha256())
    entry = index.entry(version)
    assert entry is not None
    if entry.state in STOPPED:
        raise TrustError("state", f"{index.ref}@{version} is {entry.state} in the library index")
    return index
