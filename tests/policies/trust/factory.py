"""Keys, keyrings and signed documents for the trust tests: one small, consistent world.

Keys are derived from fixed seeds so that failures are reproducible. ``World`` holds a
repository with 2-of-3 root keys, 2-of-3 enrolment keys, online release/status/log keys,
an enrolment document binding the person keys of the version manager and an officer, and
a checked-in version ``acme/app@1.2.0`` with every document signed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policies.trust.bundle import Bundle
from policies.trust.canonical import sha256_hex
from policies.trust.documents import (
    Checkpoint,
    FileEntry,
    Manifest,
    Statement,
    Status,
    Subject,
    leaf_record,
)
from policies.trust.dsse import (
    ENROLLMENT,
    KEYRING,
    MANIFEST,
    STATEMENT,
    STATUS,
    Envelope,
    sign,
)
from policies.trust.enrollment import EnrolledKey, Enrollment, PersonalRule
from policies.trust.keyring import Keyring, Role, root_fingerprint
from policies.trust.keys import keyid_of
from policies.trust.merkle import consistency_proof, inclusion_proof, leaf_hash, root_hash
from policies.trust.note import sign_note

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
REPO = "https://depot.bank.example"
GROUP, PRODUCT, VERSION = "acme", "app", "1.2.0"
REF = f"{GROUP}/{PRODUCT}@{VERSION}"


def key(seed: int) -> Ed25519PrivateKey:
    """A fixed private key per seed."""
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def kid(private: Ed25519PrivateKey) -> str:
    return keyid_of(private.public_key())


def make_keyring(
    version: int,
    roots: list[Ed25519PrivateKey],
    threshold: int,
    online: dict[str, Ed25519PrivateKey],
    *,
    expires: datetime = NOW + timedelta(days=365),
    repository: str = REPO,
    enrollment: list[Ed25519PrivateKey] | None = None,
    enrollment_threshold: int = 2,
) -> Keyring:
    privs = [*roots, *(enrollment or []), *online.values()]
    keys = {kid(k): k.public_key() for k in privs}
    roles = {"root": Role(tuple(kid(k) for k in roots), threshold)}
    if enrollment:
        roles["enrollment"] = Role(tuple(kid(k) for k in enrollment), enrollment_threshold)
    roles.update({name: Role((kid(k),), 1) for name, k in online.items()})
    return Keyring(repository, version, expires, keys, roles)


def sign_keyring(keyring: Keyring, signers: list[Ed25519PrivateKey]) -> Envelope:
    return sign(KEYRING, keyring.to_payload(), signers)


def flip(data: bytes, index: int = 0, bit: int = 0) -> bytes:
    """``data`` with one bit flipped."""
    out = bytearray(data)
    out[index] ^= 1 << bit
    return bytes(out)


FILES = (
    FileEntry("app-1.2.0.tar.gz", "artifact", 1000, sha256_hex(b"a" * 1000), "dev", None),
    FileEntry(
        "app-1.2.0.whl",
        "artifact",
        5,
        sha256_hex(b"wheel"),
        "ci",
        {"commit": "abc123", "pipeline": "42", "builder": "gitlab"},
    ),
    FileEntry("test-report.pdf", "report", 3, sha256_hex(b"pdf"), "olga", None),
)


@dataclass
class World:
    """A repository and one checked-in version, with every document signed correctly."""

    roots: list[Ed25519PrivateKey] = field(default_factory=lambda: [key(1), key(2), key(3)])
    enrollers: list[Ed25519PrivateKey] = field(default_factory=lambda: [key(80), key(81), key(82)])
    release: Ed25519PrivateKey = field(default_factory=lambda: key(10))
    status_key: Ed25519PrivateKey = field(default_factory=lambda: key(11))
    log_key: Ed25519PrivateKey = field(default_factory=lambda: key(12))
    vic_key: Ed25519PrivateKey = field(default_factory=lambda: key(20))
    olga_key: Ed25519PrivateKey = field(default_factory=lambda: key(21))
    personal_checkin: bool = True
    files: tuple[FileEntry, ...] = FILES

    def __post_init__(self) -> None:
        self.online = {"release": self.release, "status": self.status_key, "log": self.log_key}
        self.keyring = make_keyring(1, self.roots, 2, self.online, enrollment=self.enrollers)
        self.keyring_env = sign_keyring(self.keyring, self.roots[:2])
        self.fingerprint = root_fingerprint(self.keyring_env)
        self.subject = Subject(GROUP, PRODUCT, VERSION, {f.name: f.sha256 for f in self.files})
        accept = self.statement(
            "accept", "olga", "acceptance_officer", prev=None, requested_by="sam", request_id=7
        )
        self.accept_env = sign(STATEMENT, accept.to_payload(), [self.release])
        checkin = self.statement(
            "checkin.approve",
            "vic",
            "version_manager",
            prev=self.accept_env.payload_sha256(),
            requested_by="sam",
            request_id=8,
            attestation="personal" if self.personal_checkin else "server",
        )
        signer = self.vic_key if self.personal_checkin else self.release
        self.checkin_env = sign(STATEMENT, checkin.to_payload(), [signer])
        self.statements = (self.accept_env, self.checkin_env)
        self.manifest = Manifest(
            repository=REPO,
            group=GROUP,
            product=PRODUCT,
            version=VERSION,
            library_number=17,
            category="payments",
            origin="in_house",
            files=self.files,
            statements=tuple(e.payload_sha256() for e in self.statements),
            requested_by="sam",
            checked_in_at=NOW - timedelta(days=1),
            require_personal_checkin=self.personal_checkin,
        )
        self.manifest_env = sign(MANIFEST, self.manifest.to_payload(), [self.release])
        self.status = self.make_status()
        self.status_env = sign(STATUS, self.status.to_payload(), [self.status_key])
        self.build_log()
        self.enrollment = self.make_enrollment()
        self.enrollment_env = self.sign_enrollment(self.enrollment)

    #: The enrolment ceremony saw the first 5 entries of the log.
    SEAL = 5

    def make_enrollment(self, **changes: Any) -> Enrollment:
        people = [("vic", self.vic_key), ("olga", self.olga_key)]
        base = Enrollment(
            repository=REPO,
            version=3,
            issued=NOW - timedelta(days=30),
            expires=NOW + timedelta(days=335),
            log_size=self.SEAL,
            log_root=root_hash(self.leaves[: self.SEAL]),
            keys=tuple(
                sorted(
                    (EnrolledKey(actor, kid(k), k.public_key()) for actor, k in people),
                    key=lambda k: k.keyid,
                )
            ),
            personal=(PersonalRule(GROUP, 2),) if self.personal_checkin else (),
        )
        return replace(base, **changes)

    def sign_enrollment(
        self, enrollment: Enrollment, signers: list[Ed25519PrivateKey] | None = None
    ) -> Envelope:
        return sign(ENROLLMENT, enrollment.to_payload(), signers or self.enrollers[:2])

    def enrolled(self, *extra: tuple[str, Ed25519PrivateKey], drop: str = "") -> Enrollment:
        """The enrolment document with ``extra`` (actor, key) enrolled and ``drop``'s keys gone."""
        keys = [k for k in self.enrollment.keys if k.actor != drop]
        keys += [EnrolledKey(actor, kid(k), k.public_key()) for actor, k in extra]
        return replace(self.enrollment, keys=tuple(sorted(keys, key=lambda k: k.keyid)))

    def enrollment_proof(self, size: int | None = None) -> tuple[str, ...]:
        return tuple(
            h.hex() for h in consistency_proof(self.SEAL if size is None else size, self.leaves)
        )

    def statement(self, action: str, actor: str, role: str, **changes: Any) -> Statement:
        base = Statement(
            repository=REPO,
            subject=self.subject,
            action=action,
            actor=actor,
            role=role,
            request_id=1,
            requested_by="sam",
            at=NOW - timedelta(days=2),
            comment="looks good",
            prev=None,
            attestation="server",
        )
        return replace(base, **changes)

    def make_status(self, **changes: Any) -> Status:
        base = Status(
            repository=REPO,
            group=GROUP,
            product=PRODUCT,
            version=VERSION,
            state="checked_in",
            manifest_sha256=self.manifest_env.payload_sha256(),
            serial=5,
            issued=NOW - timedelta(minutes=5),
            expires=NOW + timedelta(minutes=10),
            reason="",
        )
        return replace(base, **changes)

    def signed_status(self, **changes: Any) -> Envelope:
        return sign(STATUS, self.make_status(**changes).to_payload(), [self.status_key])

    def record(self, index: int, **changes: Any) -> bytes:
        body: dict[str, Any] = {
            "index": index,
            "action": "checkin.approve",
            "outcome": "ok",
            "actor": "vic",
            "target": REF,
            "details": {"manifest_sha256": self.manifest_env.payload_sha256()},
        }
        body.update(changes)
        return leaf_record(body)

    def build_log(self) -> None:
        """A log of 11 records; record 6 is the check-in of ``REF``."""
        self.records = [
            self.record(i, action="upload", target=f"acme/other@{i}.0.0") for i in range(11)
        ]
        self.index = 6
        self.records[self.index] = self.record(self.index)
        self.leaves = [leaf_hash(r) for r in self.records]
        self.checkpoint = Checkpoint(REPO, len(self.leaves), root_hash(self.leaves))
        self.checkpoint_note = sign_note(
            self.checkpoint.to_payload(), REPO, self.log_key
        ).to_bytes()
        self.proof = inclusion_proof(self.index, self.leaves)

    def inclusion(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "size": len(self.leaves),
            "proof": [p.hex() for p in self.proof],
            "record": base64.b64encode(self.records[self.index]).decode(),
        }

    def bundle(self, **changes: Any) -> Bundle:
        base = Bundle(
            keyrings=(self.keyring_env,),
            manifest=self.manifest_env,
            statements=self.statements,
            enrollment=self.enrollment_env,
            status=self.status_env,
            checkpoint=self.checkpoint_note,
            inclusion=self.inclusion(),
            enrollment_proof=self.enrollment_proof(),
        )
        return replace(base, **changes)
