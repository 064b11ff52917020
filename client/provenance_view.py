"""How the client shows a version's build attestation (no trust rules loaded: `depot ls`
imports it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def summary(attestation: Mapping[str, Any]) -> str:
    """One line for a person: who signed, which builder, how many files."""
    signer = attestation["signer"]
    return (
        f"provenance sha256:{attestation['payload_sha256']}  signed by {signer['name']} "
        f"({signer['keyid'][:16]})  builder {attestation['builder_id']}  "
        f"{len(attestation['subjects'])} file(s)"
        + (f"  run {attestation['invocation_id']}" if attestation.get("invocation_id") else "")
    )
