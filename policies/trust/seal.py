"""The roots' seal of the log at a rotation: what a retired keyring signed before it left.

At ``depot-server keys rotate`` the roots sign, beside the next keyring, a seal of the log
as it stood: its size and root hash, and the keyring whose online keys the rotation
retires. A bundle made before the rotation holds a checkpoint and documents signed by
those keys; with the seal and a consistency proof from its checkpoint to the sealed tree
(``depot trust extend``, once, at any time after the rotation) it proves that its check-in
was in the log before the keys left. So an archived bundle keeps verifying, as archival,
after any number of rotations, while a rotated-out key still signs nothing new that a
client accepts: a checkpoint it signs after the rotation is either larger than the sealed
tree or not a prefix of it, and the proof fails; the manifest must be the one the sealed
log's check-in record names, and the statements the ones that manifest names.

The seal is signed by a threshold of the *next* keyring's roots (offline keys), so neither
the server nor the holder of the retired online keys can make one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from policies.trust.canonical import canonical_bytes, parse_canonical, utc_text
from policies.trust.documents import Checkpoint
from policies.trust.dsse import SEAL, Envelope, verify
from policies.trust.errors import TrustError
from policies.trust.fields import SPEC_VERSION, Reader
from policies.trust.keyring import Keyring
from policies.trust.merkle import verify_consistency

__all__ = ["SEAL", "Seal", "check_sealed", "verify_seal"]


@dataclass(frozen=True)
class Seal:
    """The log as it stood when keyring ``keyring + 1`` retired ``keyring``'s online keys."""

    TYPE: ClassVar[str] = "depot.seal"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "_type", "spec_version", "repository", "keyring", "log_size", "log_root", "sealed",
    )  # fmt: skip

    repository: str
    #: The keyring version whose online keys the rotation retired.
    keyring: int
    log_size: int
    #: The root hash of the log of ``log_size`` entries (64 hex digits).
    log_root: str
    sealed: datetime

    def _json(self) -> dict[str, Any]:
        return {
            "_type": self.TYPE,
            "spec_version": SPEC_VERSION,
            "repository": self.repository,
            "keyring": self.keyring,
            "log_size": self.log_size,
            "log_root": self.log_root,
            "sealed": utc_text(self.sealed),
        }

    def to_payload(self) -> bytes:
        """The canonical payload the roots sign."""
        obj = self._json()
        self._read(obj)
        return canonical_bytes(obj)

    @classmethod
    def from_payload(cls, data: bytes) -> Seal:
        """Parse a seal payload whose signatures were checked."""
        return cls._read(parse_canonical(data))

    @classmethod
    def _read(cls, obj: dict[str, Any]) -> Seal:
        r = Reader(obj, "the seal", cls.FIELDS)
        r.header(cls.TYPE)
        return cls(
            repository=r.text("repository"),
            keyring=r.integer("keyring"),
            log_size=r.integer("log_size"),
            log_root=r.digest("log_root"),
            sealed=r.time("sealed"),
        )


def verify_seal(chain: Sequence[Keyring], env: Envelope) -> tuple[Seal, Keyring]:
    """The seal in ``env`` and the retired keyring it seals.

    ``chain`` is the walked keyring chain, oldest first (every step already checked). The
    seal must be signed by a threshold of the roots of the keyring right after the one it
    seals, name this repository, and seal a keyring that a later one replaced.
    """
    by_version = {ring.version: ring for ring in chain}
    newest = chain[-1]
    try:
        claimed = Seal.from_payload(env.payload)
    except TrustError as error:
        raise TrustError("seal", f"the bundle's seal cannot be read: {error}") from None
    successor = by_version.get(claimed.keyring + 1)
    sealed = by_version.get(claimed.keyring)
    if sealed is None or successor is None:
        raise TrustError(
            "seal",
            f"the bundle's seal is of keyring {claimed.keyring}, which keyring "
            f"{newest.version} (the newest this client trusts) did not replace",
        )
    keys, threshold = successor.role_keys("root")
    verify(env, SEAL, keys, threshold, role="root")
    if claimed.repository != newest.repository:
        raise TrustError(
            "subject",
            f"the seal is of {claimed.repository}, not {newest.repository}",
        )
    return claimed, sealed


def check_sealed(seal: Seal, checkpoint: Checkpoint, proof: Sequence[bytes]) -> None:
    """The checkpoint is a prefix of the sealed log: signed before the rotation."""
    if checkpoint.size > seal.log_size:
        raise TrustError(
            "seal",
            f"the checkpoint has {checkpoint.size} entries, more than the {seal.log_size} "
            f"the roots sealed when keyring {seal.keyring} was retired: it was signed after",
        )
    try:
        verify_consistency(
            checkpoint.size, seal.log_size, checkpoint.root, bytes.fromhex(seal.log_root), proof
        )
    except TrustError as error:
        raise TrustError(
            "seal",
            f"the checkpoint is not part of the log the roots sealed when keyring "
            f"{seal.keyring} was retired ({error})",
        ) from None
