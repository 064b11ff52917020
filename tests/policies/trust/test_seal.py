"""The roots' seal of a rotation: an archived bundle signed by retired keys keeps verifying.

The attacker here holds the rotated-out online keys of keyring 1 (a copy of the old key
folder): whatever they sign after the rotation must still be refused, seal or no seal.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from policies.trust.bundle import Bundle
from policies.trust.canonical import canonical_bytes
from policies.trust.documents import Checkpoint
from policies.trust.dsse import MANIFEST, SEAL, Envelope, sign
from policies.trust.errors import TrustError
from policies.trust.merkle import consistency_proof, leaf_hash, root_hash
from policies.trust.note import sign_note
from policies.trust.seal import Seal, check_sealed
from policies.trust.verify import check_bundle_seal, verify_bundle
from tests.policies.trust.factory import FILES, NOW, REPO, World, key, make_keyring, sign_keyring

W = World()
ONLINE2 = {"release": key(60), "status": key(61), "log": key(62)}
K2 = make_keyring(2, W.roots, 2, ONLINE2, enrollment=W.enrollers)
ENV2 = sign_keyring(K2, W.roots[:2])
# The log grew by three records after the bundle was made, then the rotation sealed it.
LATER = [leaf_hash(f"later {i}".encode()) for i in range(3)]
SEALED = [*W.leaves, *LATER]


def seal_env(signers=None, **changes):  # type: ignore[no-untyped-def]
    base = Seal(REPO, 1, len(SEALED), root_hash(SEALED).hex(), NOW + timedelta(days=1))
    return sign(
        SEAL, replace(base, **changes).to_payload(), W.roots[:2] if signers is None else signers
    )


PROOF = tuple(h.hex() for h in consistency_proof(len(W.leaves), SEALED))


def sealed_bundle(world: World = W, **changes):  # type: ignore[no-untyped-def]
    fields = {"keyrings": (W.keyring_env, ENV2), "seal": seal_env(), "seal_proof": PROOF}
    return world.bundle(**{**fields, **changes})


def run(bundle: Bundle, **kw):  # type: ignore[no-untyped-def]
    args = {
        "root_fingerprint": W.fingerprint,
        "group": "acme",
        "product": "app",
        "version": "1.2.0",
        "filename": FILES[0].name,
        "sha256_actual": FILES[0].sha256,
        "size_actual": FILES[0].size,
        "now": NOW + timedelta(days=3 * 365),
        "archival": True,
        **kw,
    }
    return verify_bundle(bundle, **args)


def refused(check: str, match: str, bundle: Bundle, **kw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TrustError, match=match) as info:
        run(bundle, **kw)
    assert info.value.check == check, info.value


def test_a_sealed_bundle_verifies_as_archival_years_after_the_rotation() -> None:
    verified = run(sealed_bundle())
    assert verified.standing == "archival"
    assert verified.seal is not None and verified.seal.keyring == 1
    assert verified.keyring == K2 and verified.manifest == W.manifest
    # Right after the rotation too, while every document is still in force: archival.
    assert run(sealed_bundle(), now=NOW).standing == "archival"
    # The seal survives the bundle file; a bundle without one has no "seal" field at all.
    assert Bundle.from_json(sealed_bundle().to_json()) == sealed_bundle()
    assert "seal" not in W.bundle().to_json()


def test_without_the_seal_the_retired_keys_are_refused_and_the_remedy_named() -> None:
    refused("rotated_out", "depot trust extend", sealed_bundle(seal=None, seal_proof=()))


def test_a_sealed_bundle_is_an_archive_only() -> None:
    refused("sealed", "verify --archival", sealed_bundle(), archival=False, now=NOW)


def test_after_more_rotations_and_a_new_root_threshold() -> None:
    roots3 = [*W.roots, key(4)]
    k3 = make_keyring(3, roots3, 3, {"release": key(63), "status": key(64), "log": key(65)},
                      enrollment=W.enrollers)  # fmt: skip
    env3 = sign_keyring(k3, [*W.roots[:2], *roots3[:3]])
    verified = run(sealed_bundle(keyrings=(W.keyring_env, ENV2, env3)))
    assert verified.standing == "archival" and verified.keyring == k3


def test_the_seal_must_come_from_the_next_keyrings_roots() -> None:
    refused("threshold", "needs 2 valid signature", sealed_bundle(seal=seal_env([W.roots[0]])))
    refused("threshold", "valid signature", sealed_bundle(seal=seal_env([W.release, W.status_key])))
    refused("seal", "keyring 5, which keyring 2", sealed_bundle(seal=seal_env(keyring=5)))
    refused("seal", "keyring 2, which keyring 2", sealed_bundle(seal=seal_env(keyring=2)))
    refused(
        "subject",
        "the seal is of https://other",
        sealed_bundle(seal=seal_env(repository="https://other")),
    )
    garbage = sign(SEAL, canonical_bytes({"_type": "depot.seal"}), W.roots[:2])
    refused("seal", "cannot be read", sealed_bundle(seal=garbage))


def test_a_retired_key_cannot_sign_past_the_seal() -> None:
    # A checkpoint over the real log and a forged check-in appended after the seal.
    forged = [*SEALED, leaf_hash(b"a check-in that never happened")]
    late = Checkpoint(REPO, len(forged), root_hash(forged))
    note = sign_note(late.to_payload(), REPO, W.log_key).to_bytes()
    refused("seal", "more than the 14 the roots sealed", sealed_bundle(checkpoint=note))
    # A tree of the sealed size or smaller, other than the log's: no proof makes it a prefix.
    rewritten = Checkpoint(REPO, len(W.leaves), root_hash([*W.leaves[:-1], leaf_hash(b"x")]))
    note = sign_note(rewritten.to_payload(), REPO, W.log_key).to_bytes()
    refused("seal", "not part of the log the roots sealed", sealed_bundle(checkpoint=note))
    # The real checkpoint, with a manifest for other bytes signed by the retired release
    # key: the approvals are of the real bytes (and the sealed log's check-in record
    # names the real manifest).
    manifest = replace(W.manifest, files=(replace(FILES[0], sha256="0" * 64), *FILES[1:]))
    evil = sign(MANIFEST, manifest.to_payload(), [W.release])
    status = W.signed_status(manifest_sha256=evil.payload_sha256())
    refused("subject", "has other bytes for app-1.2.0.tar.gz",
            sealed_bundle(manifest=evil, status=status), sha256_actual="0" * 64)  # fmt: skip
    # A wrong proof.
    refused("seal", "not part of the log", sealed_bundle(seal_proof=PROOF[:-1]))


def test_a_sealed_bundle_signed_by_the_newer_keys_is_refused() -> None:
    world2 = World(release=key(60), status_key=key(61), log_key=key(62))
    refused("threshold", "valid signature", sealed_bundle(world2))


def test_check_sealed_at_the_sealed_size() -> None:
    seal = Seal(REPO, 1, len(W.leaves), root_hash(W.leaves).hex(), NOW)
    check_sealed(seal, W.checkpoint, [])


def test_the_bundle_seal_field_is_read_strictly() -> None:
    obj = sealed_bundle().to_json()
    for bad in ({"envelope": obj["seal"]["envelope"]}, "x", {"envelope": {}, "proof": "ab"}):
        with pytest.raises(TrustError, match="seal must have exactly") as info:
            Bundle.from_json({**obj, "seal": bad})
        assert info.value.check == "bundle"
    with pytest.raises(TrustError, match="seal proof must be a list of 32-byte"):
        Bundle.from_json({**obj, "seal": {**obj["seal"], "proof": ["AB" * 32]}})
    assert Bundle.from_json({**obj, "seal": None}).seal is None
    assert isinstance(Envelope.from_json(obj["seal"]["envelope"]), Envelope)


def test_an_extension_is_checked_before_it_is_written() -> None:
    def check(bundle: Bundle) -> Seal:
        return check_bundle_seal(bundle, root_fingerprint=W.fingerprint, now=NOW)

    assert check(sealed_bundle()).log_size == len(SEALED)
    for bundle, what, match in (
        (sealed_bundle(keyrings=()), "keyring_version", "holds no keyring"),
        (sealed_bundle(seal=None), "seal", "carries no seal"),
        (sealed_bundle(seal_proof=PROOF[1:]), "seal", "not part of the log"),
    ):
        with pytest.raises(TrustError, match=match) as info:
            check(bundle)
        assert info.value.check == what
