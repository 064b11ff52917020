"""The approval statements of a checked-in version, checked like in-toto links against a layout.

:func:`verify_statements` is called by the client (``depot pull``, ``depot verify``) after
the manifest verified: every statement the manifest names must be there, in order, signed
by the release key (made on the web pages) or by the actor's own key as the offline
enrolment document binds it (made with the CLI), chained by ``prev``, about exactly this
version and these files, with an acceptance and a check-in approval by four different eyes.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from policies.decisions import with_article
from policies.trust.documents import Manifest, Statement
from policies.trust.dsse import STATEMENT, Envelope, valid_keyids
from policies.trust.enrollment import EnrolledKey, Enrollment
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring

#: Which role makes each kind of decision.
ROLE_OF_ACTION = {
    "accept": "acceptance_officer",
    "reject": "acceptance_officer",
    "checkin.approve": "version_manager",
    "checkout.approve": "version_manager",
}


def _describe(i: int, statement: Statement) -> str:
    return f"approval statement {i} ({statement.action} by {statement.actor})"


def _verified(
    i: int,
    envelope: Envelope,
    release: Mapping[str, Ed25519PublicKey],
    threshold: int,
    certified: Mapping[str, EnrolledKey],
    ref: str,
    revoked: Mapping[str, EnrolledKey],
) -> Statement:
    """Check the signatures over the raw bytes, then parse, then match the claimed signer."""
    if envelope.payload_type != STATEMENT:
        raise TrustError(
            "payload_type",
            f"approval statement {i} of {ref} has type {envelope.payload_type}, "
            f"expected {STATEMENT}",
        )
    by_release, _ = valid_keyids(envelope, release)
    by_person, _ = valid_keyids(envelope, {k: c.public for k, c in certified.items()})
    if len(by_release) < threshold and not by_person:
        by_revoked, _ = valid_keyids(envelope, {k: c.public for k, c in revoked.items()})
        if by_revoked:
            gone = revoked[sorted(by_revoked)[0]]
            raise TrustError(
                "signature",
                f"approval statement {i} of {ref} is signed with the key of {gone.actor} "
                f"that was revoked from log entry {gone.revoked_from} on",
            )
        raise TrustError(
            "signature",
            f"approval statement {i} of {ref} is signed neither by the release key nor by "
            "an enrolled personal key",
        )
    statement = Statement.from_payload(envelope.payload)
    if statement.attestation == "server" and len(by_release) < threshold:
        raise TrustError(
            "signature",
            f"{_describe(i, statement)} claims the server's attestation but the release key "
            "did not sign it",
        )
    if statement.attestation == "personal" and not any(
        certified[k].actor == statement.actor for k in by_person
    ):
        signers = sorted({certified[k].actor for k in by_person}) or ["nobody"]
        raise TrustError(
            "signature",
            f"{_describe(i, statement)} is not signed with an enrolled key of "
            f"{statement.actor} (signed by the key of {', '.join(signers)})",
        )
    return statement


def _check_subject(i: int, statement: Statement, manifest: Manifest) -> None:
    subject = statement.subject
    about = f"{subject.group}/{subject.product}@{subject.version}"
    if statement.repository != manifest.repository or about != manifest.ref:
        raise TrustError(
            "subject",
            f"{_describe(i, statement)} is about {about} of {statement.repository}, "
            f"not {manifest.ref} of {manifest.repository}",
        )
    files = {f.name: f.sha256 for f in manifest.files}
    if dict(subject.files) != files:
        missing = sorted(files.keys() - subject.files.keys())
        extra = sorted(subject.files.keys() - files.keys())
        changed = sorted(
            n for n in files.keys() & subject.files.keys() if files[n] != subject.files[n]
        )
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("lacks", missing),
                ("adds", extra),
                ("has other bytes for", changed),
            )
            if names
        ]
        raise TrustError(
            "subject",
            f"{_describe(i, statement)} approves other files than {manifest.ref} holds: "
            + "; ".join(parts),
        )
    if subject.manifest_sha256 is not None:
        raise TrustError(
            "subject",
            f"{_describe(i, statement)} names a manifest, but it was made before the check-in",
        )


def verify_statements(
    keyring: Keyring,
    manifest: Manifest,
    statements: Sequence[Envelope],
    enrollment: Enrollment | None,
    checkin_index: int,
) -> list[Statement]:
    """The approval statements ``manifest`` names, verified; a ``TrustError`` otherwise.

    ``enrollment`` is the verified enrolment document (``None`` only when the keyring
    has no enrolment role: then no personal signature counts) and ``checkin_index`` the
    log index of the version's check-in record, which the caller proves by inclusion
    before trusting the result: a key revoked before it, or a group's rule that began
    before it, applies.

    Checks, in order: the count and each payload's sha256 against ``manifest.statements``
    ("statements"), each signature (release role for "server", the actor's enrolled
    personal key for "personal"), the ``prev`` chain ("chain"), the subject: this
    repository, version and exactly these files ("subject"), action and role agreeing
    ("role"), the sequence ending in a check-in approval after an acceptance
    ("statements"), and four eyes ("four_eyes").
    """
    ref = manifest.ref
    if len(statements) != len(manifest.statements):
        raise TrustError(
            "statements",
            f"the manifest of {ref} names {len(manifest.statements)} approval statements, "
            f"{len(statements)} were given",
        )
    release, threshold = keyring.role_keys("release")
    certified = enrollment.keys_for(checkin_index) if enrollment else {}
    revoked = (
        {k.keyid: k for k in enrollment.keys if k.keyid not in certified} if enrollment else {}
    )
    parsed: list[Statement] = []
    previous: str | None = None
    for i, (envelope, expected) in enumerate(zip(statements, manifest.statements, strict=True), 1):
        actual = envelope.payload_sha256()
        if not hmac.compare_digest(actual.encode(), expected.encode()):
            raise TrustError(
                "statements",
                f"approval statement {i} of {ref} has sha256 {actual}, the manifest names "
                f"{expected}",
            )
        statement = _verified(i, envelope, release, threshold, certified, ref, revoked)
        if statement.prev != previous:
            raise TrustError(
                "chain",
                f"{_describe(i, statement)} does not follow the previous statement of {ref}",
            )
        _check_subject(i, statement, manifest)
        if ROLE_OF_ACTION[statement.action] != statement.role:
            raise TrustError(
                "role",
                f"{_describe(i, statement)} was made as "
                f"{with_article(statement.role.replace('_', ' '))}; only "
                f"{with_article(ROLE_OF_ACTION[statement.action].replace('_', ' '))} makes it",
            )
        previous = actual
        parsed.append(statement)
    personal = manifest.require_personal_checkin or (
        enrollment is not None and enrollment.requires_personal(manifest.group, checkin_index)
    )
    _check_sequence(manifest, parsed, personal)
    return parsed


def _check_sequence(manifest: Manifest, statements: list[Statement], personal: bool) -> None:
    ref = manifest.ref
    if not statements or statements[-1].action != "checkin.approve":
        raise TrustError("statements", f"the approvals of {ref} do not end in a check-in approval")
    approval = statements[-1]
    for i, statement in enumerate(statements[:-1], 1):
        if statement.action not in ("accept", "reject"):
            raise TrustError(
                "statements", f"{_describe(i, statement)} comes before the check-in of {ref}"
            )
    acceptance = statements[-2] if len(statements) > 1 else None
    if acceptance is None or acceptance.action != "accept":
        raise TrustError(
            "statements", f"{ref} was checked in without an acceptance by an acceptance officer"
        )
    for statement in statements:
        if statement.actor == statement.requested_by:
            raise TrustError(
                "four_eyes",
                f"{statement.actor} filed the request and also decided it ({statement.action})",
            )
    if approval.requested_by != manifest.requested_by:
        raise TrustError(
            "statements",
            f"the check-in approval answers a request by {approval.requested_by}, the manifest "
            f"says {manifest.requested_by} requested the check-in",
        )
    uploaders = {f.uploaded_by for f in manifest.files if f.role != "report"}
    if acceptance.actor in uploaders:
        raise TrustError(
            "four_eyes", f"{acceptance.actor} uploaded files to {ref} and also accepted it"
        )
    if approval.actor in uploaders:
        raise TrustError(
            "four_eyes", f"{approval.actor} uploaded files to {ref} and also checked it in"
        )
    if approval.actor == acceptance.actor:
        raise TrustError(
            "four_eyes", f"{approval.actor} accepted {ref} and also approved its check-in"
        )
    if personal and approval.attestation != "personal":
        raise TrustError(
            "signature",
            f"{ref} needs a check-in approval signed with the approver's personal key; "
            f"{approval.actor}'s was only attested by the server",
        )
