"""What the client trusts, kept in its own folder: the pinned root, the keyrings it has
verified, the highest status serial seen per version, the newest enrolment document
version and the last log checkpoint.

The folder is ``<config dir>/trust/<server id>/`` (``DEPOT_TRUST_DIR`` overrides it), mode
0700; downloads never write there. Every update is verified first (with
:mod:`policies.trust`) and written atomically after, so a failed check leaves the trusted
state as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from client.api import Api
from client.config import config_dir
from client.errors import ClientError, Exit, TrustFailure
from policies.trust.documents import Checkpoint, Status
from policies.trust.dsse import Envelope
from policies.trust.enrollment import Enrollment
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring, trust_first_keyring, update_keyring
from policies.trust.note import SignedNote

T = TypeVar("T")

#: Most keyring versions one update may walk (TUF's hop cap).
MAX_KEYRING_HOPS = 32


def server_id(server: str) -> str:
    """A folder name for ``server``: readable host, plus a hash of the whole URL."""
    host = server.split("://", 1)[-1].split("/", 1)[0].replace(":", "_")
    return f"{host}-{hashlib.sha256(server.rstrip('/').encode()).hexdigest()[:12]}"


def trust_failure(error: TrustError, what: str) -> TrustFailure:
    """The error to show for a failed verification: what failed, exit code 6."""
    return TrustFailure(f"{what}: {error}", error.check)


#: How many log proofs the trusted state keeps (see :meth:`TrustStore.proof`).
PROOF_CACHE_SIZE = 64


def _write(path: Path, data: bytes) -> None:
    try:
        if path.read_bytes() == data:
            return  # unchanged: no rename, no fsync (a repeated pull changes nothing)
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically to a file only its owner reads (``depot witness`` too)."""
    _write(path, data)


@dataclass
class TrustStore:
    """The trusted state for one server."""

    folder: Path
    server: str

    @classmethod
    def for_server(cls, server: str, environ: dict[str, str] | None = None) -> TrustStore:
        environ = dict(os.environ) if environ is None else environ
        base = Path(environ["DEPOT_TRUST_DIR"]) if environ.get("DEPOT_TRUST_DIR") else None
        base = base or config_dir(environ) / "trust"
        return cls(base / server_id(server), server.rstrip("/"))

    @staticmethod
    def pinned_roots(environ: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every root pinned on this machine (``root.json`` of each server folder)."""
        environ = dict(os.environ) if environ is None else environ
        base = Path(environ["DEPOT_TRUST_DIR"]) if environ.get("DEPOT_TRUST_DIR") else None
        base = base or config_dir(environ) / "trust"
        return [json.loads(p.read_text()) for p in sorted(base.glob("*/root.json"))]

    # -- reading -------------------------------------------------------------------------

    @property
    def initialized(self) -> bool:
        return (self.folder / "root.json").exists()

    def require(self) -> None:
        if not self.initialized:
            raise ClientError(
                f"no trusted root for {self.server}",
                Exit.INTEGRITY,
                "trust.not_initialized",
                "pin the server's root key once: `depot trust init URL --root-fingerprint FP` "
                "(the fingerprint comes from your administrator, never from the server alone)",
            )

    def root(self) -> dict[str, Any]:
        self.require()
        data: dict[str, Any] = json.loads((self.folder / "root.json").read_text())
        return data

    def keyring_envelopes(self) -> list[Envelope]:
        """The stored keyring chain, from version 1."""
        found = sorted(
            (int(p.stem), p) for p in (self.folder / "keyrings").glob("*.json") if p.stem.isdigit()
        )
        return [Envelope.from_bytes(p.read_bytes()) for _, p in found]

    def keyring(self) -> Keyring:
        """The newest trusted keyring (verified when it was stored)."""
        self.require()
        envelopes = self.keyring_envelopes()
        return Keyring.from_payload(envelopes[-1].payload)

    def state(self) -> dict[str, Any]:
        path = self.folder / "state.json"
        if not path.exists():
            return {"statuses": {}, "checkpoint": None}
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def trusted_status(self, ref: str) -> tuple[int | None, str | None]:
        """The highest status serial seen for ``ref`` and that document's payload sha256."""
        entry = self.state()["statuses"].get(ref)
        return (entry["serial"], entry["payload_sha256"]) if entry else (None, None)

    def trusted_enrollment(self) -> tuple[int | None, str | None]:
        """The newest enrolment document version seen and its payload sha256."""
        entry = self.state().get("enrollment")
        return (entry["version"], entry["payload_sha256"]) if entry else (None, None)

    def checkpoint(self) -> Checkpoint | None:
        """The last checkpoint verified (a signed note; a DSSE envelope from older clients)."""
        stored = self.state()["checkpoint"]
        if not stored:
            return None
        if isinstance(stored, dict):
            return Checkpoint.from_payload(Envelope.from_json(stored).payload)
        return Checkpoint.from_payload(SignedNote.parse(str(stored).encode()).text)

    # -- writing (only after verification) -----------------------------------------------

    def pin(self, first: Envelope, fingerprint: str, now: datetime) -> Keyring:
        """Trust keyring 1 if it matches ``fingerprint`` and its roots signed it."""
        try:
            keyring = trust_first_keyring(first, fingerprint, now)
        except TrustError as error:
            raise trust_failure(error, "the server's first keyring is not the pinned one") from None
        _write(self.folder / "keyrings" / "1.json", first.to_bytes())
        _write(
            self.folder / "root.json",
            json.dumps(
                {
                    "server": self.server,
                    "fingerprint": fingerprint,
                    "repository": keyring.repository,
                }
            ).encode(),
        )
        return keyring

    def refresh_keyring(self, api: Api, now: datetime) -> Keyring:
        """Follow the server's keyring chain from the newest trusted one, one version at a time."""
        trusted = self.keyring()
        latest = int(api.get("/api/v1/trust/keyring")["version"])
        if latest < trusted.version:
            raise ClientError(
                f"the server offers keyring version {latest}, older than the trusted "
                f"version {trusted.version}: refusing a rollback",
                Exit.INTEGRITY,
                "trust.keyring_version",
            )
        if latest - trusted.version > MAX_KEYRING_HOPS:
            raise ClientError(
                f"the server's keyring is {latest - trusted.version} versions ahead "
                f"(at most {MAX_KEYRING_HOPS} are followed at once)",
                Exit.INTEGRITY,
                "trust.keyring_version",
            )
        for version in range(trusted.version + 1, latest + 1):
            envelope = Envelope.from_json(api.get(f"/api/v1/trust/keyring/{version}"))
            try:
                trusted = update_keyring(trusted, envelope, now, final=version == latest)
            except TrustError as error:
                raise trust_failure(error, f"keyring version {version} does not verify") from None
            _write(self.folder / "keyrings" / f"{version}.json", envelope.to_bytes())
        if trusted.expires <= now:
            raise ClientError(
                f"the newest keyring (version {trusted.version}) expired at "
                f"{trusted.expires.isoformat()}",
                Exit.INTEGRITY,
                "trust.expired",
                "the server's administrators must rotate its keys",
            )
        return trusted

    def in_step(
        self, api: Api, keyring: Keyring, now: datetime, check: Callable[[Keyring], T]
    ) -> tuple[T, Keyring]:
        """``check(keyring)``, and once more with the server's newer keyring if the keys
        of ``keyring`` did not sign what it fetched.

        A rotation may commit between two requests of one command (the keyring read,
        then the documents, re-signed by the new keys in the rotation's transaction,
        perhaps by another node): the keyring is then followed to its new version,
        verified step by step from the trusted one as always, and the check runs again
        with it. Nothing is trusted that the newest keyring does not sign; a failure
        that a newer keyring does not explain is reported as it was."""
        try:
            return check(keyring), keyring
        except TrustFailure as failure:
            if failure.code != "trust.threshold":
                raise
            api.drop_ahead()  # answers fetched ahead may predate the rotation
            newer = self.refresh_keyring(api, now)
            if newer.version == keyring.version:
                raise
        return check(newer), newer

    def remember_status(self, ref: str, status: Status, envelope: Envelope) -> None:
        state = self.state()
        state["statuses"][ref] = {
            "serial": status.serial,
            "payload_sha256": envelope.payload_sha256(),
        }
        _write(self.folder / "state.json", json.dumps(state, sort_keys=True).encode())

    def save_state(self, state: dict[str, Any]) -> None:
        """Write the whole state file (already verified; see :mod:`client.trust_state`)."""
        _write(self.folder / "state.json", json.dumps(state, sort_keys=True).encode())

    def remember_enrollment(self, enrollment: Enrollment, envelope: Envelope) -> None:
        """Keep the newest enrolment document seen (so an older one is a rollback)."""
        state = self.state()
        state["enrollment"] = {
            "version": enrollment.version,
            "payload_sha256": envelope.payload_sha256(),
        }
        _write(self.folder / "state.json", json.dumps(state, sort_keys=True).encode())

    def proof(self, api: Api, kind: str, **params: int) -> list[str]:
        """The log's ``kind`` proof (``inclusion``: index, size; ``consistency``: old,
        new) as hex hashes, from the server or, when asked before, from the trusted state.

        A proof of the same numbers never changes, and every proof is checked against a
        signed checkpoint by the caller each time, so a kept one is only a cache: a wrong
        one fails verification, it can never make anything pass. The newest
        :data:`PROOF_CACHE_SIZE` are kept."""
        key = ":".join([kind, *(f"{k}={v}" for k, v in sorted(params.items()))])
        state = self.state()
        cache: dict[str, list[str]] = state.get("proofs", {})
        if key in cache:
            return list(cache[key])
        proof = [str(h) for h in api.get(f"/api/v1/log/proof/{kind}", **params)["proof"]]
        cache.pop(key, None)
        cache[key] = proof
        state["proofs"] = dict(list(cache.items())[-PROOF_CACHE_SIZE:])
        self.save_state(state)
        return proof

    def proof_ahead(self, api: Api, kind: str, **params: int) -> None:
        """Start fetching the proof :meth:`proof` will want, unless it is kept already."""
        key = ":".join([kind, *(f"{k}={v}" for k, v in sorted(params.items()))])
        if key not in self.state().get("proofs", {}):
            api.ahead(f"/api/v1/log/proof/{kind}", **params)

    def remember_checkpoint(self, note: bytes) -> None:
        state = self.state()
        state["checkpoint"] = note.decode()
        _write(self.folder / "state.json", json.dumps(state, sort_keys=True).encode())
