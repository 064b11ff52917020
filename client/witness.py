"""Witnesses, from both sides: the client's pinned witnesses, and a witness's own folder.

*Pinned witnesses* (``witnesses.json`` in a server's trust folder, set with
``depot trust witness add/require``): when ``required`` is k > 0, ``depot pull`` and
``depot audit verify`` accept only a checkpoint that k of the pinned witnesses cosigned
(:func:`fetch_checkpoint`).

*A witness* (``depot witness``, run by someone outside the server's administration) keeps
a folder::

    witness.json          {"name": ..., "server": ...}
    witness.pem           its Ed25519 key (0600; encrypted with DEPOT_WITNESS_PASSPHRASE)
    trust/                the keyring chain it follows from the pinned root (as a client)
    checkpoints/N.note    every checkpoint it cosigned (the log's note + its line)
    latest.note           the newest of them

Each run fetches the newest checkpoint, checks the log key's signature, checks the
consistency proof from ``latest.note``, cosigns, writes the note, then posts the
cosignature. ``depot-server audit verify --witness FOLDER`` reads ``checkpoints/``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.api import Api
from client.errors import ClientError, Exit, InputError
from client.trust import TrustStore, trust_failure, write_private
from policies.trust.documents import Checkpoint
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring
from policies.trust.keys import private_from_pem, private_to_pem
from policies.trust.note import COSIGNATURE_V1, SignedNote, VerifierKey, check_key_name
from policies.trust.verify import Bundle, check_log_growth, verify_checkpoint
from policies.trust.witness import cosign, verify_cosignatures

POLICY_FILE = "witnesses.json"


# -- the client's pinned witnesses ---------------------------------------------------------


@dataclass(frozen=True)
class WitnessPolicy:
    """The witnesses a client pinned for one server and how many must cosign."""

    witnesses: tuple[VerifierKey, ...]
    required: int

    @classmethod
    def load(cls, store: TrustStore) -> WitnessPolicy:
        path = store.folder / POLICY_FILE
        if not path.exists():
            return cls((), 0)
        data = json.loads(path.read_text())
        keys = tuple(VerifierKey.parse(v, COSIGNATURE_V1) for v in data["witnesses"])
        return cls(keys, int(data["required"]))

    def save(self, store: TrustStore) -> None:
        if self.required > len(self.witnesses):
            raise InputError(
                f"{self.required} cosignatures cannot be required of "
                f"{len(self.witnesses)} pinned witness(es)"
            )
        data = {"witnesses": [w.text() for w in self.witnesses], "required": self.required}
        write_private(store.folder / POLICY_FILE, json.dumps(data, indent=1).encode())


def checkpoint_ahead(api: Api, store: TrustStore) -> None:
    """Start the request :func:`fetch_checkpoint` will make (see :meth:`Api.ahead`)."""
    policy = WitnessPolicy.load(store)
    if policy.required:
        pinned = ",".join(w.text() for w in policy.witnesses)
        api.ahead("/api/v1/log/checkpoint", witnessed=policy.required, witnesses=pinned)
    else:
        api.ahead("/api/v1/log/checkpoint")


def fetch_checkpoint(
    api: Api, store: TrustStore, keyring: Keyring, now: datetime
) -> tuple[bytes, Checkpoint]:
    """The log checkpoint to trust: signed by the log key and, if the client requires
    k witnesses, cosigned by k of the pinned ones (else exit 6, ``trust.witness``)."""
    policy = WitnessPolicy.load(store)
    if policy.required:
        pinned = ",".join(w.text() for w in policy.witnesses)
        try:
            answer = api.get("/api/v1/log/checkpoint", witnessed=policy.required, witnesses=pinned)
        except ClientError as error:
            if error.exit_code != Exit.NOT_FOUND:
                raise
            raise ClientError(
                f"the server has no checkpoint cosigned by {policy.required} of the pinned "
                f"witnesses: {error}",
                Exit.INTEGRITY,
                "trust.witness",
                "wait for the witnesses to run (`depot witness run`), or ask their operators",
            ) from None
    else:
        answer = api.get("/api/v1/log/checkpoint")
    note = str(answer["note"]).encode()
    try:
        checkpoint = verify_checkpoint(keyring, note, origin=keyring.repository)
        if policy.required:
            verify_cosignatures(SignedNote.parse(note), policy.witnesses, policy.required, now=now)
    except TrustError as error:
        raise trust_failure(error, "the server's log checkpoint does not verify") from None
    return note, checkpoint


def check_bundle_witnesses(bundle: Bundle, fingerprint: str, now: datetime) -> None:
    """Offline (``depot verify``): the bundle's checkpoint carries the cosignatures that
    this client requires for the server whose root has ``fingerprint`` (exit 6 if not)."""
    for root in TrustStore.pinned_roots():
        if root.get("fingerprint") != fingerprint:
            continue
        policy = WitnessPolicy.load(TrustStore.for_server(str(root["server"])))
        if not policy.required:
            continue
        try:
            verify_cosignatures(
                SignedNote.parse(bundle.checkpoint), policy.witnesses, policy.required, now=now
            )
        except TrustError as error:
            raise trust_failure(error, "the bundle's log checkpoint is not witnessed") from None


def require_witnessed(checkpoint: Checkpoint, index: int, ref: str) -> None:
    """The check-in (log entry ``index``) is inside the checkpoint to prove it against;
    with witnesses required, a check-in newer than their last cosigned checkpoint is not."""
    if index >= checkpoint.size:
        raise ClientError(
            f"the check-in of {ref} (log entry {index}) is not in the newest witnessed "
            f"checkpoint ({checkpoint.size} entries) yet",
            Exit.INTEGRITY,
            "trust.witness",
            "wait for the pinned witnesses' next run (`depot witness run`)",
        )


# -- a witness's own folder ------------------------------------------------------------------


def _passphrase() -> bytes | None:
    value = os.environ.get("DEPOT_WITNESS_PASSPHRASE")
    return value.encode() if value else None


@dataclass(frozen=True)
class WitnessFolder:
    """The state of one witness of one server's log."""

    folder: Path

    @property
    def config(self) -> dict[str, Any]:
        path = self.folder / "witness.json"
        if not path.exists():
            raise ClientError(
                f"{self.folder} is not a witness folder",
                Exit.NOT_FOUND,
                hint="create one with `depot witness init FOLDER --name NAME --server URL`",
            )
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def create(self, name: str, server: str) -> VerifierKey:
        """A new witness: its key and its config (refuses to overwrite one)."""
        try:
            check_key_name(name)
        except TrustError as error:
            raise InputError(str(error)) from None
        if (self.folder / "witness.pem").exists():
            raise ClientError(f"{self.folder} already holds a witness key", Exit.CONFLICT)
        key = Ed25519PrivateKey.generate()
        write_private(self.folder / "witness.pem", private_to_pem(key, _passphrase()))
        config = {"name": name, "server": server.rstrip("/")}
        write_private(self.folder / "witness.json", json.dumps(config, indent=1).encode())
        return VerifierKey(name, COSIGNATURE_V1, key.public_key())

    def key(self) -> Ed25519PrivateKey:
        try:
            return private_from_pem((self.folder / "witness.pem").read_bytes(), _passphrase())
        except (OSError, TrustError) as error:
            raise ClientError(
                f"cannot use the witness key in {self.folder}: {error}",
                Exit.FAILURE,
                hint="set DEPOT_WITNESS_PASSPHRASE to the key's passphrase",
            ) from None

    def vkey(self) -> VerifierKey:
        return VerifierKey(self.config["name"], COSIGNATURE_V1, self.key().public_key())

    def trust(self) -> TrustStore:
        """The keyring chain this witness follows, in its own folder."""
        return TrustStore(self.folder / "trust", self.config["server"])

    def latest(self) -> Checkpoint | None:
        path = self.folder / "latest.note"
        if not path.exists():
            return None
        return Checkpoint.from_payload(SignedNote.parse(path.read_bytes()).text)

    def run(self, api: Api, now: datetime | None = None) -> dict[str, Any]:
        """Fetch, check, cosign, keep and post the newest checkpoint of the log."""
        now = now or datetime.now(UTC)
        store = self.trust()
        keyring = store.refresh_keyring(api, now)
        answer = api.get("/api/v1/log/checkpoint")
        note = str(answer["note"]).encode()
        old = self.latest()
        try:
            checkpoint = verify_checkpoint(keyring, note, origin=keyring.repository)
            if old is not None:
                hashes: list[str] = []
                if old.size <= checkpoint.size:  # a shrunk log has no proof to ask for
                    hashes = api.get(
                        "/api/v1/log/proof/consistency", old=old.size, new=checkpoint.size
                    )["proof"]
                check_log_growth(old, checkpoint, [bytes.fromhex(h) for h in hashes])
        except TrustError as error:
            raise trust_failure(
                error, "REFUSED: the log is not consistent with what this witness saw"
            ) from None
        signed = SignedNote.parse(note)
        line = cosign(signed.text, self.config["name"], self.key(), int(now.timestamp()))
        kept = signed.with_signatures([line]).to_bytes()
        write_private(self.folder / "checkpoints" / f"{checkpoint.size}.note", kept)
        write_private(self.folder / "latest.note", kept)
        api.json(
            "POST",
            "/api/v1/log/cosignatures",
            {"size": checkpoint.size, "vkey": self.vkey().text(), "cosignature": line.line()},
        )
        return {
            "size": checkpoint.size,
            "previous_size": old.size if old else None,
            "root": checkpoint.root.hex(),
            "witness": self.config["name"],
        }
