"""The server's online keys (release, status, log) and the keyring the root keys signed.

Private online keys live as PEM files in the keys folder (``DEPOT_KEYS_DIR``, default
``<data>/keys``), encrypted when ``DEPOT_KEYS_PASSPHRASE`` is set; every app node mounts the
same folder. Keyrings live in the database, exactly as signed. Root and enrolment keys
never live here: ``depot-server keys init``, ``keys rotate`` and ``keys enroll`` take them
from files the officers bring to the ceremony (the quickstart generates one of each under
``<data>/root-keys`` and ``<data>/enrollment-keys`` and says to move them offline).

A rotation keeps every root and enrolment key and both thresholds exactly as they are
unless the ceremony changes them explicitly (:class:`OfflineChange`).

Signing goes through :meth:`KeyStore.sign` only, so the keys can later move to an HSM.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from policies.trust.dsse import KEYRING, SEAL, Envelope, sign
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring, Role, root_fingerprint
from policies.trust.keys import keyid_of, private_from_pem, private_to_pem
from policies.trust.note import SignedNote, sign_note
from policies.trust.seal import Seal
from repo_server.db import Database
from repo_server.errors import DepotError
from repo_server.settings import Settings
from repo_server.trust.log import MerkleLog
from repo_server.trust.models import KeyringRecord, SealRecord

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


@dataclass(frozen=True)
class OfflineRole:
    """The public keys of an offline role (root, enrollment) and how many must sign."""

    keys: tuple[Ed25519PublicKey, ...]
    threshold: int


@dataclass(frozen=True)
class OfflineChange:
    """What a root ceremony changes in one offline role; nothing, by default.

    ``add`` are new keys (their holders sign the new keyring when the role is root),
    ``remove`` key ids that leave, ``threshold`` the new threshold (``None``: unchanged).
    """

    add: tuple[Ed25519PublicKey, ...] = ()
    remove: tuple[str, ...] = ()
    threshold: int | None = None

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove and self.threshold is None


def _changed(role: str, current: OfflineRole | None, change: OfflineChange) -> OfflineRole | None:
    """``current`` with ``change`` applied, checked (a role with no key left is dropped
    only for the optional enrolment role)."""
    keys = {keyid_of(k): k for k in (current.keys if current else ())}
    for keyid in change.remove:
        if keyid not in keys:
            raise KeysUnavailable(f"key {keyid} is not a {role} key of the current keyring")
        del keys[keyid]
    for key in change.add:
        if keyid_of(key) in keys:
            raise KeysUnavailable(f"key {keyid_of(key)} already is a {role} key")
        keys[keyid_of(key)] = key
    if not keys:
        if role == "root":
            raise KeysUnavailable("a keyring needs at least one root key")
        return None
    threshold = change.threshold or (current.threshold if current else len(keys))
    if not 1 <= threshold <= len(keys):
        raise KeysUnavailable(
            f"the {role} role would have {len(keys)} key(s) and a threshold of {threshold}: "
            f"give --{'threshold' if role == 'root' else 'enrollment-threshold'} "
            f"from 1 to {len(keys)}"
        )
    return OfflineRole(tuple(keys.values()), threshold)


def offline_role(keyring: Keyring, role: str) -> OfflineRole | None:
    """The keys and threshold of offline ``role`` in ``keyring`` (``None`` if absent)."""
    if not keyring.has_role(role):
        return None
    keys, threshold = keyring.role_keys(role)
    return OfflineRole(tuple(keys.values()), threshold)


def build_keyring(
    repository: str,
    version: int,
    expires: datetime,
    offline: dict[str, OfflineRole],
    online: dict[str, Ed25519PrivateKey],
) -> Keyring:
    """A keyring naming the ``offline`` roles (public keys) and the ``online`` keys by role."""
    publics = [k for r in offline.values() for k in r.keys] + [
        k.public_key() for k in online.values()
    ]
    keys = {keyid_of(k): k for k in publics}
    roles = {
        name: Role(tuple(keyid_of(k) for k in r.keys), r.threshold) for name, r in offline.items()
    }
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
        #: Private online keys read so far, by (keyring version, role).
        self._keys: dict[tuple[int, str], Ed25519PrivateKey] = {}

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
        """The newest keyring, as the database holds it at this moment.

        Each call asks the database for the newest keyring version (one primary-key
        lookup) and parses the keyring again only when that changed, so a rotation takes
        effect for every worker of every node with the transaction that wrote it: no
        process serves the old keyring while the documents are re-signed by the new keys
        (issue 10, item 1). ``session``: the caller's transaction, else a read of its own.
        """
        if session is None:
            with self.db.read() as own:
                return self._newest(own)
        return self._newest(session)

    def _newest(self, session: Session) -> CurrentKeyring:
        version = session.scalar(sa.select(sa.func.max(KeyringRecord.version)))
        with self._lock:
            cached = self._current
        if cached is not None and cached.version == version:
            return cached
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
            if self._current is None or self._current.version < current.version:
                self._keys = {k: v for k, v in self._keys.items() if k[0] == current.version}
                self._current = current
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
            key = self._keys.get((current.version, role))
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
            self._keys[(current.version, role)] = key
        return key

    def check_files(self) -> int:
        """Read every online key of the newest keyring from its file, as it is now (not
        from the cache), and check it is the one the keyring names; the keyring's version.
        Raises :class:`KeysUnavailable` naming the first file that is missing or wrong."""
        with self.db.read() as session:
            current = self._load(session)
        for role in ONLINE_ROLES:
            key = read_private_key(self.key_path(role, current.version), self.passphrase)
            keyids, _ = current.keyring.role_keys(role)
            if keyid_of(key.public_key()) not in keyids:
                raise KeysUnavailable(
                    f"the {role} key in {self.folder} is not the one keyring "
                    f"version {current.version} names"
                )
        return current.version

    def sign(self, role: str, payload_type: str, payload: bytes) -> Envelope:
        """Sign ``payload`` with the online key of ``role``."""
        return sign(payload_type, payload, [self.private(role)])

    def sign_note(self, role: str, text: bytes, name: str) -> SignedNote:
        """Sign ``text`` as a C2SP signed note with the online key of ``role`` as ``name``
        (the log's checkpoints: role ``log``, name = the log's origin)."""
        return sign_note(text, name, self.private(role))

    def signed_by_current(self, role: str, envelope: bytes, session: Session | None = None) -> bool:
        """Whether a stored envelope is signed by a key the newest keyring gives ``role``
        (after a rotation, short-lived documents are signed anew rather than served)."""
        keys, _ = self.current(session).keyring.role_keys(role)
        return any(s.keyid in keys for s in Envelope.from_bytes(envelope).signatures)

    # -- creating and rotating -----------------------------------------------------------

    def _latest(self, session: Session) -> Keyring | None:
        latest = session.scalar(
            sa.select(KeyringRecord).order_by(KeyringRecord.version.desc()).limit(1)
        )
        return (
            None
            if latest is None
            else Keyring.from_payload(Envelope.from_bytes(latest.envelope).payload)
        )

    def create_first(
        self,
        session: Session,
        roots: list[Ed25519PrivateKey],
        root_threshold: int,
        enrollers: list[Ed25519PublicKey],
        enrollment_threshold: int,
        now: datetime,
        *,
        repository: str | None = None,
    ) -> CurrentKeyring:
        """Write keyring version 1: ``roots`` k of n, the enrolment role, fresh online keys.

        Called by ``depot-server keys init`` (and the quick start); signed by every root.
        """
        if self._latest(session) is not None:
            raise KeysUnavailable("this server already has a keyring: use `keys rotate`")
        offline = {
            "root": _changed(
                "root",
                None,
                OfflineChange(tuple(k.public_key() for k in roots), (), root_threshold),
            ),
            "enrollment": _changed(
                "enrollment", None, OfflineChange(tuple(enrollers), (), enrollment_threshold)
            ),
        }
        return self._write(
            session,
            repository or self.settings.effective_public_url,
            1,
            {name: role for name, role in offline.items() if role is not None},
            roots,
            now,
        )

    def rotate(
        self,
        session: Session,
        signers: list[Ed25519PrivateKey],
        now: datetime,
        *,
        roots: OfflineChange | None = None,
        enrollment: OfflineChange | None = None,
        head: tuple[int, bytes] | None = None,
    ) -> CurrentKeyring:
        """Write the next keyring with fresh online keys (TUF §5.3.4–5.3.5), and the next
        roots' seal of the log (this database's, or the deployment's ``head``).

        Every root and enrolment key and both thresholds are kept exactly, except what
        ``roots`` / ``enrollment`` change. ``signers`` are the root key files brought to
        the ceremony: a threshold of the current roots *and* of the next ones must be
        among them, as clients require.
        """
        previous = self._latest(session)
        if previous is None:
            raise KeysUnavailable(
                "this server has no signing keys yet: run `depot-server keys init`"
            )
        next_roots = _changed("root", offline_role(previous, "root"), roots or OfflineChange())
        assert next_roots is not None
        offline = {"root": next_roots}
        next_enrollment = _changed(
            "enrollment", offline_role(previous, "enrollment"), enrollment or OfflineChange()
        )
        if next_enrollment is not None:
            offline["enrollment"] = next_enrollment
        given = {keyid_of(k.public_key()) for k in signers}
        for label, role in (
            (f"keyring {previous.version}", offline_role(previous, "root")),
            (f"keyring {previous.version + 1}", next_roots),
        ):
            assert role is not None
            ids = {keyid_of(k) for k in role.keys}
            if len(given & ids) < role.threshold:
                raise KeysUnavailable(
                    f"the root keys of {label} need {role.threshold} signature(s); "
                    f"{len(given & ids)} of the given root keys are among them"
                )
        old_ids = {keyid_of(k) for k in previous.role_keys("root")[0].values()}
        new_ids = {keyid_of(k) for k in next_roots.keys}
        roots_given = [k for k in signers if keyid_of(k.public_key()) in old_ids | new_ids]
        self._seal(
            session,
            previous,
            [k for k in roots_given if keyid_of(k.public_key()) in new_ids],
            now,
            head,
        )
        return self._write(
            session, previous.repository, previous.version + 1, offline, roots_given, now
        )

    def _seal(
        self,
        session: Session,
        previous: Keyring,
        next_roots: list[Ed25519PrivateKey],
        now: datetime,
        head: tuple[int, bytes] | None,
    ) -> None:
        """The next roots seal the log as it stands (or the deployment's ``head``: size,
        root) over the keys they retire (:mod:`policies.trust.seal`)."""
        if head is None:
            size = MerkleLog.size(session)
            head = (size, MerkleLog.reader(session).root(size))
        seal = Seal(previous.repository, previous.version, head[0], head[1].hex(), now)
        envelope = sign(SEAL, seal.to_payload(), next_roots)
        session.merge(
            SealRecord(keyring=previous.version, envelope=envelope.to_bytes(), created_at=now)
        )

    def seal_envelope(self, version: int) -> bytes | None:
        """The roots' seal over keyring ``version``'s retired keys as signed, or ``None``."""
        with self.db.read() as session:
            row = session.get(SealRecord, version)
            return row.envelope if row else None

    def _write(
        self,
        session: Session,
        repository: str,
        version: int,
        offline: dict[str, OfflineRole],
        signers: list[Ed25519PrivateKey],
        now: datetime,
    ) -> CurrentKeyring:
        online = {role: Ed25519PrivateKey.generate() for role in ONLINE_ROLES}
        keyring = build_keyring(
            repository,
            version,
            now + timedelta(days=self.settings.keyring_days),
            offline,
            online,
        )
        envelope = sign(KEYRING, keyring.to_payload(), signers)
        for role, key in online.items():
            path = self.key_path(role, version)
            # No keyring of this version exists (the caller checked in this transaction),
            # so a file left here is from a ceremony that was rolled back: replace it.
            path.unlink(missing_ok=True)
            write_private_key(path, key, self.passphrase)
        data = envelope.to_bytes()
        session.add(KeyringRecord(version=version, envelope=data, created_at=now))
        session.flush()
        self.forget()
        return CurrentKeyring(keyring, data)
