"""The bundle: every signed document and proof one version's files need, in one JSON file.

``depot pull --bundle`` writes it (:meth:`Bundle.to_json`); ``depot verify`` reads it back
(:meth:`Bundle.from_json`) and checks it with :func:`policies.trust.verify.verify_bundle`,
with no server asked anything. Reading checks only the shape; nothing in it is trusted
until verified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.trust.dsse import Envelope
from policies.trust.errors import TrustError
from policies.trust.keys import decode_base64

_HEX32 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_FIELDS = {
    "_type",
    "spec_version",
    "keyrings",
    "manifest",
    "statements",
    "enrollment",
    "enrollment_proof",
    "status",
    "checkpoint",
    "inclusion",
}
#: Fields a bundle may lack: made by a client from before the library index travelled in it.
_OPTIONAL = {"library", "provenance", "seal"}
_INCLUSION = {"index", "size", "proof", "record"}


def _fail(message: str) -> TrustError:
    return TrustError("bundle", message)


def _hashes(proof: tuple[str, ...], what: str) -> list[bytes]:
    if not all(isinstance(h, str) and _HEX32.fullmatch(h) for h in proof):
        raise _fail(f"the bundle's {what} must be a list of 32-byte hex hashes")
    return [bytes.fromhex(h) for h in proof]


@dataclass(frozen=True)
class Bundle:
    """The documents of one version, as served, plus the inclusion of its check-in.

    ``keyrings`` is the chain from version 1. ``inclusion`` is in its JSON form:
    ``{"index": int, "size": int, "proof": [hex, ...], "record": base64 of the leaf bytes}``.
    ``enrollment`` is the enrolment document (``None`` only for a keyring without an
    enrolment role) and ``enrollment_proof`` the consistency proof (hex) from the log it
    was signed over to the checkpoint. ``library`` is the product's signed library index
    the client verified when it made the bundle (``None`` in a bundle from a client that
    did not carry it), so offline verification knows the version is in the library.
    """

    keyrings: tuple[Envelope, ...]
    manifest: Envelope
    statements: tuple[Envelope, ...]
    enrollment: Envelope | None
    status: Envelope
    #: The log's checkpoint as a C2SP signed note (its cosignature lines included).
    checkpoint: bytes
    inclusion: Mapping[str, Any]
    enrollment_proof: tuple[str, ...] = ()
    library: Envelope | None = None
    #: The build attestations the manifest names (in-toto DSSE envelopes, as attached).
    provenance: tuple[Envelope, ...] = ()
    #: The roots' seal of the rotation that retired the keys this bundle was signed with
    #: (:mod:`policies.trust.seal`; added by ``depot trust extend``), ``None`` until then.
    seal: Envelope | None = None
    #: The consistency proof (hex) from the bundle's checkpoint to the sealed log.
    seal_proof: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The bundle file's JSON object."""
        return {
            "_type": "depot.bundle",
            "spec_version": "1",
            "keyrings": [e.to_json() for e in self.keyrings],
            "manifest": self.manifest.to_json(),
            "statements": [e.to_json() for e in self.statements],
            "enrollment": None if self.enrollment is None else self.enrollment.to_json(),
            "enrollment_proof": list(self.enrollment_proof),
            "status": self.status.to_json(),
            "checkpoint": self.checkpoint.decode(),
            "inclusion": dict(self.inclusion),
            "library": None if self.library is None else self.library.to_json(),
            "provenance": [e.to_json() for e in self.provenance],
            **(
                {}
                if self.seal is None
                else {"seal": {"envelope": self.seal.to_json(), "proof": list(self.seal_proof)}}
            ),
        }

    @classmethod
    def from_json(cls, obj: Any) -> Bundle:
        """Read a bundle file's JSON strictly (``TrustError("bundle")`` or ``("envelope")``)."""
        if not isinstance(obj, dict) or obj.get("_type") != "depot.bundle":
            raise _fail("this is not a Depot bundle")
        if obj.get("spec_version") != "1":
            raise _fail(f"bundle spec_version {obj.get('spec_version')!r} is not supported")
        missing, extra = _FIELDS - obj.keys(), obj.keys() - _FIELDS - _OPTIONAL
        if missing or extra:
            raise _fail(
                "the bundle "
                + (f"lacks {', '.join(sorted(missing))}" if missing else "")
                + (" and " if missing and extra else "")
                + (f"has unknown fields {', '.join(sorted(extra))}" if extra else "")
            )
        for name in ("keyrings", "statements", "enrollment_proof", "provenance"):
            if not isinstance(obj.get(name, []), list):
                raise _fail(f"the bundle's {name} must be a list")
        seal = obj.get("seal")
        if seal is not None and (
            not isinstance(seal, dict)
            or set(seal) != {"envelope", "proof"}
            or not isinstance(seal["proof"], list)
        ):
            raise _fail("the bundle's seal must have exactly an envelope and a proof (a list)")
        if not isinstance(obj["checkpoint"], str):
            raise _fail("the bundle's checkpoint must be a signed note (text)")
        bundle = cls(
            keyrings=tuple(Envelope.from_json(e) for e in obj["keyrings"]),
            manifest=Envelope.from_json(obj["manifest"]),
            statements=tuple(Envelope.from_json(e) for e in obj["statements"]),
            enrollment=None if obj["enrollment"] is None else Envelope.from_json(obj["enrollment"]),
            status=Envelope.from_json(obj["status"]),
            checkpoint=obj["checkpoint"].encode(),
            inclusion=obj["inclusion"],
            enrollment_proof=tuple(obj["enrollment_proof"]),
            library=None if obj.get("library") is None else Envelope.from_json(obj["library"]),
            provenance=tuple(Envelope.from_json(e) for e in obj.get("provenance", [])),
            seal=None if seal is None else Envelope.from_json(seal["envelope"]),
            seal_proof=() if seal is None else tuple(seal["proof"]),
        )
        bundle.inclusion_parts()
        bundle.enrollment_hashes()
        bundle.seal_hashes()
        return bundle

    def enrollment_hashes(self) -> list[bytes]:
        """:attr:`enrollment_proof` as hashes, checked for shape."""
        return _hashes(self.enrollment_proof, "enrollment proof")

    def seal_hashes(self) -> list[bytes]:
        """:attr:`seal_proof` as hashes, checked for shape."""
        return _hashes(self.seal_proof, "seal proof")

    def inclusion_parts(self) -> tuple[int, int, list[bytes], bytes]:
        """``(index, size, proof hashes, record bytes)`` of :attr:`inclusion`, checked for shape."""
        data = self.inclusion
        if not isinstance(data, Mapping) or set(data) != _INCLUSION:
            raise _fail("the bundle's inclusion must have exactly index, size, proof and record")
        for name in ("index", "size"):
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _fail(f"the bundle's inclusion {name} must be a whole number")
        proof = data["proof"]
        if not isinstance(proof, list) or not all(
            isinstance(h, str) and _HEX32.fullmatch(h) for h in proof
        ):
            raise _fail("the bundle's inclusion proof must be a list of 32-byte hex hashes")
        record = decode_base64(data["record"], "the bundle's inclusion record", "bundle")
        return data["index"], data["size"], [bytes.fromhex(h) for h in proof], record
