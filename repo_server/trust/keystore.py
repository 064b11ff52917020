"""The server's online keys (release, status, log) and the keyring the root keys signed.

Private online keys live as PEM files in the keys folder (``DEPOT_KEYS_DIR``, default
``<data>/keys``), encrypted when ``DEPOT_KEYS_PASSPHRASE`` is set; every app node mounts the
same folder. Keyrings live in the database, exactly as signed. Root keys never live here:
``depot-server keys init`` and ``keys rotate`` take them from files the operator brings
(the quickstart generates one under ``<data>/root-keys`` and says to move it offline).

Signing goes through :meth:`KeyStore.sign` only, so the keys can later move to an HSM.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from policies.trust.dsse import KEYRING, Envelope, sign
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring, Role, root_fingerprint
from policies.trust.keys import keyid_of, private_from_pem, private_to_pem
from repo_server.db import Database
from repo_server.errors import DepotError
from repo_server.settings import Settings
from repo_server.trust.models import KeyringRecord

ONLINE_ROLES = ("release", "status", "log")


class KeysUnavailable(DepotError):
    """The server cannot sign: no keyring yet, or a key file is missing or wrong."""

    status = 503
    code = "keys.unavailable"


@dataclass(frozen=True)
class CurrentKeyring:
    """The newest keyring: parsed, and as the signed envelope bytes."""

    keyring: Keyring
    envelope: bytes

    @property
    def version(self) -> int:
        return self.keyring.version

    @property
    def repository(self) -> str:
        return self.keyring.repository


def write_private_key(path: Path, key: Ed25519PrivateKey, passphrase: bytes | None) -> None:
    """Write ``key`` as PEM to a new file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_to_pem(key, passphrase))


def read_private_key(path: Path, passphrase: bytes | None) -> Ed25519PrivateKey:
    """Read a PEM private key, with a message that names the file when it fails."""
    try:
        return private_from_pem(path.read_bytes(), passphrase)
    except FileNotFoundError:
        raise KeysUnavailable(f"key file {path} does not exist") from None
    except TrustError as error:
        raise KeysUnavailable(f"cannot read key file {path}: {error}") from None


def build_keyring(
    repository: str,
    version: int,
    expires: datetime,
    roots: list[Ed25519PrivateKey],
    root_threshold: int,
    online: dict[str, Ed25519PrivateKey],
) -> Keyring:
    """A keyring naming ``roots`` (public halves) and the ``online`` keys by role."""
    keys = {keyid_of(k.public_key()): k.public_key() for k in [*roots, *online.values()]}
    roles = {"root": Role(tuple(keyid_of(k.public_key()) for k in roots), root_threshold)}
    for role, key in online.items():
        roles[role] = Role((keyid_of(key.public_key()),), 1)
    return Keyring(repository=repository, version=version, expires=expires, keys=keys, roles=roles)


class KeyStore:
    """The online keys and keyrings of one server."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._lock = threading.Lock()
        self._current: CurrentKeyring | None = None
        self._keys: dict[str, Ed25519PrivateKey] = {}

    @property
    def folder(self) -> Path:
        return self.settings.effective_keys_dir

    @property
    def passphrase(self) -> bytes | None:
        return self.settings.keys_passphrase.encode() if self.settings.keys_passphrase else None

    def key_path(self, role: str, version: int) -> Path:
        """Where the private ``role`` key of keyring ``version`` is kept."""
        return self.folder / f"{version}.{role}.pem"

    # -- reading -----------------------------------------------------------------------

    def current(self, session: Session | None = None) -> CurrentKeyring:
        """The newest keyring (cached; :meth:`forget` after a rotation in this process)."""
        with self._lock:
            if self._current is not None:
                return self._current
        if session is None:
            with self.db.read() as own:
                return self._load(own)
        return self._load(session)

    def _load(self, session: Session) -> CurrentKeyring:
        row = session.scalar(
            sa.select(KeyringRecord).order_by(KeyringRecord.version.desc()).limit(1)
        )
        if row is None:
            raise KeysUnavailable(
                "this server has no signing keys yet: run `depot-server keys init`"
            )
        envelope = Envelope.from_bytes(row.envelope)
        current = CurrentKeyring(Keyring.from_payload(envelope.payload), row.envelope)
        with self._lock:
            self._current = current
            self._keys = {}
        return current

    def forget(self) -> None:
        """Drop the cached keyring and keys (after a rotation)."""
        with self._lock:
            self._current = None
            self._keys = {}

    def initialized(self) -> bool:
        """Whether a keyring exists."""
        with self.db.read() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(KeyringRecord)) != 0

    def keyring_envelope(self, version: int) -> bytes | None:
        """Keyring ``version`` as signed, or ``None``."""
        with self.db.read() as session:
            row = session.get(KeyringRecord, version)
            return row.envelope if row else None

    def fingerprint(self) -> str:
        """The root fingerprint clients pin: sha256 of keyring version 1's payload."""
        first = self.keyring_envelope(1)
        if first is None:
            raise KeysUnavailable(
                "this server has no signing keys yet: run `depot-server keys init`"
            )
        return root_fingerprint(Envelope.from_bytes(first))

    # -- signing -----------------------------------------------------------------------

    def private(self, role: str) -> Ed25519PrivateKey:
        """The private key of online ``role``, checked against the current keyring."""
        current = self.current()
        with self._lock:
            key = self._keys.get(role)
        if key is not None:
            return key
        key = read_private_key(self.key_path(role, current.version), self.passphrase)
        keyids, _ = current.keyring.role_keys(role)
        if keyid_of(key.public_key()) not in keyids:
            raise KeysUnavailable(
                f"the {role} key in {self.folder} is not the one keyring "
                f"version {current.version} names"
            )
        with self._lock:
            self._keys[role] = key
        return key

    def sign(self, role: str, payload_type: str, payload: bytes) -> Envelope:
        """Sign ``payload`` with the online key of ``role``."""
        return sign(payload_type, payload, [self.private(role)])

    def signed_by_current(self, role: str, envelope: bytes, session: Session | None = None) -> bool:
        """Whether a stored envelope is signed by a key the newest keyring gives ``role``
        (after a rotation, short-lived documents are signed anew rather than served)."""
        keys, _ = self.current(session).keyring.role_keys(role)
        return any(s.keyid in keys for s in Envelope.from_bytes(envelope).signatures)

    # -- creating and rotating -----------------------------------------------------------

    def create(
        self,
        session: Session,
        roots: list[Ed25519PrivateKey],
        root_threshold: int,
        now: datetime,
        *,
        repository: str | None = None,
        new_roots: list[Ed25519PrivateKey] | None = None,
        new_threshold: int | None = None,
    ) -> CurrentKeyring:
        """Write the next keyring with fresh online keys, signed by the roots.

        The first keyring is signed by ``roots`` (threshold ``root_threshold``). A
        rotation is signed by the current roots (``roots``) and by the next ones
        (``new_roots``, default: the same), as clients require.
        """
        latest = session.scalar(
            sa.select(KeyringRecord).order_by(KeyringRecord.version.desc()).limit(1)
        )
        if latest is None:
            version = 1
            repo = repository or self.settings.effective_public_url
            next_roots, threshold = roots, root_threshold
        else:
            previous = Keyring.from_payload(Envelope.from_bytes(latest.envelope).payload)
            version = previous.version + 1
            repo = previous.repository
            root_ids, old_threshold = previous.role_keys("root")
            given = {keyid_of(k.public_key()) for k in roots}
            if len(given & set(root_ids)) < old_threshold:
                raise KeysUnavailable(
                    f"rotating needs {old_threshold} of the current root keys; "
                    f"{len(given & set(root_ids))} given"
                )
            next_roots = new_roots or [k for k in roots if keyid_of(k.public_key()) in root_ids]
            threshold = new_threshold or (old_threshold if new_roots is None else len(next_roots))
        if not 1 <= threshold <= len(next_roots):
            raise KeysUnavailable(
                f"a threshold of {threshold} cannot be met by {len(next_roots)} root keys"
            )
        online = {role: Ed25519PrivateKey.generate() for role in ONLINE_ROLES}
        keyring = build_keyring(
            repo,
            version,
            now + timedelta(days=self.settings.keyring_days),
            next_roots,
            threshold,
            online,
        )
        signers = {keyid_of(k.public_key()): k for k in [*roots, *next_roots]}
        envelope = sign(KEYRING, keyring.to_payload(), list(signers.values()))
        for role, key in online.items():
            write_private_key(self.key_path(role, version), key, self.passphrase)
        data = envelope.to_bytes()
        session.add(KeyringRecord(version=version, envelope=data, created_at=now))
        session.flush()
        self.forget()
        return CurrentKeyring(keyring, data)
