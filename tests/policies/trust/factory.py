"""Keys, keyrings and signed documents for the trust tests: one small, consistent world.

Keys are derived from fixed seeds so that failures are reproducible. ``World`` holds a
repository with 2-of-3 root keys, online release/status/log keys, a person key for the
version manager, and a checked-in version ``acme/app@1.2.0`` with every document signed.
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
    PersonKey,
    Statement,
    Status,
    Subject,
    leaf_record,
)
from policies.trust.dsse import (
    KEYRING,
    MANIFEST,
    PERSON_KEY,
    STATEMENT,
    STATUS,
    Envelope,
    sign,
)
from policies.trust.keyring import Keyring, Role, root_fingerprint
from policies.trust.keys import keyid_of
from policies.trust.merkle import inclusion_proof, leaf_hash, root_hash
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
) -> Keyring:
    privs = [*roots, *online.values()]
    keys = {kid(k): k.public_key() for k in privs}
    roles = {"root": Role(tuple(kid(k) for k in roots), threshold)}
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
    release: Ed25519PrivateKey = field(default_factory=lambda: key(10))
    status_key: Ed25519PrivateKey = field(default_factory=lambda: key(11))
    log_key: Ed25519PrivateKey = field(default_factory=lambda: key(12))
    vic_key: Ed25519PrivateKey = field(default_factory=lambda: key(20))
    olga_key: Ed25519PrivateKey = field(default_factory=lambda: key(21))
    personal_checkin: bool = True
    files: tuple[FileEntry, ...] = FILES

    def __post_init__(self) -> None:
        self.online = {"release": self.release, "status": self.status_key, "log": self.log_key}
        self.keyring = make_keyring(1, self.roots, 2, self.online)
        self.keyring_env = sign_keyring(self.keyring, self.roots[:2])
        self.fingerprint = root_fingerprint(self.keyring_env)
        self.person_keys = (
            self.person_key("vic", self.vic_key),
            self.person_key("olga", self.olga_key),
        )
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

    def person_key(self, actor: str, private: Ed25519PrivateKey) -> Envelope:
        cert = PersonKey(REPO, actor, kid(private), private.public_key(), NOW - timedelta(days=30))
        return sign(PERSON_KEY, cert.to_payload(), [self.release])

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
            person_keys=self.person_keys,
            status=self.status_env,
            checkpoint=self.checkpoint_note,
            inclusion=self.inclusion(),
        )
        return replace(base, **changes)
