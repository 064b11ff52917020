"""Signed documents on the server: statements, manifests, status, personal keys, the log.

The client-side checks of the same documents are in tests/client; the rules themselves
(signatures, thresholds, proofs) in tests/policies/trust. Here: that the server writes
what a client will verify, refuses what it must, and that the log replay finds tampering.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policies.trust.documents import Checkpoint, Manifest, Statement, Status
from policies.trust.dsse import MANIFEST, STATEMENT, STATUS, Envelope, sign, verify
from policies.trust.enrollment import Enrollment, verify_enrollment
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring
from policies.trust.keys import keyid_of, public_text
from policies.trust.merkle import leaf_hash, verify_consistency, verify_inclusion
from policies.trust.verify import verify_checkpoint
from repo_server.errors import NotFound
from repo_server.trust.keystore import KeysUnavailable, OfflineChange
from repo_server.trust.replay import Replayer
from tests.repo_server.test_lifecycle import V, call, check_in, submit_and_accept
from tests.support import World

REF = "team/app@1.0.0"


def keyring_of(w: World) -> Keyring:
    env = Envelope.from_json(call(w, "alice", "GET", "/api/v1/trust/keyring/1"))
    return Keyring.from_payload(env.payload)


def role(w: World, name: str) -> tuple[dict, int]:  # type: ignore[type-arg]
    return keyring_of(w).role_keys(name)


def documents(w: World, who: str = "alice") -> dict:  # type: ignore[type-arg]
    return call(w, who, "GET", V + "/trust")  # type: ignore[no-any-return]


def test_a_check_in_signs_statements_a_manifest_and_a_status(lib: World) -> None:
    submit_and_accept(lib)
    approved = check_in(lib)
    docs = documents(lib)
    release, _ = role(lib, "release")
    manifest_env = Envelope.from_json(docs["manifest"])
    manifest = Manifest.from_payload(verify(manifest_env, MANIFEST, release, 1))
    assert (manifest.group, manifest.product, manifest.version) == ("team", "app", "1.0.0")
    assert approved["state"] == "approved"
    assert approved["details"]["library_number"] == 1
    assert approved["details"]["manifest_sha256"] == docs["manifest_sha256"]
    listed = call(lib, "bob", "GET", V)
    assert manifest.library_number == 1 == listed["library_number"]
    assert listed["manifest_sha256"] == manifest_env.payload_sha256()
    assert {f.name: f.sha256 for f in manifest.files} == {
        "app.tar.gz": hashlib.sha256(b"the build").hexdigest(),
        "manual.pdf": hashlib.sha256(b"%PDF").hexdigest(),
        "test-report.pdf": hashlib.sha256(b"all tests pass").hexdigest(),
    }
    assert manifest.requested_by == "alice"
    statements = [
        Statement.from_payload(verify(Envelope.from_json(s), STATEMENT, release, 1))
        for s in docs["statements"]
    ]
    assert [(s.action, s.actor, s.role, s.attestation) for s in statements] == [
        ("accept", "carol", "acceptance_officer", "server"),
        ("checkin.approve", "victor", "version_manager", "server"),
    ]
    assert statements[0].prev is None
    assert statements[1].prev == Envelope.from_json(docs["statements"][0]).payload_sha256()
    assert list(manifest.statements) == [
        Envelope.from_json(s).payload_sha256() for s in docs["statements"]
    ]
    status_keys, _ = role(lib, "status")
    status = Status.from_payload(verify(Envelope.from_json(docs["status"]), STATUS, status_keys, 1))
    assert status.state == "checked_in" and status.serial == 1
    assert status.manifest_sha256 == manifest_env.payload_sha256() == docs["manifest_sha256"]
    assert status.expires - status.issued == timedelta(seconds=900)
    # The check-in's log record names the manifest, and is a leaf of the signed log.
    record = base64.b64decode(docs["checkin_record"]["record"])
    assert (
        b'"action":"checkin.approve"' in record and manifest_env.payload_sha256().encode() in record
    )


def test_a_version_not_checked_in_has_no_documents_and_outsiders_see_nothing(lib: World) -> None:
    response = lib.call("GET", V + "/trust", lib.tokens["alice"])
    assert response.status_code == 404 and "not been checked in" in response.json["message"]
    submit_and_accept(lib)
    check_in(lib)
    hidden = lib.call("GET", V + "/trust", lib.tokens["dave"])
    missing = lib.call(
        "GET", "/api/v1/groups/nope/products/app/versions/1.0.0/trust", lib.tokens["dave"]
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json["error"] == missing.json["error"]


def test_the_status_is_re_signed_with_a_higher_serial_and_shows_a_retirement(lib: World) -> None:
    submit_and_accept(lib)
    check_in(lib)
    status_keys, _ = role(lib, "status")

    def status() -> Status:
        env = Envelope.from_json(call(lib, "alice", "GET", V + "/status"))
        return Status.from_payload(verify(env, STATUS, status_keys, 1))

    first = status()
    assert status().serial == first.serial  # still fresh: the same document
    lib.clock.advance(minutes=11)  # less than a third of 15 minutes left
    second = status()
    assert second.serial == first.serial + 1 and second.expires > first.expires
    call(lib, "victor", "POST", V + "/retire", {"reason": "superseded"})
    retired = status()
    assert retired.state == "retired" and retired.reason == "superseded"
    assert retired.serial == second.serial + 1


def test_personal_signatures_and_a_group_that_requires_them(lib: World) -> None:
    lib.user("root", roles=("admin",))
    rule = {"require_personal_checkin": True}
    assert (
        lib.call("PATCH", "/api/v1/groups/team", lib.tokens["alice"], json=rule).status_code == 403
    )
    assert call(lib, "root", "PATCH", "/api/v1/groups/team", rule)["require_personal_checkin"]
    assert lib.audit(action="group.update")[0]["details"] == rule
    submit_and_accept(lib)
    checkin = call(lib, "alice", "POST", V + "/checkin", {"release_notes": "notes"}, 201)
    approve = f"/api/v1/requests/{checkin['id']}/approve"
    # Without a personal signature (as the web pages would): refused, and audited.
    refused = lib.call("POST", approve, lib.tokens["victor"], json={"comment": "ok"})
    assert refused.status_code == 403 and refused.json["rule"] == "signature.personal_required"
    assert any(
        e["rule"] == "signature.personal_required" for e in lib.audit(action="checkin.approve")
    )
    # Victor registers his key and signs the statement the server expects.
    key = Ed25519PrivateKey.generate()
    registered = call(
        lib, "victor", "POST", "/api/v1/keys", {"public": public_text(key.public_key())}, 201
    )
    assert registered["enrolled"] is False
    to_sign = call(
        lib,
        "victor",
        "POST",
        f"/api/v1/requests/{checkin['id']}/statement",
        {"decision": "approve", "comment": "ok"},
    )
    payload = base64.b64decode(to_sign["payload"])
    # A statement signed for another comment does not match the decision: 400, nothing done.
    wrong = sign(STATEMENT, payload, [key]).to_json()
    # A registered key counts only once the enrolment officers have enrolled it.
    waiting = lib.call(
        "POST", approve, lib.tokens["victor"], json={"comment": "ok", "statement": wrong}
    )
    assert waiting.status_code == 400 and "no enrolled personal key" in waiting.json["message"]
    enroll(lib, users=["victor"])
    listed = call(lib, "victor", "GET", "/api/v1/keys")["keys"]
    assert listed[0]["enrolled"] and listed[0]["enrolled_version"] == 2
    mismatch = lib.call(
        "POST", approve, lib.tokens["victor"], json={"comment": "other", "statement": wrong}
    )
    assert mismatch.status_code == 400 and "does not match" in mismatch.json["message"]
    # Someone else's key: not valid for victor.
    stranger = sign(STATEMENT, payload, [Ed25519PrivateKey.generate()]).to_json()
    forged = lib.call(
        "POST", approve, lib.tokens["victor"], json={"comment": "ok", "statement": stranger}
    )
    assert forged.status_code == 400 and "not valid" in forged.json["message"]
    done = call(lib, "victor", "POST", approve, {"comment": "ok", "statement": wrong})
    assert done["state"] == "approved"
    docs = documents(lib)
    last = Statement.from_payload(Envelope.from_json(docs["statements"][-1]).payload)
    assert last.attestation == "personal" and last.actor == "victor"
    enrollment = Enrollment.from_payload(Envelope.from_json(docs["enrollment"]).payload)
    assert [k.actor for k in enrollment.keys] == ["victor"] and enrollment.version == 2


def test_the_log_proves_inclusion_and_consistency(lib: World) -> None:
    keyring = keyring_of(lib)

    def checkpoint() -> Checkpoint:
        note = call(lib, "alice", "GET", "/api/v1/log/checkpoint")["note"].encode()
        return verify_checkpoint(keyring, note, origin=keyring.repository)

    before = checkpoint()
    submit_and_accept(lib)
    check_in(lib)
    after = checkpoint()
    assert after.size > before.size
    proof = call(
        lib, "alice", "GET", f"/api/v1/log/proof/consistency?old={before.size}&new={after.size}"
    )
    verify_consistency(
        before.size, after.size, before.root, after.root, [bytes.fromhex(h) for h in proof["proof"]]
    )
    record = documents(lib)["checkin_record"]
    inclusion = call(
        lib,
        "alice",
        "GET",
        f"/api/v1/log/proof/inclusion?index={record['index']}&size={after.size}",
    )
    verify_inclusion(
        leaf_hash(base64.b64decode(record["record"])),
        record["index"],
        after.size,
        [bytes.fromhex(h) for h in inclusion["proof"]],
        after.root,
    )
    bad = lib.call(
        "GET", f"/api/v1/log/proof/inclusion?index=0&size={after.size + 5}", lib.tokens["alice"]
    )
    assert bad.status_code == 400
    # Whole records are for auditors.
    assert lib.call("GET", "/api/v1/log/entries/0", lib.tokens["alice"]).status_code == 403
    assert call(lib, "ivy", "GET", "/api/v1/log/entries/0")["index"] == 0


def test_replaying_the_log_finds_an_edited_row(lib: World) -> None:
    submit_and_accept(lib)
    check_in(lib)
    call(lib, "alice", "GET", "/api/v1/log/checkpoint")  # a signed checkpoint to check against
    clean = Replayer(lib.depot.db).run()
    assert clean.ok, clean.problems
    assert clean.entries > 10 and clean.checkpoints == 1 and clean.documents >= 4
    db = lib.depot.db
    with db.write() as session:
        session.execute(
            sa.text("UPDATE audit_events SET actor = 'mallory' WHERE action = 'checkin.approve'")
        )
    edited = Replayer(db).run()
    assert not edited.ok
    assert any("was edited" in p and "mallory" in p for p in edited.problems)


def test_replaying_the_log_finds_a_deleted_row(lib: World) -> None:
    submit_and_accept(lib)
    with lib.depot.db.write() as session:
        session.execute(sa.text("DELETE FROM audit_events WHERE action = 'file.upload'"))
    report = Replayer(lib.depot.db).run()
    assert any("is missing" in p for p in report.problems), report.problems


def test_replaying_the_log_finds_reordered_rows(lib: World) -> None:
    submit_and_accept(lib)
    from repo_server.audit.models import AuditEvent

    with lib.depot.db.write() as session:
        first, second = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "file.upload").order_by(AuditEvent.id)
        ).all()[:2]
        a, b = first.leaf_index, second.leaf_index
        for row, index in ((first, -1), (second, a), (first, b)):  # swap, one at a time
            row.leaf_index = index
            session.flush()
    report = Replayer(lib.depot.db).run()
    assert any("was edited" in p for p in report.problems), report.problems


def test_replaying_the_log_finds_a_rewritten_history(lib: World) -> None:
    """Someone with the database re-computes an edited record's hashes: the signed
    checkpoint still gives them away."""
    submit_and_accept(lib)
    call(lib, "alice", "GET", "/api/v1/log/checkpoint")
    from repo_server.audit.models import AuditEvent
    from repo_server.audit.services import leaf_bytes
    from repo_server.trust.models import LogNode

    with lib.depot.db.write() as session:
        row = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "acceptance.pass"))
        assert row is not None
        row.actor = "mallory"
        row.leaf = leaf_bytes(row)
        node = session.get(LogNode, (0, row.leaf_index))
        assert node is not None
        node.hash = leaf_hash(row.leaf)
    report = Replayer(lib.depot.db).run()
    assert any("history was rewritten" in p for p in report.problems), report.problems


def enroll(lib: World, **options: Any) -> Enrollment:
    """An enrolment ceremony with the officers' key the test keeps offline."""
    from repo_server.auth.principal import system

    with lib.depot.db.write() as session:
        return lib.depot.enrollment.publish(
            session, system(), lib.enrollment_keys, enroll_users=options.pop("users", ()), **options
        )


def rotate(lib: World, signers: list[Any] | None = None, **changes: Any) -> Keyring:
    """A root ceremony: the next keyring, and every document re-signed with its keys."""
    from repo_server.trust.rotation import resign_all

    with lib.depot.db.write() as session:
        current = lib.depot.keys.rotate(
            session, signers or lib.root_keys, lib.clock.now(), **changes
        )
        resign_all(session, lib.depot.keys, current.version)
    return current.keyring


def test_rotating_keys_keeps_old_documents_verifiable(lib: World) -> None:
    submit_and_accept(lib)
    check_in(lib)
    before = documents(lib)
    new_root = Ed25519PrivateKey.generate()
    keyring2 = rotate(
        lib,
        [*lib.root_keys, new_root],
        roots=OfflineChange(add=(new_root.public_key(),), threshold=2),
    )
    summary = call(lib, "alice", "GET", "/api/v1/trust/keyring")
    assert summary["version"] == 2
    env2 = Envelope.from_json(call(lib, "alice", "GET", "/api/v1/trust/keyring/2"))
    assert Keyring.from_payload(env2.payload) == keyring2
    old_roots, _ = role(lib, "root")
    new_roots, threshold = keyring2.role_keys("root")
    assert threshold == 2 and len(new_roots) == 2 and set(old_roots) < set(new_roots)
    verify(env2, "application/vnd.depot.keyring.v1+json", old_roots, 1)
    verify(env2, "application/vnd.depot.keyring.v1+json", new_roots, 2)
    # Every document of the version is signed by the new online keys, with the same
    # payloads (so every hash naming them still holds), and not by the old ones.
    after = documents(lib)
    release2, release1 = keyring2.role_keys("release")[0], role(lib, "release")[0]
    for name in ("manifest",):
        old, new = Envelope.from_json(before[name]), Envelope.from_json(after[name])
        assert old.payload == new.payload
        verify(new, MANIFEST, release2, 1)
        with pytest.raises(TrustError):
            verify(new, MANIFEST, release1, 1)
    for env in after["statements"]:
        verify(Envelope.from_json(env), STATEMENT, release2, 1)
    status_env = Envelope.from_json(after["status"])
    assert status_env.payload == Envelope.from_json(before["status"]).payload
    verify(status_env, STATUS, keyring2.role_keys("status")[0], 1)
    # The stored checkpoint (a signed note) carries the new log key's line, and a client
    # that only trusts keyring 2 accepts it; under keyring 1's log key it does not verify.
    note = call(lib, "alice", "GET", "/api/v1/log/checkpoint")["note"].encode()
    verify_checkpoint(keyring2, note, origin=keyring2.repository)
    with pytest.raises(TrustError):
        verify_checkpoint(keyring_of(lib), note, origin=keyring2.repository)
    # New status documents are signed by the new online keys too.
    lib.clock.advance(minutes=11)
    status_env = Envelope.from_json(call(lib, "alice", "GET", V + "/status"))
    verify(status_env, STATUS, keyring2.role_keys("status")[0], 1)
    assert Replayer(lib.depot.db).run().ok


def test_root_custody_is_kept_exactly_until_an_explicit_change(lib: World) -> None:
    """n roots with an m-of-n threshold survive any rotation signed by m of them."""
    r1, r2, r3 = (Ed25519PrivateKey.generate() for _ in range(3))
    ids = {keyid_of(k.public_key()) for k in (r1, r2, r3)}
    first = rotate(
        lib,
        [*lib.root_keys, r1, r2, r3],
        roots=OfflineChange(
            add=(r1.public_key(), r2.public_key(), r3.public_key()),
            remove=(keyid_of(lib.root_keys[0].public_key()),),
            threshold=2,
        ),
    )
    assert set(first.roles["root"].keyids) == ids and first.roles["root"].threshold == 2
    # Two of three sign a plain rotation: all three roots and 2-of-3 are kept.
    kept = rotate(lib, [r1, r2])
    assert set(kept.roles["root"].keyids) == ids and kept.roles["root"].threshold == 2
    kept = rotate(lib, [r2, r3])
    assert set(kept.roles["root"].keyids) == ids and kept.roles["root"].threshold == 2
    assert kept.roles["enrollment"] == first.roles["enrollment"]
    # One root alone cannot rotate.
    with pytest.raises(KeysUnavailable, match="need 2 signature"):
        rotate(lib, [r1])
    # An explicit change: r3 leaves, the threshold stays 2 of the remaining 2.
    smaller = rotate(lib, [r1, r2], roots=OfflineChange(remove=(keyid_of(r3.public_key()),)))
    assert len(smaller.roles["root"].keyids) == 2 and smaller.roles["root"].threshold == 2
    with pytest.raises(KeysUnavailable, match="threshold of 3"):
        rotate(lib, [r1, r2], roots=OfflineChange(threshold=3))
    with pytest.raises(KeysUnavailable, match="not a root key"):
        rotate(lib, [r1, r2], roots=OfflineChange(remove=("0" * 64,)))
    with pytest.raises(KeysUnavailable, match="already is a root key"):
        rotate(lib, [r1, r2], roots=OfflineChange(add=(r1.public_key(),)))
    with pytest.raises(KeysUnavailable, match="at least one root key"):
        rotate(lib, [r1, r2], roots=OfflineChange(remove=tuple(smaller.roles["root"].keyids)))
    # The new keyring must also be signed by a threshold of its own roots.
    newcomer = Ed25519PrivateKey.generate()
    with pytest.raises(KeysUnavailable, match="keyring 6 need 3"):
        rotate(lib, [r1, r2], roots=OfflineChange(add=(newcomer.public_key(),), threshold=3))
    grown = rotate(
        lib, [r1, r2, newcomer], roots=OfflineChange(add=(newcomer.public_key(),), threshold=3)
    )
    assert grown.version == 6 and grown.roles["root"].threshold == 3


def test_enrolment_and_revocation_reach_clients_in_signed_state(lib: World) -> None:
    key = Ed25519PrivateKey.generate()
    call(lib, "victor", "POST", "/api/v1/keys", {"public": public_text(key.public_key())}, 201)
    document = Envelope.from_json(call(lib, "alice", "GET", "/api/v1/trust/enrollment"))
    keyring = keyring_of(lib)
    assert verify_enrollment(keyring, document, now=lib.clock.now()).keys == ()
    enrolled = enroll(lib, users=["victor"], require_personal=["team"])
    assert enrolled.version == 2 and enrolled.personal[0].group == "team"
    assert call(lib, "alice", "GET", "/api/v1/groups/team")["require_personal_checkin"]
    keyid = keyid_of(key.public_key())
    revoked = enroll(lib, revoke=[keyid])
    entry = revoked.key(keyid)
    assert entry is not None and entry.revoked_from == revoked.log_size
    latest = Envelope.from_json(call(lib, "alice", "GET", "/api/v1/trust/enrollment"))
    assert verify_enrollment(keyring, latest, now=lib.clock.now()) == revoked
    # The ceremony is in the log, and the server's key folder cannot sign a document.
    assert sorted(e["target"] for e in lib.audit(action="enrollment.publish")) == [
        "enrollment:1",
        "enrollment:2",
        "enrollment:3",
    ]
    with pytest.raises(KeysUnavailable, match="cannot sign"), lib.depot.db.write() as session:
        from repo_server.auth.principal import system

        lib.depot.enrollment.publish(
            session, system(), [lib.depot.keys.private("release")], enroll_all=True
        )
    with pytest.raises(NotFound, match="registered no key"):
        enroll(lib, users=["nobody"])
    with pytest.raises(NotFound, match="group nope"):
        enroll(lib, require_personal=["nope"])


@pytest.mark.parametrize("build", [{"build_id": "b-42", "commit": "abc123"}])
def test_build_provenance_reaches_the_manifest(lib: World, build: dict[str, str]) -> None:
    query = "&".join(f"{k}={v}" for k, v in build.items())
    data = b"second artifact"
    response = lib.call(
        "PUT",
        V + f"/files/extra.bin?{query}",
        lib.tokens["bob"],
        data=data,
        headers={"X-Checksum-Sha256": hashlib.sha256(data).hexdigest()},
    )
    assert response.status_code == 201, response.json
    bad = lib.call(
        "PUT",
        V + "/files/other.bin?build_id=%0a",
        lib.tokens["bob"],
        data=data,
        headers={"X-Checksum-Sha256": hashlib.sha256(data).hexdigest()},
    )
    assert bad.status_code == 400
    submit_and_accept(lib)
    check_in(lib)
    manifest = Manifest.from_payload(Envelope.from_json(documents(lib)["manifest"]).payload)
    assert manifest.file("extra.bin").build == build


def test_replaying_the_log_finds_downloads_of_stopped_versions(lib: World) -> None:
    """Records a faulty server could have written: a download during a quarantine, and
    one of a retired version after a quarantine on it was released (a release ends the
    quarantine, never the retirement)."""
    from repo_server.auth.principal import system

    submit_and_accept(lib)
    check_in(lib)
    ref = "team/app@1.0.0"

    def append(action: str, target: str = ref) -> None:
        with lib.depot.db.write() as session:
            lib.depot.audit.record(session, system(), action, target=target, group="team")

    append("version.quarantine")
    append("file.download", ref + "/app.tar.gz")
    append("version.release")
    append("file.download", ref + "/app.tar.gz")  # fine: released
    append("version.retire")
    append("version.quarantine")
    append("version.release")
    append("file.download", ref + "/app.tar.gz")
    problems = [p for p in Replayer(lib.depot.db).run().problems if "downloaded after" in p]
    assert len(problems) == 2
    assert "downloaded after the version was quarantined" in problems[0]
    assert "downloaded after the version was retired" in problems[1]


def test_replaying_finds_an_enrolment_document_the_officers_did_not_sign(lib: World) -> None:
    """Someone with the database and the key folder swaps in an enrolment document signed
    by an online key (enrolling a key of their own): the replay names it."""
    from policies.trust.dsse import sign as sign_env
    from repo_server.trust.models import EnrollmentRecord

    assert Replayer(lib.depot.db).run().ok
    with lib.depot.db.write() as session:
        row = session.scalar(sa.select(EnrollmentRecord).where(EnrollmentRecord.version == 1))
        assert row is not None
        envelope = Envelope.from_bytes(row.envelope)
        row.envelope = sign_env(
            envelope.payload_type, envelope.payload, [lib.depot.keys.private("release")]
        ).to_bytes()
    problems = Replayer(lib.depot.db).run().problems
    assert any("enrolment document version 1 does not verify" in p for p in problems), problems
