"""The client's checks one by one: status, manifest, log, inclusion, download, whole bundle."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from policies.trust.documents import Checkpoint, Status
from policies.trust.dsse import STATUS, sign
from policies.trust.errors import TrustError
from policies.trust.merkle import consistency_proof, leaf_hash, root_hash
from policies.trust.note import sign_note
from policies.trust.verify import (
    check_download,
    check_log_growth,
    checkin_expectation,
    require_usable,
    safe_filename,
    verify_bundle,
    verify_checkpoint,
    verify_inclusion_of,
    verify_manifest,
    verify_status,
)
from tests.policies.trust.factory import (
    FILES,
    GROUP,
    NOW,
    PRODUCT,
    REF,
    REPO,
    VERSION,
    World,
    key,
)

W = World()
NAMES = {"group": GROUP, "product": PRODUCT, "version": VERSION}


def refused(check: str, match: str, fn, *args, **kwargs) -> TrustError:  # type: ignore[no-untyped-def]
    with pytest.raises(TrustError, match=match) as info:
        fn(*args, **kwargs)
    assert info.value.check == check, info.value
    return info.value


def status(env=W.status_env, **kw):  # type: ignore[no-untyped-def]
    args = {**NAMES, "now": NOW, "trusted_serial": None, **kw}
    return verify_status(W.keyring, env, **args)


# -- status --------------------------------------------------------------------------------


def test_status_verifies() -> None:
    assert status() == W.status
    assert status(trusted_serial=4, trusted_payload_sha256="0" * 64) == W.status
    assert status(trusted_serial=5, trusted_payload_sha256=W.status_env.payload_sha256())


def test_status_must_be_about_this_version_of_this_repository() -> None:
    refused("subject", "about acme/app@1.2.0 of .*, not acme/app@1.3.0", status, version="1.3.0")
    elsewhere = W.signed_status(repository="https://other.example")
    refused("subject", "of https://other.example", status, elsewhere)


def test_status_signed_by_the_status_role_only() -> None:
    by_release = sign(STATUS, W.status.to_payload(), [W.release])
    refused("threshold", "needs 1 valid signature by status keys, found 0", status, by_release)


def test_status_rollback() -> None:
    refused("rollback", "status serial 5 of acme/app@1.2.0 is older than serial 6", status,
            trusted_serial=6)  # fmt: skip
    refused("rollback", "carries serial 5, already seen with other content", status,
            trusted_serial=5, trusted_payload_sha256="0" * 64)  # fmt: skip
    refused("rollback", "already seen with other content", status, trusted_serial=5)


def test_status_expiry() -> None:
    expired = W.signed_status(expires=NOW)
    refused("expired", "status for acme/app@1.2.0 expired at 2026-11-28T10:00:00Z", status, expired)
    assert status(expired, stale=timedelta(seconds=1)).expires == NOW
    assert status(W.signed_status(expires=NOW + timedelta(seconds=1))).serial == 5


def test_expired_and_rolled_back_is_a_rollback_even_when_stale_is_allowed() -> None:
    old = W.signed_status(serial=3, expires=NOW - timedelta(days=1))
    refused("rollback", "older", status, old, trusted_serial=5, stale=timedelta(days=2))


def test_require_usable() -> None:
    require_usable(W.status)
    quarantined = replace(W.status, state="quarantined", reason="CVE-2026-1234 in libfoo")
    refused("state", "^acme/app@1.2.0 is quarantined: CVE-2026-1234 in libfoo$", require_usable,
            quarantined)  # fmt: skip
    refused(
        "state", "^acme/app@1.2.0 is retired$", require_usable, replace(W.status, state="retired")
    )


# -- manifest ------------------------------------------------------------------------------


def manifest(env=W.manifest_env, filename="app-1.2.0.whl", st=W.status, **kw):  # type: ignore[no-untyped-def]
    return verify_manifest(W.keyring, env, **{**NAMES, **kw}, filename=filename, status=st)


def test_manifest_verifies() -> None:
    found, entry = manifest()
    assert found == W.manifest and entry == FILES[1]


def test_manifest_must_be_the_one_the_status_names() -> None:
    other = sign(
        "application/vnd.depot.manifest.v1+json",
        replace(W.manifest, library_number=18).to_payload(),
        [W.release],
    )
    refused(
        "hash", "the manifest has sha256 .*, the status of acme/app@1.2.0 names", manifest, other
    )
    refused("subject", "the status given is of acme/app@1.2.0, not acme/app@1.3.0", manifest,
            version="1.3.0")  # fmt: skip


def test_manifest_must_name_this_version() -> None:
    other = replace(W.manifest, version="1.1.0")
    env = sign("application/vnd.depot.manifest.v1+json", other.to_payload(), [W.release])
    st = replace(W.status, manifest_sha256=env.payload_sha256())
    refused("subject", "the manifest is of acme/app@1.1.0 of .*, not acme/app@1.2.0", manifest,
            env, st=st)  # fmt: skip


def test_manifest_file_names() -> None:
    refused("name", "has no file named 'app.exe'", manifest, filename="app.exe")
    for bad in ("../app.whl", "/etc/passwd", "a\\b", ".", "..", "a\x00", "C:\\x"):
        refused("name", "invalid file name|file name is empty", manifest, filename=bad)
    assert safe_filename("ok.txt") == "ok.txt"


def test_manifest_signed_by_release_role_only() -> None:
    by_status = sign(
        "application/vnd.depot.manifest.v1+json", W.manifest.to_payload(), [W.status_key]
    )
    refused("threshold", "release keys", manifest, by_status)


# -- log -------------------------------------------------------------------------------


def test_checkpoint() -> None:
    assert verify_checkpoint(W.keyring, W.checkpoint_note, origin=REPO) == W.checkpoint
    # Signed by the log key under another name (origin): not a signature of this log.
    refused("threshold", "0 valid signature", verify_checkpoint,
            W.keyring, W.checkpoint_note, origin="other")  # fmt: skip
    other = sign_note(Checkpoint("other", 11, W.checkpoint.root).to_payload(), REPO, W.log_key)
    refused("subject", "of the log 'other', not 'https://depot.bank.example'", verify_checkpoint,
            W.keyring, other.to_bytes(), origin=REPO)  # fmt: skip
    by_release = sign_note(W.checkpoint.to_payload(), REPO, W.release).to_bytes()
    refused("threshold", "log keys", verify_checkpoint, W.keyring, by_release, origin=REPO)


def cp(n: int) -> Checkpoint:
    return Checkpoint(REPO, n, root_hash(W.leaves[:n]))


def test_log_growth() -> None:
    check_log_growth(None, cp(11), [])
    check_log_growth(cp(4), cp(11), consistency_proof(4, W.leaves))
    check_log_growth(cp(11), cp(11), [])
    refused(
        "consistency", "the log shrank from 11 to 4 entries", check_log_growth, cp(11), cp(4), []
    )
    forked = Checkpoint(REPO, 11, root_hash([*W.leaves[:10], leaf_hash(b"x")]))
    refused("consistency", "two different roots for the same 11", check_log_growth, cp(11),
            forked, [])  # fmt: skip
    refused("consistency", "new root", check_log_growth, cp(4), forked,
            consistency_proof(4, W.leaves))  # fmt: skip
    other = replace(cp(11), origin="other")
    refused("consistency", "of 'other', the stored one of", check_log_growth, cp(4), other, [])


EXPECT = checkin_expectation(GROUP, PRODUCT, VERSION, W.manifest_env.payload_sha256())


def include(record=None, index=None, proof=None, size=None, checkpoint=None, expect=EXPECT):  # type: ignore[no-untyped-def]
    verify_inclusion_of(
        W.records[W.index] if record is None else record,
        W.index if index is None else index,
        len(W.leaves) if size is None else size,
        W.proof if proof is None else proof,
        W.checkpoint if checkpoint is None else checkpoint,
        expect=expect,
    )


def test_inclusion_of_the_check_in() -> None:
    include()
    assert {
        "action": "checkin.approve",
        "outcome": "ok",
        "target": REF,
        "details": {"manifest_sha256": W.manifest_env.payload_sha256()},
    } == EXPECT


def test_inclusion_of_another_entry_fails_before_the_proof() -> None:
    refused("inclusion", 'its action is "upload", expected "checkin.approve"', include,
            record=W.records[5])  # fmt: skip
    other = W.record(W.index, target="acme/app@1.1.0")
    refused("inclusion", 'its target is "acme/app@1.1.0", expected "acme/app@1.2.0"', include,
            record=other)  # fmt: skip
    refused("inclusion", "its details.manifest_sha256 is", include,
            record=W.record(W.index, details={"manifest_sha256": "0" * 64}))  # fmt: skip
    refused("inclusion", "it has no details.manifest_sha256", include,
            record=W.record(W.index, details={}))  # fmt: skip
    refused("inclusion", 'its details is "x", not an object', include,
            record=W.record(W.index, details="x"))  # fmt: skip
    refused("inclusion", "it has no reviewer", include, expect={**EXPECT, "reviewer": "x"})
    refused("inclusion", 'its outcome is null, expected "ok"', include,
            record=W.record(W.index, outcome=None))  # fmt: skip
    refused("inclusion", "it records index 6", include, index=5,
            proof=[])  # fmt: skip
    refused("inclusion", 'its flag is true, expected 1', include,
            record=W.record(W.index, flag=True), expect={"flag": 1})  # fmt: skip


def test_inclusion_proof_and_size() -> None:
    refused("inclusion", "for a log of 12 entries, the checkpoint has 11", include, size=12)
    refused("inclusion", "leads to root", include, checkpoint=replace(W.checkpoint, root=bytes(32)))
    refused("canonical", "canonical form", include, record=b'{"a": 1}')


# -- download ------------------------------------------------------------------------------


def test_check_download() -> None:
    entry = FILES[0]
    check_download(entry.sha256, entry.size, entry)
    refused("size", "app-1.2.0.tar.gz is truncated: 999 of 1000 signed bytes arrived",
            check_download, entry.sha256, 999, entry)  # fmt: skip
    refused("size", "larger than the 1000 signed bytes \\(1001\\)", check_download,
            entry.sha256, 1001, entry)  # fmt: skip
    refused("hash", "app-1.2.0.tar.gz has sha256 0+, the signed manifest says", check_download,
            "0" * 64, 1000, entry)  # fmt: skip
    refused("hash", "has sha256 é", check_download, "é", 1000, entry)


# -- the whole bundle ------------------------------------------------------------------------


def run(bundle=None, **kw):  # type: ignore[no-untyped-def]
    args = {
        **NAMES,
        "root_fingerprint": W.fingerprint,
        "filename": FILES[0].name,
        "sha256_actual": FILES[0].sha256,
        "size_actual": FILES[0].size,
        "now": NOW,
        **kw,
    }
    return verify_bundle(W.bundle() if bundle is None else bundle, **args)


def test_bundle_verifies_offline() -> None:
    verified = run()
    assert verified.entry == FILES[0] and verified.manifest == W.manifest
    assert verified.status == W.status and verified.checkpoint == W.checkpoint
    assert [s.action for s in verified.statements] == ["accept", "checkin.approve"]
    assert verified.keyring == W.keyring


def test_bundle_with_a_rotated_keyring() -> None:
    from tests.policies.trust.factory import make_keyring, sign_keyring

    online = {"release": key(60), "status": key(61), "log": key(62)}
    k2 = make_keyring(2, W.roots, 2, online, enrollment=W.enrollers)
    env2 = sign_keyring(k2, W.roots[:2])
    world2 = World(release=key(60), status_key=key(61), log_key=key(62))
    bundle = world2.bundle(keyrings=(W.keyring_env, env2))
    assert run(bundle).keyring == k2
    refused("rotated_out", "which keyring 2 rotated out", run,
            W.bundle(keyrings=(W.keyring_env, env2)))  # fmt: skip
    # Signed by a key no keyring ever named: not "rotated out", just not enough signatures.
    stranger = World(release=key(70), status_key=key(71), log_key=key(72))
    refused("threshold", "valid signature", run, stranger.bundle(keyrings=(W.keyring_env, env2)))


def test_bundle_failures() -> None:
    refused("keyring_version", "holds no keyring", run, W.bundle(keyrings=()))
    refused("fingerprint", "not the pinned", run, root_fingerprint="0" * 64)
    refused("expired", "status for acme/app@1.2.0 expired", run, now=NOW + timedelta(hours=1))
    assert run(now=NOW + timedelta(hours=1), stale=timedelta(hours=1)).status == W.status
    quarantined = W.signed_status(state="quarantined", reason="withdrawn", serial=6)
    refused("state", "quarantined: withdrawn", run, W.bundle(status=quarantined),
            stale=timedelta(hours=1))  # fmt: skip
    refused("hash", "signed manifest says", run, sha256_actual="0" * 64)
    refused("size", "truncated", run, size_actual=10)
    refused("hash", "app-1.2.0.whl has sha256", run, filename=FILES[1].name, size_actual=5)
    refused("name", "no file named", run, filename="other.bin")
    refused("subject", "not acme/app@9.9.9", run, version="9.9.9")
    wrong_entry = {**W.inclusion(), "index": 5, "proof": [p.hex() for p in W.proof]}
    refused("inclusion", "not the one expected", run, W.bundle(inclusion=wrong_entry))
    refused("statements", "names 2 approval statements, 1",
            run, W.bundle(statements=W.statements[:1]))  # fmt: skip


def test_expired_keyring_fails_the_bundle() -> None:
    refused("expired", "keyring version 1", run, now=NOW + timedelta(days=400),
            stale=timedelta(days=30))  # fmt: skip
    assert isinstance(W.status, Status)


# -- the library index in the bundle ----------------------------------------------------------


def library_env(world: World = W, **changes):  # type: ignore[no-untyped-def]
    from policies.trust.library import LIBRARY, LibraryEntry, LibraryIndex

    entry = LibraryEntry(17, NAMES["version"], world.manifest_env.payload_sha256(), "checked_in")
    base = LibraryIndex(
        repository=W.keyring.repository,
        group=NAMES["group"],
        product=NAMES["product"],
        serial=3,
        issued=NOW - timedelta(minutes=5),
        expires=NOW + timedelta(minutes=10),
        versions=(entry,),
    )
    return sign(LIBRARY, replace(base, **changes).to_payload(), [world.status_key])


def test_a_bundle_carries_its_library_index() -> None:
    from policies.trust.bundle import Bundle
    from policies.trust.library import LibraryEntry

    bundle = W.bundle(library=library_env())
    verified = run(bundle)
    assert verified.library is not None and verified.library.serial == 3
    assert verified.standing == "current"
    assert Bundle.from_json(bundle.to_json()) == bundle  # it survives the file
    # A bundle made before the index travelled in it still verifies, without one.
    old = {k: v for k, v in W.bundle().to_json().items() if k != "library"}
    assert run(Bundle.from_json(old)).library is None
    # Listed with another manifest, not listed, stopped, another product, not by the
    # status role, expired: refused.
    other = LibraryEntry(17, NAMES["version"], "0" * 64, "checked_in")
    refused("hash", "the library index", run, W.bundle(library=library_env(versions=(other,))))
    elsewhere = LibraryEntry(18, "9.9.9", "0" * 64, "checked_in")
    refused("subject", "does not list", run, W.bundle(library=library_env(versions=(elsewhere,))))
    retired = LibraryEntry(17, NAMES["version"], W.manifest_env.payload_sha256(), "retired")
    refused("state", "retired in the library index", run,
            W.bundle(library=library_env(versions=(retired,))))  # fmt: skip
    refused("subject", "library index is of", run, W.bundle(library=library_env(product="zzz")))
    from policies.trust.library import LIBRARY

    forged = sign(LIBRARY, library_env().payload, [W.release])
    refused("threshold", "library index: needs 1 valid signature", run, W.bundle(library=forged))
    short = W.bundle(library=library_env(expires=NOW + timedelta(minutes=1)))
    refused("expired", "library index", run, short, now=NOW + timedelta(minutes=5))
    # As an archive, years later: no expiry is checked, and the standing says archival.
    archived = run(bundle, now=NOW + timedelta(days=3 * 365), archival=True)
    assert archived.standing == "archival" and archived.library is not None


def test_a_bundle_library_index_signed_by_a_rotated_out_key() -> None:
    from tests.policies.trust.factory import make_keyring, sign_keyring

    online = {"release": key(60), "status": key(61), "log": key(62)}
    k2 = make_keyring(2, W.roots, 2, online, enrollment=W.enrollers)
    env2 = sign_keyring(k2, W.roots[:2])
    world2 = World(release=key(60), status_key=key(61), log_key=key(62))
    stale_index = world2.bundle(keyrings=(W.keyring_env, env2), library=library_env(W))
    refused("rotated_out", "library index is signed by the status key of keyring 1", run,
            stale_index)  # fmt: skip
    fresh = world2.bundle(keyrings=(W.keyring_env, env2), library=library_env(world2))
    assert run(fresh).library is not None
