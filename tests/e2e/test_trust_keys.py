"""Keys end to end (issue 10): personal approvals the server cannot forge, and rotations
that never break the past.

The attacker of the first test holds exactly what a compromised server holds: its key
folder (the three online keys), write access to its database and its bucket, and the
server's own code to drive them. They lack the enrolment officers' key, which never lived
on the server, and the version manager's personal key.
"""

from __future__ import annotations

import base64
import json
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from policies.trust.canonical import sha256_hex
from policies.trust.documents import Checkpoint, Manifest, Statement, Status, leaf_record
from policies.trust.dsse import MANIFEST, STATEMENT, STATUS, Envelope, sign
from policies.trust.enrollment import Enrollment
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring
from policies.trust.keys import private_from_pem
from policies.trust.merkle import consistency_proof, inclusion_proof, leaf_hash, root_hash
from policies.trust.note import sign_note
from policies.trust.verify import verify_status
from tests.e2e.conftest import BIN, Server
from tests.e2e.test_integrity import payments_team

REF = "payments/core@3.0.0"


def enrollment_key(server: Server) -> str:
    """The quick start's enrolment key: the officers would keep it offline."""
    return str(server.data_dir / "enrollment-keys" / "enrollment-1.pem")


def release(server: Server, tmp_path: Path, team: list[dict[str, str]], ref: str) -> Any:
    """Create the product, push, submit, accept and request the check-in of ``ref``."""
    alice, carol = team[0], team[1]
    product, version = ref.split("@")
    server.create_product(product, "--category", "application", "--origin", "in_house",
        env=alice,
    )  # fmt: skip
    build = tmp_path / f"{product.split('/')[1]}-{version}.tar.gz"
    build.write_bytes(f"release build {version} ".encode() * 500)
    server.depot("push", ref, str(build), "--create", env=alice)
    server.depot("submit", ref, "--to", "carol", env=alice)
    report = tmp_path / f"report-{version}.txt"
    report.write_text("all tests pass\n")
    server.depot("accept", ref, "--report", str(report), env=carol)
    return server.depot_json("checkin", "request", ref, "--notes", "GA", env=alice)


def attacker_depot(server: Server) -> Any:
    """The server's own services over its database, bucket and key folder."""
    from repo_server.core import build_depot
    from repo_server.settings import load_settings

    return build_depot(load_settings(server.env))


def test_the_server_cannot_forge_personal_approvals(server: Server, tmp_path: Path) -> None:
    team = payments_team(server, tmp_path)
    alice, _, victor = team
    request = release(server, tmp_path, team, REF)
    server.depot("keys", "generate", env=victor)
    # The enrolment officers enrol victor's key and make payments a personal group.
    enrolled = json.loads(
        server.admin(
            "--json", "keys", "enroll", "--enrollment-key", enrollment_key(server),
            "--user", "victor", "--require-personal", "payments",
        ).stdout
    )  # fmt: skip
    assert (
        enrolled["keys"][0]["actor"] == "victor" and enrolled["personal"][0]["group"] == "payments"
    )
    server.depot("approve", str(request["id"]), "--comment", "archived", env=victor)
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=alice)
    out = tmp_path / "out"
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)
    pulled = server.depot_json("pull", REF, "-o", str(out), "--bundle", env=alice)
    bundle = json.loads(Path(pulled["bundle"]).read_text())

    # ledger@1.0.0: accepted, its check-in requested, never approved by victor.
    second = release(server, tmp_path, team, "payments/ledger@1.0.0")
    depot = attacker_depot(server)
    from repo_server.auth.models import User
    from repo_server.groups.models import Group

    with depot.db.write() as session:
        # The database says the group needs no personal signature any more...
        group = session.scalar(sa.select(Group).where(Group.name == "payments"))
        group.require_personal_checkin = False
        victor_id = session.scalar(sa.select(User.id).where(User.username == "victor"))
    # ...and the server's own code approves in victor's name, with its online keys.
    as_victor = depot.auth.principal_for_user(victor_id, "127.0.0.1")
    depot.decisions.decide(as_victor, second["id"], approve=True, comment="forged")
    later = server.depot_json("checkout", "request", "payments/ledger@1.0.0", "--purpose", "x",
                              env=alice)  # fmt: skip
    depot.decisions.decide(as_victor, later["id"], approve=True)
    refused = server.depot(
        "pull", "payments/ledger@1.0.0", "-o", str(tmp_path / "forged"), env=alice, check=False
    )
    assert refused.returncode == 6, refused.stdout + refused.stderr
    assert "needs a check-in approval signed with the approver's personal key" in refused.stderr
    assert not (tmp_path / "forged" / "ledger-1.0.0.tar.gz").exists()

    # Offline: a bundle for bytes never uploaded, made with the key folder and the
    # database's log, for a client that pinned the root: refused too.
    forged = forge_bundle(server, depot, bundle, b"never uploaded " * 100)
    # Without the library index (an optional field: older bundles have none), so that what
    # stops the forgery is the approvals check, not the index that does not list it.
    forged.pop("library", None)
    bundle_file = tmp_path / "forged.bundle.json"
    bundle_file.write_text(json.dumps(forged))
    evil = tmp_path / "evil" / "core-3.0.0.tar.gz"
    evil.parent.mkdir()
    evil.write_bytes(b"never uploaded " * 100)
    offline = {**alice, "DEPOT_URL": "http://127.0.0.1:9"}
    verdict = server.depot("verify", str(evil), "--bundle", str(bundle_file), env=offline,
                           check=False)  # fmt: skip
    assert verdict.returncode == 6, verdict.stdout + verdict.stderr
    assert "needs a check-in approval signed with the approver's personal key" in verdict.stderr
    # An enrolment document the attacker signs (with any key of the folder) is refused.
    with_own = {
        **forged,
        "enrollment": sign_like(forged["enrollment"], online_key(server, "release")),
    }
    bundle_file.write_text(json.dumps(with_own))
    verdict = server.depot("verify", str(evil), "--bundle", str(bundle_file), env=offline,
                           check=False)  # fmt: skip
    assert verdict.returncode == 6 and "by enrollment keys" in verdict.stderr
    depot.close()


def online_key(server: Server, role: str) -> Any:
    return private_from_pem((server.data_dir / "keys" / f"1.{role}.pem").read_bytes(), None)


def sign_like(envelope: dict[str, Any], key: Any) -> dict[str, Any]:
    env = Envelope.from_json(envelope)
    return sign(env.payload_type, env.payload, [key]).to_json()


def forge_bundle(server: Server, depot: Any, real: dict[str, Any], data: bytes) -> dict[str, Any]:
    """Everything the online keys and the database can make for ``data``."""
    from repo_server.audit.models import AuditEvent

    release_key, status_key, log_key = (online_key(server, r) for r in ("release", "status", "log"))
    manifest = Manifest.from_payload(Envelope.from_json(real["manifest"]).payload)
    artifact = next(f for f in manifest.files if f.role == "artifact")
    files = tuple(
        replace(f, size=len(data), sha256=sha256_hex(data)) if f is artifact else f
        for f in manifest.files
    )
    subject_files = {f.name: f.sha256 for f in files}
    statements, prev = [], None
    for env in real["statements"]:
        old = Statement.from_payload(Envelope.from_json(env).payload)
        new = replace(
            old,
            subject=replace(old.subject, files=subject_files),
            prev=prev,
            attestation="server",
        )
        signed = sign(STATEMENT, new.to_payload(), [release_key])
        statements.append(signed)
        prev = signed.payload_sha256()
    forged = replace(
        manifest,
        files=files,
        statements=tuple(s.payload_sha256() for s in statements),
        require_personal_checkin=False,
    )
    manifest_env = sign(MANIFEST, forged.to_payload(), [release_key])
    now = datetime.now(UTC).replace(microsecond=0)
    status = Status(
        repository=manifest.repository, group=manifest.group, product=manifest.product,
        version=manifest.version, state="checked_in", manifest_sha256=manifest_env.payload_sha256(),
        serial=99, issued=now, expires=now + timedelta(minutes=15),
    )  # fmt: skip
    with depot.db.read() as session:
        leaves = [
            bytes(r)
            for r in session.scalars(sa.select(AuditEvent.leaf).order_by(AuditEvent.leaf_index))
        ]
    index = len(leaves)
    record = leaf_record(
        {
            "index": index, "action": "checkin.approve", "outcome": "ok", "actor": "victor",
            "target": manifest.ref, "details": {"manifest_sha256": manifest_env.payload_sha256()},
        }
    )  # fmt: skip
    hashes = [leaf_hash(leaf) for leaf in [*leaves, record]]
    checkpoint = Checkpoint(manifest.repository, len(hashes), root_hash(hashes))
    enrollment = Enrollment.from_payload(Envelope.from_json(real["enrollment"]).payload)
    return {
        **real,
        "manifest": manifest_env.to_json(),
        "statements": [s.to_json() for s in statements],
        "status": sign(STATUS, status.to_payload(), [status_key]).to_json(),
        # The log's checkpoint as the server's log key would sign it (a C2SP signed note).
        "checkpoint": sign_note(checkpoint.to_payload(), manifest.repository, log_key)
        .to_bytes()
        .decode(),
        "inclusion": {
            "index": index,
            "size": len(hashes),
            "proof": [h.hex() for h in inclusion_proof(index, hashes)],
            "record": base64.b64encode(record).decode(),
        },
        "enrollment_proof": [h.hex() for h in consistency_proof(enrollment.log_size, hashes)],
    }


def test_rotations_never_break_the_past(server: Server, tmp_path: Path) -> None:
    """Online keys rotated twice and the roots grown to 2 of 3 with a new threshold: the
    version checked in before verifies for a client that pinned before and one that pinned
    after, online and from a bundle fetched after them, which years later verifies as
    archival; a bundle made before them is refused (its keys were rotated out). A
    rotated-out key signs nothing a client accepts."""
    team = payments_team(server, tmp_path)
    alice, _, victor = team
    request = release(server, tmp_path, team, REF)
    server.depot("keys", "generate", env=victor)
    server.admin("keys", "enroll", "--enrollment-key", enrollment_key(server), "--all",
                 "--require-personal", "payments")  # fmt: skip
    server.depot("approve", str(request["id"]), env=victor)
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=alice)
    before = server.depot_json("pull", REF, "-o", str(tmp_path / "before"), "--bundle", env=alice)
    old_bundle = Path(before["bundle"])

    root1 = str(server.data_dir / "root-keys" / "root-1.pem")
    server.admin("keys", "generate-roots", str(tmp_path / "roots"), "--count", "2")
    r2, r3 = (str(tmp_path / "roots" / f"root-{n}.pem") for n in (1, 2))
    server.admin("keys", "rotate", "--root-key", root1)
    grown = json.loads(
        server.admin(
            "--json", "keys", "rotate", "--root-key", root1, "--add-root", r2, "--add-root", r3,
            "--threshold", "2",
        ).stdout
    )  # fmt: skip
    assert grown["version"] == 3 and grown["roles"]["root"]["threshold"] == 2
    assert len(grown["roles"]["root"]["keyids"]) == 3
    kept = json.loads(
        server.admin("--json", "keys", "rotate", "--root-key", r2, "--root-key", r3).stdout
    )
    assert kept["roles"]["root"] == grown["roles"]["root"]  # 2 of 3 kept, nothing dropped
    lone = subprocess.run([str(BIN / "depot-server"), "keys", "rotate", "--root-key", r3],
                          env=server.env, capture_output=True, text=True)  # fmt: skip
    assert lone.returncode != 0 and "need 2 signature" in lone.stderr

    # The client that pinned before follows three rotations and verifies the old version.
    again = server.depot_json("pull", REF, "-o", str(tmp_path / "after"), "--bundle", env=alice)
    assert again["signed"]["library_number"] == 1
    # A client that pins only now verifies it too.
    late = {**alice, "DEPOT_TRUST_DIR": str(tmp_path / "late-trust")}
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=late)
    server.depot_json("pull", REF, "-o", str(tmp_path / "late"), env=late)
    # Offline, the bundle made after the rotations verifies as current; the one made before
    # them is signed by online keys this client knows were rotated out: refused, as current
    # (issue 10, item 6) and as archival (item 2: a leaked retired key could sign it).
    offline = {**alice, "DEPOT_URL": "http://127.0.0.1:9"}
    artifact = tmp_path / "before" / "core-3.0.0.tar.gz"
    new_bundle = str(again["bundle"])
    current = server.depot_json("verify", str(artifact), "--bundle", new_bundle, env=offline)
    assert current["verified"][0]["standing"] == "current"
    for flags in ((), ("--archival",)):
        refused = server.depot("verify", str(artifact), "--bundle", str(old_bundle), *flags,
                               env=offline, check=False)  # fmt: skip
        assert refused.returncode == 6, refused.stdout + refused.stderr
        assert "rotated out" in refused.stderr and "depot trust extend" in refused.stderr
    # The archive keeps the bundle it made before the rotations: extended once, online,
    # with the roots' seal of the rotation that retired its keys, it verifies offline as
    # archival, personal approvals included, now and years later; without --archival a
    # sealed bundle is refused (it says nothing about today).
    kept_bytes = old_bundle.read_bytes()
    extended = server.depot_json("trust", "extend", str(old_bundle), env=alice)
    assert extended["bundles"][0]["extended"] and extended["bundles"][0]["keyring"] == 1
    assert json.loads(kept_bytes)["statements"] == json.loads(old_bundle.read_text())["statements"]
    again_extended = server.depot("trust", "extend", str(old_bundle), env=alice)
    assert "already extended" in again_extended.stdout
    assert (
        "signed by the newest keys" in server.depot("trust", "extend", new_bundle, env=alice).stdout
    )
    sealed = server.depot_json("verify", str(artifact), "--bundle", str(old_bundle), "--archival",
                               env=offline)  # fmt: skip
    assert sealed["verified"][0]["standing"] == "archival"
    only_archival = server.depot("verify", str(artifact), "--bundle", str(old_bundle),
                                 env=offline, check=False)  # fmt: skip
    assert only_archival.returncode == 6 and "--archival" in only_archival.stderr
    # Years later, as an archive: the bundle fetched after the rotations verifies, reported
    # archival; without --archival the expiry is a failure whose hint names the flag.
    years = (datetime.now(UTC) + timedelta(days=3 * 365)).strftime("%Y-%m-%d %H:%M:%S")
    archived = subprocess.run(
        ["faketime", years, str(BIN / "depot"), "--json", "verify", str(artifact), "--bundle",
         new_bundle, "--archival"],
        env={**server.env, **offline}, capture_output=True, text=True,
    )  # fmt: skip
    assert archived.returncode == 0, archived.stderr
    assert json.loads(archived.stdout)["verified"][0]["standing"] == "archival"
    archived_old = subprocess.run(
        ["faketime", years, str(BIN / "depot"), "--json", "verify", str(artifact), "--bundle",
         str(old_bundle), "--archival"],
        env={**server.env, **offline}, capture_output=True, text=True,
    )  # fmt: skip
    assert archived_old.returncode == 0, archived_old.stderr
    assert json.loads(archived_old.stdout)["verified"][0]["standing"] == "archival"
    stale = subprocess.run(
        ["faketime", years, str(BIN / "depot"), "verify", str(artifact), "--bundle", new_bundle],
        env={**server.env, **offline}, capture_output=True, text=True,
    )  # fmt: skip
    assert stale.returncode == 6 and "--archival" in stale.stderr

    # A key rotated out signs nothing a client accepts: a status signed by keyring 1's
    # status key, served by a proxy, is refused by the client on keyring 4.
    old_status = online_key(server, "status")
    status_env = Envelope.from_json(json.loads(old_bundle.read_text())["status"])
    status = Status.from_payload(status_env.payload)
    newer = replace(
        status,
        serial=status.serial + 100,
        issued=datetime.now(UTC).replace(microsecond=0),
        expires=datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10),
    )
    [stored] = Path(late["DEPOT_TRUST_DIR"]).glob("*/keyrings/4.json")
    keyring4 = Keyring.from_payload(Envelope.from_bytes(stored.read_bytes()).payload)
    try:
        verify_status(
            keyring4, sign(STATUS, newer.to_payload(), [old_status]), group="payments",
            product="core", version="3.0.0", now=datetime.now(UTC), trusted_serial=None,
        )  # fmt: skip
    except TrustError as error:
        assert error.check == "threshold"
    else:  # pragma: no cover - the assertion of the test
        raise AssertionError("a status signed by a rotated-out key was accepted")
    # The server's own replay still verifies every signature, old and re-signed.
    code = subprocess.run([str(BIN / "depot-server"), "audit", "verify"], env=server.env,
                          capture_output=True, text=True)  # fmt: skip
    assert code.returncode == 0, code.stdout + code.stderr
    assert (tmp_path / "late" / "core-3.0.0.tar.gz").read_bytes() == artifact.read_bytes()
