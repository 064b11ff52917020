"""The enrolment document: which personal keys belong to whom, and which groups need them.

Signed by the keyring's offline ``enrollment`` role (k of n enrolment officers), never by
the server, so the server's key folder, database and bucket together cannot make a client
accept a key the officers did not enrol, or drop a group's rule that its check-ins be
signed personally. Each new document has the next ``version``; a client keeps the newest
it has seen (rollback), and the document ``expires`` (a withheld revocation shows up as an
expired document, not as silence).

Points in time are positions in the signed audit log, never clock times the server or a
key holder could choose: ``log_size``/``log_root`` is the log the ceremony saw (every
checkpoint a client accepts must extend it, :func:`check_enrollment_log`), a rule holds
for check-ins at log index ``since`` or later, and a revoked key still counts for
check-ins logged before ``revoked_from``.

Called by :func:`policies.trust.approvals.verify_statements` (through
:meth:`Enrollment.keys_for` and :meth:`Enrollment.requires_personal`), by the client
(online and offline) and by the server's ceremonies (``depot-server keys enroll``).
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from policies.trust.canonical import canonical_bytes, parse_canonical, utc_text
from policies.trust.documents import Checkpoint
from policies.trust.dsse import ENROLLMENT, Envelope, verify
from policies.trust.errors import TrustError
from policies.trust.fields import SPEC_VERSION, Reader
from policies.trust.keyring import Keyring
from policies.trust.keys import decode_base64, keyid_of, public_from_text, public_text
from policies.trust.merkle import verify_consistency

#: The keyring role that signs enrolment documents.
ROLE = "enrollment"


@dataclass(frozen=True)
class EnrolledKey:
    """One person's key; ``revoked_from`` is the log size at its revocation (or ``None``)."""

    actor: str
    keyid: str
    public: Ed25519PublicKey
    revoked_from: int | None = None

    def counts_for(self, checkin_index: int) -> bool:
        """Whether the key vouches for a check-in logged at ``checkin_index``."""
        return self.revoked_from is None or checkin_index < self.revoked_from

    def to_json(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "keyid": self.keyid,
            "public": public_text(self.public),
            "revoked_from": self.revoked_from,
        }

    @classmethod
    def from_json(cls, obj: Any, what: str) -> EnrolledKey:
        r = Reader(obj, what, ("actor", "keyid", "public", "revoked_from"))
        public = public_from_text(obj["public"])
        keyid = r.digest("keyid")
        if keyid_of(public) != keyid:
            raise TrustError("key", f"{what} names key id {keyid}, not its key's own id")
        revoked = None if obj["revoked_from"] is None else r.integer("revoked_from")
        return cls(r.text("actor"), keyid, public, revoked)


@dataclass(frozen=True)
class PersonalRule:
    """Group ``group`` needs a personally signed check-in approval from log index ``since``."""

    group: str
    since: int

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "since": self.since}

    @classmethod
    def from_json(cls, obj: Any, what: str) -> PersonalRule:
        r = Reader(obj, what, ("group", "since"))
        return cls(r.text("group"), r.integer("since"))


@dataclass(frozen=True)
class Enrollment:
    """One version of the enrolment document (checked when signed, as when parsed).

    ``keys`` are sorted by key id and ``personal`` by group, each once, so that one
    content has one payload; every ``since`` and ``revoked_from`` is at most ``log_size``
    (the ceremony cannot speak about log entries it has not seen).
    """

    TYPE: ClassVar[str] = "depot.enrollment"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "_type", "spec_version", "repository", "version", "issued", "expires", "log",
        "keys", "personal",
    )  # fmt: skip

    repository: str
    version: int
    issued: datetime
    expires: datetime
    log_size: int
    log_root: bytes
    keys: tuple[EnrolledKey, ...] = ()
    personal: tuple[PersonalRule, ...] = ()

    def _json(self) -> dict[str, Any]:
        return {
            "_type": self.TYPE,
            "spec_version": SPEC_VERSION,
            "repository": self.repository,
            "version": self.version,
            "issued": utc_text(self.issued),
            "expires": utc_text(self.expires),
            "log": {"size": self.log_size, "root": base64.b64encode(self.log_root).decode()},
            "keys": [k.to_json() for k in self.keys],
            "personal": [p.to_json() for p in self.personal],
        }

    def to_payload(self) -> bytes:
        """The canonical payload the enrolment keys sign (checked as a client reads it)."""
        obj = self._json()
        self._read(obj)
        return canonical_bytes(obj)

    @classmethod
    def from_payload(cls, data: bytes) -> Enrollment:
        """Parse an enrolment payload whose signatures were checked."""
        return cls._read(parse_canonical(data))

    @classmethod
    def _read(cls, obj: dict[str, Any]) -> Enrollment:
        r = Reader(obj, "the enrolment document", cls.FIELDS)
        r.header(cls.TYPE)
        version = r.integer("version")
        if version < 1:
            raise r.fail("version", "1 or more")
        log = Reader(obj["log"], "the enrolment document's log", ("size", "root"))
        size = log.integer("size")
        root = decode_base64(obj["log"]["root"], "the enrolment document's log root", "document")
        if len(root) != 32:
            raise log.fail("root", "the base64 of 32 bytes")
        keys = tuple(
            EnrolledKey.from_json(k, f"enrolled key {i}") for i, k in enumerate(r.items("keys"))
        )
        personal = tuple(
            PersonalRule.from_json(p, f"personal rule {i}")
            for i, p in enumerate(r.items("personal"))
        )
        keyids = [k.keyid for k in keys]
        if keyids != sorted(set(keyids)):
            raise r.fail("keys", "sorted by key id, each key once")
        groups = [p.group for p in personal]
        if groups != sorted(set(groups)):
            raise r.fail("personal", "sorted by group, each group once")
        points = [p.since for p in personal] + [
            k.revoked_from for k in keys if k.revoked_from is not None
        ]
        if any(point > size for point in points):
            raise TrustError(
                "document",
                f"the enrolment document speaks of log entries beyond the {size} it saw",
            )
        return cls(
            repository=r.text("repository"),
            version=version,
            issued=r.time("issued"),
            expires=r.time("expires"),
            log_size=size,
            log_root=root,
            keys=keys,
            personal=personal,
        )

    def keys_for(self, checkin_index: int) -> dict[str, EnrolledKey]:
        """The enrolled keys that vouch for a check-in logged at ``checkin_index``."""
        return {k.keyid: k for k in self.keys if k.counts_for(checkin_index)}

    def key(self, keyid: str) -> EnrolledKey | None:
        """The enrolled key ``keyid``, revoked or not."""
        return next((k for k in self.keys if k.keyid == keyid), None)

    def requires_personal(self, group: str, checkin_index: int) -> bool:
        """Whether a check-in of ``group`` logged at ``checkin_index`` must be signed personally."""
        return any(p.group == group and p.since <= checkin_index for p in self.personal)


def verify_enrollment(
    keyring: Keyring,
    env: Envelope,
    *,
    now: datetime,
    trusted_version: int | None = None,
    trusted_payload_sha256: str | None = None,
    check_expiry: bool = True,
) -> Enrollment:
    """The enrolment document ``env``: signed by a threshold of ``keyring``'s enrolment
    keys, of this repository, not older than the one the client saw, not expired.

    ``trusted_version`` / ``trusted_payload_sha256`` are what the client stored last
    (``None`` on first sight): a lower version, or the same version with other content, is
    a rollback ("rollback"). ``check_expiry=False`` is for archived bundles, whose
    verifier reports them as archival (:mod:`policies.trust.history`).
    """
    if not keyring.has_role(ROLE):
        raise TrustError(
            "keyring",
            f"keyring version {keyring.version} has no enrollment role, so no personal key "
            "can be trusted: the root keys must add one in a rotation",
        )
    keys, threshold = keyring.role_keys(ROLE)
    enrollment = Enrollment.from_payload(verify(env, ENROLLMENT, keys, threshold, role=ROLE))
    if enrollment.repository != keyring.repository:
        raise TrustError(
            "subject",
            f"the enrolment document is for {enrollment.repository}, not {keyring.repository}",
        )
    if trusted_version is not None:
        if enrollment.version < trusted_version:
            raise TrustError(
                "rollback",
                f"enrolment document version {enrollment.version} is older than version "
                f"{trusted_version}, already seen",
            )
        if enrollment.version == trusted_version and not (
            trusted_payload_sha256 is not None
            and hmac.compare_digest(env.payload_sha256().encode(), trusted_payload_sha256.encode())
        ):
            raise TrustError(
                "rollback",
                f"enrolment document version {enrollment.version} was already seen with "
                "other content",
            )
    if check_expiry and enrollment.expires <= now:
        raise TrustError(
            "expired",
            f"enrolment document version {enrollment.version} expired at "
            f"{utc_text(enrollment.expires)}: the enrolment officers must sign a new one",
        )
    return enrollment


def check_enrollment_log(
    enrollment: Enrollment, checkpoint: Checkpoint, proof: Sequence[bytes]
) -> None:
    """The verified ``checkpoint``'s log extends the log the enrolment ceremony saw.

    ``proof`` is the consistency proof from ``enrollment.log_size`` to the checkpoint's
    size. Without this a server could show a fresh client another history, in which a
    forged check-in sits before a group's rule began ("consistency").
    """
    try:
        verify_consistency(
            enrollment.log_size, checkpoint.size, enrollment.log_root, checkpoint.root, proof
        )
    except TrustError as error:
        raise TrustError(
            "consistency",
            f"the log does not extend the one enrolment document version "
            f"{enrollment.version} was signed over: {error}",
        ) from None
