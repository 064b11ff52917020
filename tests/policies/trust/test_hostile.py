"""Every hostile case of issue 4 and of trust-design.md §7 that the pure rules decide.

Each case is refused with a stable check code and a message that names what is wrong.
Cases that need a server, a disk or a network (a blob changed in the bucket, an audit row
edited in the database, nothing written after a failure, an endless stream) are tested
where those live: tests/repo_server and tests/e2e.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from policies.trust.bundle import Bundle
from policies.trust.canonical import canonical_bytes, parse_canonical
from policies.trust.documents import Checkpoint, Manifest, Statement
from policies.trust.dsse import (
    KEYRING,
    MANIFEST,
    STATEMENT,
    STATUS,
    Envelope,
    Signature,
    sign,
)
from policies.trust.enrollment import verify_enrollment
from policies.trust.errors import TrustError
from policies.trust.keyring import update_keyring, walk_keyrings
from policies.trust.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_inclusion,
)
from policies.trust.note import sign_note
from policies.trust.verify import (
    check_download,
    check_log_growth,
    checkin_expectation,
    verify_bundle,
    verify_checkpoint,
    verify_inclusion_of,
    verify_manifest,
    verify_statements,
    verify_status,
)
from tests.policies.trust.factory import (
    FILES,
    GROUP,
    NOW,
    PRODUCT,
    REPO,
    VERSION,
    World,
    flip,
    key,
    kid,
    make_keyring,
    sign_keyring,
)

W = World()
NAMES = {"group": GROUP, "product": PRODUCT, "version": VERSION}


def refused(check: str, fragment: str, fn: Callable[[], object]) -> None:
    with pytest.raises(TrustError) as info:
        fn()
    assert info.value.check == check, f"{info.value.check}: {info.value}"
    assert fragment in str(info.value), str(info.value)


def bundle(**changes: Any) -> Callable[..., object]:
    """Verify W's bundle with ``changes`` (bundle fields or verify_bundle arguments)."""
    fields = {k: v for k, v in changes.items() if k in Bundle.__dataclass_fields__}
    args = {
        **NAMES,
        "root_fingerprint": W.fingerprint,
        "filename": FILES[0].name,
        "sha256_actual": FILES[0].sha256,
        "size_actual": FILES[0].size,
        "now": NOW,
    }
    args.update({k: v for k, v in changes.items() if k not in fields})
    return lambda: verify_bundle(W.bundle(**fields), **args)


def manifest_check(env: Envelope, **kw: Any) -> Callable[[], object]:
    args = {**NAMES, "filename": FILES[0].name, "status": W.status, **kw}
    return lambda: verify_manifest(W.keyring, env, **args)


def status_check(env: Envelope, **kw: Any) -> Callable[[], object]:
    args = {**NAMES, "now": NOW, "trusted_serial": None, **kw}
    return lambda: verify_status(W.keyring, env, **args)


RELEASE_ID = kid(W.release)[:16]

# -- signatures -------------------------------------------------------------------------


def test_flipped_byte_in_the_manifest_payload() -> None:
    env = Envelope(MANIFEST, flip(W.manifest_env.payload, 40), W.manifest_env.signatures)
    refused("threshold", f"signature of key {RELEASE_ID} does not match", manifest_check(env))
    refused("threshold", "needs 1 valid signature by release keys, found 0", bundle(manifest=env))


def test_flipped_byte_in_a_signature() -> None:
    sig = W.manifest_env.signatures[0]
    env = replace(W.manifest_env, signatures=(Signature(sig.keyid, flip(sig.sig, 7, 3)),))
    refused("threshold", "does not match the document", manifest_check(env))
    status_sig = W.status_env.signatures[0]
    status = replace(W.status_env, signatures=(Signature(status_sig.keyid, flip(status_sig.sig)),))
    refused("threshold", "by status keys, found 0", status_check(status))


def test_flipped_byte_in_the_file() -> None:
    data = flip(b"a" * 1000, 500)
    import hashlib

    refused("hash", "the signed manifest says", lambda: check_download(
        hashlib.sha256(data).hexdigest(), len(data), FILES[0]))  # fmt: skip


def test_signature_taken_from_another_manifest() -> None:
    other = sign(MANIFEST, replace(W.manifest, version="1.1.0").to_payload(), [W.release])
    env = replace(W.manifest_env, signatures=other.signatures)
    refused("threshold", "does not match the document", manifest_check(env))


def test_wrong_key_with_a_misleading_keyid() -> None:
    attacker = key(66)
    forged = sign(MANIFEST, W.manifest.to_payload(), [attacker])
    lying = replace(forged, signatures=(Signature(kid(W.release), forged.signatures[0].sig),))
    refused("threshold", f"signature of key {RELEASE_ID} does not match", manifest_check(lying))


def test_unknown_key() -> None:
    forged = sign(MANIFEST, W.manifest.to_payload(), [key(66)])
    refused("threshold", "1 signature(s) by keys that are not release keys were ignored",
            manifest_check(forged))  # fmt: skip


def test_non_base64_and_all_ff_signatures() -> None:
    obj = W.manifest_env.to_json()
    obj["signatures"][0]["sig"] = "%%%"
    refused("envelope", "signature 1 is not valid base64", lambda: Envelope.from_json(obj))
    obj["signatures"][0]["sig"] = base64.b64encode(b"\xff" * 64).decode()
    refused("threshold", "does not match", manifest_check(Envelope.from_json(obj)))


def test_the_same_signature_repeated_to_meet_a_threshold() -> None:
    one = sign_keyring(W.keyring, W.roots[:1])
    repeated = replace(one, signatures=one.signatures * 3)
    from policies.trust.keyring import trust_first_keyring

    refused("threshold", "needs 2 valid signatures by root keys, found 1",
            lambda: trust_first_keyring(repeated, W.fingerprint, NOW))  # fmt: skip


def test_payload_type_swapped() -> None:
    as_manifest = Envelope(MANIFEST, W.status_env.payload, W.status_env.signatures)
    refused("payload_type", f"expected a document of type {STATUS}, got {MANIFEST}",
            status_check(as_manifest))  # fmt: skip
    statement_as_manifest = sign(MANIFEST, W.accept_env.payload, [W.release])
    envs = [statement_as_manifest, W.checkin_env]
    refused("payload_type", f"expected {STATEMENT}", lambda: verify_statements(
        W.keyring, W.manifest, envs, W.enrollment, W.index))  # fmt: skip
    refused("payload_type", f"type {KEYRING}", lambda: update_keyring(
        W.keyring, Envelope(MANIFEST, W.keyring_env.payload, W.keyring_env.signatures), NOW,
        final=True))  # fmt: skip
    # A DSSE envelope of the checkpoint body is not a signed note.
    as_envelope = sign(STATUS, W.checkpoint.to_payload(), [W.log_key]).to_bytes()
    refused("note", "no blank line", lambda: verify_checkpoint(
        W.keyring, as_envelope, origin=REPO))  # fmt: skip


def test_manifest_digest_wrong_while_its_signature_is_valid() -> None:
    wrong = replace(FILES[0], sha256="0" * 64)
    refused("hash", f"has sha256 {FILES[0].sha256}, the signed manifest says {'0' * 64}",
            lambda: check_download(FILES[0].sha256, FILES[0].size, wrong))  # fmt: skip


# -- malformed documents -------------------------------------------------------------------


def resign(payload: bytes) -> Envelope:
    return sign(MANIFEST, payload, [W.release])


def named(env: Envelope) -> Callable[[], object]:
    """Verify ``env`` as the manifest a (validly signed) status names: only parsing is left."""
    return manifest_check(env, status=replace(W.status, manifest_sha256=env.payload_sha256()))


def test_duplicate_keys_floats_and_non_canonical_bytes_in_signed_payloads() -> None:
    text = W.manifest.to_payload().decode()
    duplicate = resign(text.replace('{"_type"', '{"group":"evil","_type"', 1).encode())
    refused("canonical", "the key 'group' appears twice", named(duplicate))
    floating = resign(text.replace('"library_number":17', '"library_number":17.0').encode())
    refused("canonical", "not an integer", named(floating))
    spaced = resign(json.dumps(json.loads(text), sort_keys=True).encode())
    refused("canonical", "not in canonical form", named(spaced))
    escaped = resign(json.dumps(json.loads(text), sort_keys=True, separators=(",", ":")).encode())
    assert escaped.payload == W.manifest.to_payload()  # ASCII only: the same bytes
    garbage = resign(b"{not json")
    refused("canonical", "not valid JSON", named(garbage))


def test_non_nfc_strings() -> None:
    payload = W.manifest.to_payload().replace(b'"payments"', '"paye\u0301"'.encode())
    refused("canonical", "not in Unicode normal form NFC", named(resign(payload)))


def test_unknown_type_or_spec_version() -> None:
    obj = json.loads(W.manifest.to_payload())
    for field, value, fragment in (
        ("_type", "depot.release", "is a 'depot.release', not a 'depot.manifest'"),
        ("spec_version", "2", "spec_version '2'"),
    ):
        changed = canonical_bytes({**obj, field: value})
        refused("document", fragment, lambda c=changed: Manifest.from_payload(c))  # type: ignore[misc]


# -- workflow --------------------------------------------------------------------------------


def chain(*statements: tuple[Statement, list[Any]]) -> tuple[Manifest, list[Envelope]]:
    envs, prev = [], None
    for statement, signers in statements:
        env = sign(STATEMENT, replace(statement, prev=prev).to_payload(), signers)
        envs.append(env)
        prev = env.payload_sha256()
    return replace(W.manifest, statements=tuple(e.payload_sha256() for e in envs)), envs


ACCEPT = W.statement("accept", "olga", "acceptance_officer")
CHECKIN = W.statement("checkin.approve", "vic", "version_manager", attestation="personal")


def test_an_approval_replayed_onto_another_version() -> None:
    other_version = replace(W.subject, version="1.1.0")
    replayed = replace(CHECKIN, subject=other_version)
    manifest, envs = chain((ACCEPT, [W.release]), (replayed, [W.vic_key]))
    refused("subject", "is about acme/app@1.1.0", lambda: verify_statements(
        W.keyring, manifest, envs, W.enrollment, W.index))  # fmt: skip


def test_an_approval_of_other_bytes_under_the_same_names() -> None:
    swapped = replace(W.subject, files={**W.subject.files, FILES[0].name: "0" * 64})
    manifest, envs = chain((replace(ACCEPT, subject=swapped), [W.release]), (CHECKIN, [W.vic_key]))
    refused("subject", "has other bytes for app-1.2.0.tar.gz", lambda: verify_statements(
        W.keyring, manifest, envs, W.enrollment, W.index))  # fmt: skip


def test_one_person_in_two_roles() -> None:
    vic_accepts = replace(ACCEPT, actor="vic")
    manifest, envs = chain((vic_accepts, [W.release]), (CHECKIN, [W.vic_key]))
    refused("four_eyes", "vic accepted acme/app@1.2.0 and also approved its check-in",
            lambda: statements_of(manifest, envs))  # fmt: skip


def test_self_approval_by_the_uploader() -> None:
    manifest, envs = chain((replace(ACCEPT, actor="dev"), [W.release]), (CHECKIN, [W.vic_key]))
    refused("four_eyes", "dev uploaded files to acme/app@1.2.0 and also accepted it",
            lambda: statements_of(manifest, envs))  # fmt: skip


def test_check_in_before_acceptance() -> None:
    manifest, envs = chain((CHECKIN, [W.vic_key]), (ACCEPT, [W.release]))
    refused("statements", "do not end in a check-in approval", lambda: verify_statements(
        W.keyring, manifest, envs, W.enrollment, W.index))  # fmt: skip


def test_an_approval_deleted_or_reordered() -> None:
    refused("statements", "names 2 approval statements, 1 were given", lambda: verify_statements(
        W.keyring, W.manifest, W.statements[1:], W.enrollment, W.index))  # fmt: skip
    refused("statements", "approval statement 1 of acme/app@1.2.0 has sha256",
            lambda: verify_statements(W.keyring, W.manifest, W.statements[::-1],
                                      W.enrollment, W.index))  # fmt: skip


def statements_of(manifest: Manifest, envs: list[Envelope]) -> Any:
    return verify_statements(W.keyring, manifest, envs, W.enrollment, W.index)


def test_a_personal_signature_by_someone_else_or_a_forged_certificate() -> None:
    manifest, envs = chain((ACCEPT, [W.release]), (CHECKIN, [W.olga_key]))
    refused("signature", "not signed with an enrolled key of vic", lambda: verify_statements(
        W.keyring, manifest, envs, W.enrollment, W.index))  # fmt: skip
    mallory = key(70)
    manifest, envs = chain((ACCEPT, [W.release]), (CHECKIN, [mallory]))
    refused("signature", "signed neither by the release key nor by an enrolled", lambda: (
        verify_statements(W.keyring, manifest, envs, W.enrollment, W.index)))  # fmt: skip
    # A document enrolling mallory as vic, signed by anyone but the enrolment officers.
    forged = W.enrolled(("vic", mallory))
    for signers in ([mallory], [W.release], [W.roots[0], W.roots[1]], W.enrollers[:1]):
        env = W.sign_enrollment(forged, signers)
        refused("threshold", "by enrollment keys",
                lambda env=env: verify_enrollment(W.keyring, env, now=NOW))  # fmt: skip


def test_server_attestation_where_a_personal_signature_is_required() -> None:
    manifest, envs = chain((ACCEPT, [W.release]), (replace(CHECKIN, attestation="server"),
                                                   [W.release]))  # fmt: skip
    refused("signature", "needs a check-in approval signed with the approver's personal key",
            lambda: statements_of(manifest, envs))  # fmt: skip


# -- freshness -------------------------------------------------------------------------------


def test_expired_status_including_exactly_now() -> None:
    refused("expired", "status for acme/app@1.2.0 expired at 2026-11-28T10:00:00Z",
            status_check(W.signed_status(expires=NOW)))  # fmt: skip
    refused("expired", "expired at 2026-11-28T09:59:59Z",
            status_check(W.signed_status(expires=NOW - timedelta(seconds=1))))  # fmt: skip
    refused("expired", "status for acme/app@1.2.0 expired at 2026-11-28T10:10:00Z",
            bundle(now=NOW + timedelta(minutes=10)))  # fmt: skip


def test_status_serial_rolled_back_or_equal_with_other_content() -> None:
    refused("rollback", "status serial 5 of acme/app@1.2.0 is older than serial 9",
            status_check(W.status_env, trusted_serial=9))  # fmt: skip
    other = W.signed_status(reason="re-signed")
    refused("rollback", "carries serial 5, already seen with other content",
            status_check(other, trusted_serial=5,
                         trusted_payload_sha256=W.status_env.payload_sha256()))  # fmt: skip


def test_expired_status_that_also_rolls_back() -> None:
    old = W.signed_status(serial=2, expires=NOW - timedelta(days=3))
    refused("rollback", "older than serial 5", status_check(old, trusted_serial=5))


def test_a_status_for_another_version() -> None:
    other = W.signed_status(version="1.1.0")
    refused("subject", "the status is about acme/app@1.1.0", status_check(other))


def test_a_quarantined_version_from_a_stale_offline_bundle() -> None:
    blocked = W.signed_status(state="quarantined", reason="withdrawn by security", serial=6,
                              expires=NOW - timedelta(days=1))  # fmt: skip
    refused("state", "acme/app@1.2.0 is quarantined: withdrawn by security",
            bundle(status=blocked, stale=timedelta(days=2)))  # fmt: skip


ONLINE2 = {"release": key(13), "status": key(14), "log": key(15)}


def keyring_env(version: int, signers: list[Any], **kw: Any) -> Envelope:
    return sign_keyring(make_keyring(version, W.roots, 2, ONLINE2, **kw), signers)


def test_keyring_skipping_a_version_or_repeating_one() -> None:
    skipping, same = keyring_env(3, W.roots), keyring_env(1, W.roots)
    refused("keyring_version", "expected keyring version 2 after 1, got version 3",
            lambda: update_keyring(W.keyring, skipping, NOW, final=True))  # fmt: skip
    refused("keyring_version", "got version 1",
            lambda: update_keyring(W.keyring, same, NOW, final=True))  # fmt: skip


def test_keyring_lacking_the_old_or_the_new_roots_threshold() -> None:
    refused("threshold", "needs 2 valid signatures by keyring 1 root keys, found 1",
            lambda: update_keyring(W.keyring, keyring_env(2, W.roots[:1]), NOW,
                                   final=True))  # fmt: skip
    new_roots = [key(80), key(81), key(82)]
    only_old = sign_keyring(make_keyring(2, new_roots, 2, ONLINE2), [*W.roots, new_roots[0]])
    refused("threshold", "needs 2 valid signatures by keyring 2 root keys, found 1",
            lambda: update_keyring(W.keyring, only_old, NOW, final=True))  # fmt: skip


def test_expired_intermediate_keyring_passes_expired_final_fails() -> None:
    envs = [
        keyring_env(2, W.roots, expires=NOW - timedelta(days=1)),
        keyring_env(3, W.roots),
    ]
    assert walk_keyrings(W.keyring, envs, NOW).version == 3
    refused("expired", "keyring version 2 of https://depot.bank.example expired at",
            lambda: walk_keyrings(W.keyring, envs[:1], NOW))  # fmt: skip


def test_too_many_keyring_hops() -> None:
    envs = [keyring_env(v, W.roots) for v in range(2, 36)]
    refused("keyring_version", "34 keyring versions to follow; at most 32",
            lambda: walk_keyrings(W.keyring, envs, NOW))  # fmt: skip


def test_a_first_keyring_that_is_not_the_pinned_one() -> None:
    impostor = World(roots=[key(90), key(91), key(92)])
    refused("fingerprint", f"not the pinned {W.fingerprint}",
            bundle(keyrings=(impostor.keyring_env,)))  # fmt: skip


# -- log proofs ------------------------------------------------------------------------------

LEAF, IDX, N, ROOT = W.leaves[W.index], W.index, len(W.leaves), W.checkpoint.root
EXPECT = checkin_expectation(GROUP, PRODUCT, VERSION, W.manifest_env.payload_sha256())


LEADS = "leads to root"


HOSTILE_PROOFS = [
        ("changed node", LEAF, IDX, N, [W.proof[0], flip(W.proof[1], 31), *W.proof[2:]], ROOT,
         "for leaf 6 of 11 " + LEADS),
        ("inserted node", LEAF, IDX, N, [*W.proof[:1], bytes(32), *W.proof[1:]], ROOT,
         "for leaf 6 of 11 is too long"),
        ("removed node", LEAF, IDX, N, W.proof[1:], ROOT, "for leaf 6 of 11 is too short"),
        ("index + 1", LEAF, IDX + 1, N, W.proof, ROOT, "for leaf 7 of 11 " + LEADS),
        ("index - 1", LEAF, IDX - 1, N, W.proof, ROOT, "for leaf 5 of 11 " + LEADS),
        ("size x 2", LEAF, IDX, 2 * N, W.proof, ROOT, "for leaf 6 of 22 is too short"),
        ("size / 2", LEAF, IDX, N // 2, W.proof, ROOT, "leaf 6 is not in a tree of 5 leaves"),
        ("wrong leaf", W.leaves[IDX + 1], IDX, N, W.proof, ROOT, "for leaf 6 of 11 " + LEADS),
        ("empty root", LEAF, IDX, N, W.proof, EMPTY_ROOT, "not the signed root"),
        ("random root", LEAF, IDX, N, W.proof, leaf_hash(b"random"), "not the signed root"),
        ("garbage before", LEAF, IDX, N, [bytes(32), *W.proof], ROOT, "is too long"),
        ("garbage after", LEAF, IDX, N, [*W.proof, bytes(32)], ROOT, "is too long"),
        ("short node", LEAF, IDX, N, [W.proof[0][:31], *W.proof[1:]], ROOT, "proof node 0"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "leaf", "index", "size", "proof", "root", "fragment"),
    HOSTILE_PROOFS,
    ids=[case[0] for case in HOSTILE_PROOFS],
)
def test_hostile_inclusion_proofs(
    name: str, leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes, fragment: str
) -> None:
    refused("inclusion", fragment, lambda: verify_inclusion(leaf, index, size, proof, root))


def test_inclusion_against_a_checkpoint_with_the_wrong_root() -> None:
    wrong = replace(W.checkpoint, root=leaf_hash(b"other"))
    refused("inclusion", "not the signed root", lambda: verify_inclusion_of(
        W.records[IDX], IDX, N, W.proof, wrong, expect=EXPECT))  # fmt: skip


def test_a_valid_log_entry_for_another_artifact() -> None:
    other = W.records[IDX - 1]
    proof = inclusion_proof(IDX - 1, W.leaves)
    expect = EXPECT
    verify_inclusion(leaf_hash(other), IDX - 1, N, proof, W.checkpoint.root)  # a valid entry
    refused("inclusion", 'its action is "upload", expected "checkin.approve"',
            lambda: verify_inclusion_of(other, IDX - 1, N, proof, W.checkpoint,
                                        expect=expect))  # fmt: skip
    assert parse_canonical(other)["target"] != f"{GROUP}/{PRODUCT}@{VERSION}"
    same_action = World()
    same_action.records[IDX - 1] = same_action.record(IDX - 1, target="acme/app@1.1.0")
    leaves = [leaf_hash(r) for r in same_action.records]
    cp = Checkpoint(REPO, N, root_hash(leaves))
    refused("inclusion", 'its target is "acme/app@1.1.0", expected "acme/app@1.2.0"',
            lambda: verify_inclusion_of(same_action.records[IDX - 1], IDX - 1, N,
                                        inclusion_proof(IDX - 1, leaves), cp,
                                        expect=expect))  # fmt: skip


def test_a_shrinking_checkpoint_and_two_roots_for_one_size() -> None:
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(120)]
    old = Checkpoint(REPO, 120, root_hash(leaves))
    new = Checkpoint(REPO, 100, root_hash(leaves[:100]))
    refused("consistency", "the log shrank from 120 to 100 entries",
            lambda: check_log_growth(old, new, []))  # fmt: skip
    fork = Checkpoint(REPO, 120, root_hash([*leaves[:119], leaf_hash(b"rewritten")]))
    refused("consistency", "two different roots for the same 120 entries",
            lambda: check_log_growth(old, fork, []))  # fmt: skip
    grown = [*leaves[:119], leaf_hash(b"rewritten"), leaf_hash(b"new")]
    refused("consistency", "does not lead to the old root of 120 entries",
            lambda: check_log_growth(old, Checkpoint(REPO, 121, root_hash(grown)),
                                     consistency_proof(120, grown)))  # fmt: skip


def test_bad_checkpoint_signature_or_body() -> None:
    flipped = flip(W.checkpoint_note, len(REPO) + 1)  # the size, under the log's signature
    refused("note", "is not valid", lambda: verify_checkpoint(W.keyring, flipped, origin=REPO))
    for body, fragment in (
        (b"\n11\n" + base64.b64encode(ROOT) + b"\n", "origin '' is not a name"),
        (REPO.encode() + b"\n\n" + base64.b64encode(ROOT) + b"\n", "size '' is not a decimal"),
        (REPO.encode() + b"\n11\n", "exactly three lines"),
    ):
        note = sign_note(body, REPO, W.log_key).to_bytes()
        refused("document", fragment, lambda n=note: verify_checkpoint(W.keyring, n, origin=REPO))  # type: ignore[misc]


# -- transport and names -----------------------------------------------------------------------


def test_right_hash_under_the_wrong_file_name_and_the_reverse() -> None:
    whl = FILES[1]
    refused("hash", f"app-1.2.0.tar.gz has sha256 {whl.sha256}",
            bundle(sha256_actual=whl.sha256, size_actual=FILES[0].size))  # fmt: skip
    refused("name", "acme/app@1.2.0 has no file named 'app-1.2.1.whl'",
            bundle(filename="app-1.2.1.whl", sha256_actual=whl.sha256,
                   size_actual=whl.size))  # fmt: skip


def test_truncated_or_oversized_download() -> None:
    refused("size", "app-1.2.0.tar.gz is truncated: 512 of 1000 signed bytes arrived",
            bundle(size_actual=512))  # fmt: skip
    refused("size", "app-1.2.0.tar.gz is larger than the 1000 signed bytes (1001)",
            bundle(size_actual=1001))  # fmt: skip


@pytest.mark.parametrize(
    "name", ["../a", ".", "..", "/", "/etc/passwd", "C:\\x", "a\x00b", "a\x07b", "e\u0301",
             "x" * 256, "CON"],
)  # fmt: skip
def test_unsafe_file_names(name: str) -> None:
    with pytest.raises(TrustError) as info:
        bundle(filename=name)()
    assert info.value.check == "name"
    assert "file name" in str(info.value)
