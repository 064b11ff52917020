"""The enrolment document: person keys and personal-signature rules under an offline role.

The attacker here holds everything the server holds (its three online keys, its database):
they can sign manifests, statements, statuses and checkpoints, but not an enrolment
document, so they can neither enrol a key of their own in someone's name, nor lift a
group's rule, nor undo a revocation, nor move a forged check-in before a rule began.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from policies.trust.approvals import verify_statements
from policies.trust.documents import Checkpoint
from policies.trust.dsse import ENROLLMENT, MANIFEST, STATEMENT, Envelope, sign
from policies.trust.enrollment import (
    EnrolledKey,
    Enrollment,
    PersonalRule,
    check_enrollment_log,
    verify_enrollment,
)
from policies.trust.errors import TrustError
from policies.trust.merkle import consistency_proof, root_hash
from policies.trust.verify import verify_bundle
from tests.policies.trust.factory import NOW, REPO, World, key, kid, make_keyring

W = World()


def refused(check: str, match: str, fn: Any, *args: Any, **kwargs: Any) -> TrustError:
    with pytest.raises(TrustError, match=match) as info:
        fn(*args, **kwargs)
    assert info.value.check == check, info.value
    return info.value


def edit(payload: bytes, **changes: Any) -> bytes:
    obj = json.loads(payload)
    obj.update(changes)
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def test_the_payload_round_trips_and_has_one_form() -> None:
    payload = W.enrollment.to_payload()
    obj = json.loads(payload)
    assert obj["_type"] == "depot.enrollment" and obj["version"] == 3
    assert obj["log"] == {"size": 5, "root": base64.b64encode(W.enrollment.log_root).decode()}
    assert [k["actor"] for k in obj["keys"]] == [k.actor for k in W.enrollment.keys]
    assert obj["personal"] == [{"group": "acme", "since": 2}]
    assert Enrollment.from_payload(payload) == W.enrollment
    keys = W.enrollment.keys
    refused("document", "sorted by key id", replace(W.enrollment, keys=keys[::-1]).to_payload)
    refused("document", "each key once", replace(W.enrollment, keys=keys[:1] * 2).to_payload)
    twice = (PersonalRule("a", 0), PersonalRule("a", 1))
    refused("document", "each group once", replace(W.enrollment, personal=twice).to_payload)
    unsorted = (PersonalRule("b", 0), PersonalRule("a", 1))
    refused("document", "sorted by group", replace(W.enrollment, personal=unsorted).to_payload)
    beyond = (PersonalRule("acme", 6),)
    refused("document", "beyond the 5 it saw", replace(W.enrollment, personal=beyond).to_payload)
    late = replace(keys[0], revoked_from=9)
    refused("document", "beyond the 5", replace(W.enrollment, keys=(late, keys[1])).to_payload)
    refused("document", "'version' must be 1 or more", replace(W.enrollment, version=0).to_payload)
    refused("document", "'root' must be the base64 of 32 bytes",
            replace(W.enrollment, log_root=b"x" * 31).to_payload)  # fmt: skip
    refused("document", "lacks the field", Enrollment.from_payload, edit(payload, log={"size": 1}))
    wrong_id = {**obj["keys"][0], "keyid": kid(key(99))}
    refused("key", "not its key's own id", Enrollment.from_payload,
            edit(payload, keys=[wrong_id, obj["keys"][1]]))  # fmt: skip
    bad_revocation = [{**obj["keys"][0], "revoked_from": "1"}, obj["keys"][1]]
    refused("document", "'revoked_from' must be a whole number", Enrollment.from_payload,
            edit(payload, keys=bad_revocation))  # fmt: skip
    refused("document", "'since' must be a whole number", Enrollment.from_payload,
            edit(payload, personal=[{"group": "acme", "since": "0"}]))  # fmt: skip
    refused("document", "not a 'depot.enrollment'", Enrollment.from_payload,
            edit(payload, _type="depot.keyring"))  # fmt: skip


def test_keys_and_rules_are_read_at_the_check_ins_log_index() -> None:
    vic = next(k for k in W.enrollment.keys if k.actor == "vic")
    revoked = replace(vic, revoked_from=4)
    assert revoked.counts_for(3) and not revoked.counts_for(4)
    enrollment = replace(
        W.enrollment,
        keys=tuple(revoked if k is vic else k for k in W.enrollment.keys),
    )
    assert vic.keyid in enrollment.keys_for(3) and vic.keyid not in enrollment.keys_for(4)
    assert enrollment.key(vic.keyid) == revoked and enrollment.key("0" * 64) is None
    assert W.enrollment.requires_personal("acme", 2)
    assert not W.enrollment.requires_personal("acme", 1)
    assert not W.enrollment.requires_personal("other", 9)


def test_verify_enrollment() -> None:
    assert verify_enrollment(W.keyring, W.enrollment_env, now=NOW) == W.enrollment
    # A threshold of the enrolment officers, nobody else: not the server, not the roots.
    for signers in ([W.release], W.roots[:2], W.enrollers[:1], [key(99)]):
        refused("threshold", "by enrollment keys", verify_enrollment, W.keyring,
                W.sign_enrollment(W.enrollment, signers), now=NOW)  # fmt: skip
    as_manifest = Envelope(MANIFEST, W.enrollment_env.payload, W.enrollment_env.signatures)
    refused("payload_type", "expected a document of type", verify_enrollment, W.keyring,
            as_manifest, now=NOW)  # fmt: skip
    elsewhere = W.sign_enrollment(replace(W.enrollment, repository="https://other.example"))
    refused("subject", "is for https://other.example", verify_enrollment, W.keyring, elsewhere,
            now=NOW)  # fmt: skip
    # Rollback: an older version, or the same version with other content.
    seen = W.enrollment_env.payload_sha256()
    assert verify_enrollment(
        W.keyring, W.enrollment_env, now=NOW, trusted_version=3, trusted_payload_sha256=seen
    )
    refused("rollback", "version 3 is older than version 4", verify_enrollment, W.keyring,
            W.enrollment_env, now=NOW, trusted_version=4)  # fmt: skip
    other = "0" * 64
    refused("rollback", "already seen with other content", verify_enrollment, W.keyring,
            W.enrollment_env, now=NOW, trusted_version=3, trusted_payload_sha256=other)  # fmt: skip
    refused("rollback", "already seen with other content", verify_enrollment, W.keyring,
            W.enrollment_env, now=NOW, trusted_version=3)  # fmt: skip
    newer = W.sign_enrollment(replace(W.enrollment, version=4))
    assert verify_enrollment(W.keyring, newer, now=NOW, trusted_version=3).version == 4
    # Expiry (exactly now is expired), unless an archive is being verified.
    at_expiry = W.enrollment.expires
    refused("expired", "officers must sign a new one", verify_enrollment, W.keyring,
            W.enrollment_env, now=at_expiry)  # fmt: skip
    assert verify_enrollment(W.keyring, W.enrollment_env, now=at_expiry, check_expiry=False)
    # A keyring without the role vouches for no personal key.
    bare = make_keyring(1, W.roots, 2, W.online)
    refused("keyring", "no enrollment role", verify_enrollment, bare, W.enrollment_env, now=NOW)


def test_the_log_must_extend_the_one_the_ceremony_saw() -> None:
    proof = [bytes.fromhex(h) for h in W.enrollment_proof()]
    check_enrollment_log(W.enrollment, W.checkpoint, proof)
    # A server showing a fresh client another history (same size, other entries).
    fork = Checkpoint(REPO, W.checkpoint.size, root_hash(W.leaves[::-1]))
    refused("consistency", "does not extend the one enrolment document version 3",
            check_enrollment_log, W.enrollment, fork, proof)  # fmt: skip
    shrunk = Checkpoint(REPO, 4, root_hash(W.leaves[:4]))
    refused("consistency", "shrank", check_enrollment_log, W.enrollment, shrunk, [])
    same = Checkpoint(REPO, W.SEAL, root_hash(W.leaves[: W.SEAL]))
    check_enrollment_log(W.enrollment, same, consistency_proof(W.SEAL, W.leaves[: W.SEAL]))


def _approvals(
    *signers: Any, enrollment: Enrollment | None = None, index: int | None = None
) -> Any:
    statement = Envelope.from_json(W.checkin_env.to_json())
    checkin = sign(STATEMENT, statement.payload, list(signers))
    return verify_statements(
        W.keyring,
        W.manifest,
        [W.accept_env, checkin],
        W.enrollment if enrollment is None else enrollment,
        W.index if index is None else index,
    )


def test_a_revoked_key_keeps_what_it_signed_before_and_signs_nothing_after() -> None:
    vic = next(k for k in W.enrollment.keys if k.actor == "vic")
    revoked = replace(
        W.enrollment,
        keys=tuple(replace(k, revoked_from=W.SEAL) if k is vic else k for k in W.enrollment.keys),
    )
    # The check-in is logged at index 6, after the revocation at 5: refused, and said why.
    refused("signature", "key of vic that was revoked from log entry 5 on", _approvals,
            W.vic_key, enrollment=revoked)  # fmt: skip
    # A check-in logged before the revocation still verifies.
    assert _approvals(W.vic_key, enrollment=revoked, index=W.SEAL - 1)[-1].actor == "vic"
    # An unenrolled key in vic's name is nobody's key.
    refused("signature", "nor by an enrolled personal key", _approvals, key(70))
    # Without an enrolment document (a keyring without the role) no personal key counts.
    with pytest.raises(TrustError, match="nor by an enrolled personal key"):
        verify_statements(W.keyring, W.manifest, W.statements, None, W.index)


def run(bundle: Any = None, **changes: Any) -> Any:
    args: dict[str, Any] = {
        "root_fingerprint": W.fingerprint,
        "group": "acme",
        "product": "app",
        "version": "1.2.0",
        "filename": "app-1.2.0.whl",
        "sha256_actual": W.manifest.file("app-1.2.0.whl").sha256,
        "size_actual": 5,
        "now": NOW,
    }
    args.update(changes)
    return verify_bundle(bundle or W.bundle(), **args)


def test_a_bundle_needs_the_enrolment_document_and_its_log_link() -> None:
    assert run().standing == "current"
    refused("bundle", "holds no enrolment document", run, W.bundle(enrollment=None))
    refused("consistency", "does not extend", run, W.bundle(enrollment_proof=()))
    rolled = W.sign_enrollment(W.enrolled(drop="vic"))
    refused("signature", "nor by an enrolled personal key", run, W.bundle(enrollment=rolled))
    # A keyring without the enrolment role and a bundle without the document: server
    # attestation only (an old deployment), but a personal statement cannot verify.
    old = World(enrollers=[])
    assert old.keyring.has_role("enrollment") is False
    refused("signature", "nor by an enrolled personal key", run, old.bundle(enrollment=None),
            root_fingerprint=old.fingerprint)  # fmt: skip
    server_only = World(enrollers=[], personal_checkin=False)
    assert run(server_only.bundle(enrollment=None), root_fingerprint=server_only.fingerprint)


def test_an_archived_bundle_verifies_years_later_as_archival() -> None:
    years = NOW + timedelta(days=3 * 365)
    refused("expired", "keyring version 1", run, now=years)
    archived = run(now=years, archival=True)
    assert archived.standing == "archival" and archived.statements[-1].actor == "vic"
    assert run(now=NOW, archival=True).standing == "current"
    stale = run(now=NOW + timedelta(hours=1), stale=timedelta(hours=24))
    assert stale.standing == "archival"
    # Archival never means unchecked: other bytes, a retired version, a forged approval fail.
    refused("hash", "signed manifest says", run, now=years, archival=True, sha256_actual="0" * 64)
    retired = W.signed_status(state="retired", serial=6)
    refused("state", "retired", run, W.bundle(status=retired), now=years, archival=True)
    refused("signature", "nor by an enrolled", run,
            W.bundle(enrollment=W.sign_enrollment(W.enrolled(drop="vic"))), now=years,
            archival=True)  # fmt: skip


def test_enrolled_key_reads_strictly() -> None:
    entry = EnrolledKey("vic", kid(key(20)), key(20).public_key())
    assert EnrolledKey.from_json(entry.to_json(), "k") == entry
    refused("document", "lacks", EnrolledKey.from_json, {"actor": "vic"}, "k")
    assert ENROLLMENT.endswith("enrollment.v1+json")
