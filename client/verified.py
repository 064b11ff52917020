"""Verifying a checked-in version before any of its bytes are trusted.

Called by ``depot pull`` for versions in the library. The order is TUF's: fix the time
once, refresh the keyring chain, check the status (signature, serial, expiry, state), the
manifest (signature, names, the status's manifest hash), the enrolment document (signed
by the offline enrolment officers, not older than the one seen), the approval statements
(four eyes, chain, subjects, enrolled personal keys) and the check-in's place in the log
(consistency with the last checkpoint seen and with the log the enrolment document was
signed over, inclusion of the check-in record); only then download, capped at the
signed size and compared with the signed sha256. Trusted state changes only after a check
passed. The rules are :mod:`policies.trust`; this module fetches and remembers.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from client.api import Api, version_path
from client.errors import ClientError, Exit
from client.provenance import verify_signed
from client.refs import Ref
from client.trust import TrustStore, trust_failure
from client.trust_state import check_growth
from client.witness import fetch_checkpoint, require_witnessed
from policies.trust.documents import Checkpoint, FileEntry, Manifest, Status
from policies.trust.dsse import Envelope
from policies.trust.enrollment import Enrollment, check_enrollment_log, verify_enrollment
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring
from policies.trust.provenance import Attestation
from policies.trust.verify import (
    Bundle,
    require_usable,
    verify_inclusion_of,
    verify_manifest,
    verify_statements,
    verify_status,
)


@dataclass(frozen=True)
class VerifiedVersion:
    """A version whose signed documents verified: the files to fetch and the bundle."""

    manifest: Manifest
    status: Status
    bundle: Bundle
    #: The build attestations the manifest names, verified.
    provenance: tuple[Attestation, ...] = ()

    def entry(self, name: str) -> FileEntry:
        return self.manifest.file(name)

    def record(self, name: str) -> dict[str, Any]:
        """The file as :func:`client.transfer.pull_file` takes it: the signed size and hash."""
        entry = self.entry(name)
        return {"name": entry.name, "size": entry.size, "sha256": entry.sha256}


def _hexes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def verify_version(
    api: Api,
    store: TrustStore,
    ref: Ref,
    names: list[str],
    *,
    now: datetime | None = None,
    stale: timedelta = timedelta(0),
    keyring: Keyring | None = None,
) -> VerifiedVersion:
    """Check everything about ``ref`` that can be checked before downloading ``names``.

    ``keyring`` is the one the caller refreshed a moment ago (else it is refreshed here)."""
    now = now or datetime.now(UTC)
    assert ref.product and ref.version
    text = str(ref)
    keyring = keyring or store.refresh_keyring(api, now)
    docs = api.get(version_path(ref) + "/trust")
    try:
        status_env = Envelope.from_json(docs["status"])
        serial, seen = store.trusted_status(text)
        status = verify_status(
            keyring,
            status_env,
            group=ref.group,
            product=ref.product,
            version=ref.version,
            now=now,
            trusted_serial=serial,
            trusted_payload_sha256=seen,
            stale=stale,
        )
    except TrustError as error:
        raise trust_failure(error, f"the status of {text} does not verify") from None
    store.remember_status(text, status, status_env)
    try:
        require_usable(status)
    except TrustError as error:
        raise ClientError(str(error), Exit.FORBIDDEN, "trust.state") from None
    manifest_env = Envelope.from_json(docs["manifest"])
    try:
        manifest: Manifest | None = None
        for name in names:
            manifest, _ = verify_manifest(
                keyring,
                manifest_env,
                group=ref.group,
                product=ref.product,
                version=ref.version,
                filename=name,
                status=status,
            )
        assert manifest is not None
    except TrustError as error:
        raise trust_failure(error, f"the manifest of {text} does not verify") from None
    statements = [Envelope.from_json(s) for s in docs["statements"]]
    enrollment_env, enrollment = _enrollment(store, keyring, docs, now)
    record = docs.get("checkin_record")
    if not record:
        raise ClientError(
            f"the server has no log record of the check-in of {text}",
            Exit.INTEGRITY,
            "trust.inclusion",
        )
    try:
        # The index is proven by the inclusion proof below, before anything is trusted.
        verify_statements(keyring, manifest, statements, enrollment, int(record["index"]))
    except TrustError as error:
        raise trust_failure(error, f"the approvals of {text} do not verify") from None
    checkpoint_note, checkpoint, inclusion = _check_log(
        api,
        store,
        keyring,
        docs,
        text,
        manifest_env,
        now,
        None if enrollment is None else enrollment.log_size,
    )
    enrollment_proof: list[str] = []
    if enrollment is not None:
        enrollment_proof = (
            store.proof(api, "consistency", old=enrollment.log_size, new=checkpoint.size)
            # From the empty log, or of the same size, the proof is empty.
            if 0 < enrollment.log_size < checkpoint.size
            else []
        )
        try:
            check_enrollment_log(enrollment, checkpoint, _hexes(enrollment_proof))
        except TrustError as error:
            raise trust_failure(error, f"the log does not prove the check-in of {text}") from None
        assert enrollment_env is not None
        store.remember_enrollment(enrollment, enrollment_env)
    store.remember_checkpoint(checkpoint_note)
    attested, provenance = verify_signed(api, ref, manifest)
    bundle = Bundle(
        keyrings=tuple(store.keyring_envelopes()),
        manifest=manifest_env,
        statements=tuple(statements),
        enrollment=enrollment_env,
        status=status_env,
        checkpoint=checkpoint_note,
        inclusion=inclusion,
        enrollment_proof=tuple(enrollment_proof),
        provenance=attested,
    )
    return VerifiedVersion(manifest, status, bundle, provenance)


def _enrollment(
    store: TrustStore, keyring: Any, docs: dict[str, Any], now: datetime
) -> tuple[Envelope | None, Enrollment | None]:
    """The enrolment document the server sent, verified; ``(None, None)`` only for a
    keyring without an enrolment role (then no personal signature counts)."""
    if docs.get("enrollment") is None and not keyring.has_role("enrollment"):
        return None, None
    if docs.get("enrollment") is None:
        raise ClientError(
            "the server sent no enrolment document, but the keyring has an enrolment role",
            Exit.INTEGRITY,
            "trust.enrollment",
        )
    envelope = Envelope.from_json(docs["enrollment"])
    version, seen = store.trusted_enrollment()
    try:
        enrollment = verify_enrollment(
            keyring,
            envelope,
            now=now,
            trusted_version=version,
            trusted_payload_sha256=seen,
        )
    except TrustError as error:
        raise trust_failure(error, "the enrolment document does not verify") from None
    return envelope, enrollment


def _check_log(
    api: Api,
    store: TrustStore,
    keyring: Any,
    docs: dict[str, Any],
    text: str,
    manifest_env: Envelope,
    now: datetime,
    enrolled_at: int | None = None,
) -> tuple[bytes, Checkpoint, dict[str, Any]]:
    """The checkpoint (fresh, grown from the stored one) and the check-in's inclusion in
    it; ``enrolled_at``: the log size of the enrolment document, whose proof is fetched
    together with the others."""
    record = docs["checkin_record"]
    what = f"the log does not prove the check-in of {text}"
    checkpoint_note, checkpoint = fetch_checkpoint(api, store, keyring, now)
    # The proofs this needs depend only on the checkpoint: ask for them all at once.
    old = store.checkpoint()
    if old is not None and old.size < checkpoint.size:
        store.proof_ahead(api, "consistency", old=old.size, new=checkpoint.size)
    if isinstance(record.get("index"), int) and 0 <= record["index"] < checkpoint.size:
        store.proof_ahead(api, "inclusion", index=record["index"], size=checkpoint.size)
    if enrolled_at is not None and 0 < enrolled_at < checkpoint.size:
        store.proof_ahead(api, "consistency", old=enrolled_at, new=checkpoint.size)
    check_growth(api, old, checkpoint, what, store)
    try:
        index = int(record["index"])
        leaf = base64.b64decode(record["record"])
        require_witnessed(checkpoint, index, text)
        proof = store.proof(api, "inclusion", index=index, size=checkpoint.size)
        verify_inclusion_of(
            leaf,
            index,
            checkpoint.size,
            _hexes(proof),
            checkpoint,
            expect={
                "action": "checkin.approve",
                "outcome": "ok",
                "target": text,
                "details": {"manifest_sha256": manifest_env.payload_sha256()},
            },
        )
    except TrustError as error:
        raise trust_failure(error, what) from None
    inclusion = {
        "index": index,
        "size": checkpoint.size,
        "proof": proof,
        "record": record["record"],
    }
    return checkpoint_note, checkpoint, inclusion
