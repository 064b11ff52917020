"""Verified pulls through the `depot` command: what a client that trusts only a pinned root
fingerprint accepts and refuses. Each refusal writes nothing and says what failed.

The server is a live one on 127.0.0.1; tampering is done behind its back, in its
database or blob folder, as an attacker with that access would.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.base import blob_key
from tests.client.conftest import Live
from tests.client.test_lifecycle_cli import REF, V, api, checked_in, js, ok, run

BUILD = b"the build"


@pytest.fixture
def released(lib: Live) -> Live:
    """``team/app@1.0.0`` checked in, alice holding an approved check-out and a pinned root."""
    checked_in(lib)
    request = api(lib, "alice", "POST", V + "/checkout", {"purpose": "deploy"}, 201)
    api(lib, "victor", "POST", f"/api/v1/requests/{request['id']}/approve", {})
    ok(
        lib,
        "alice",
        "trust",
        "init",
        lib.url,
        "--root-fingerprint",
        lib.world.depot.keys.fingerprint(),
    )
    return lib


def pull(live: Live, folder: Path, *extra: str):  # type: ignore[no-untyped-def]
    return run(live, "alice", "pull", REF, "app.tar.gz", "-o", str(folder), *extra)


def test_a_wrong_fingerprint_pins_nothing(lib: Live, tmp_path: Path) -> None:
    checked_in(lib)
    result = run(lib, "alice", "trust", "init", lib.url, "--root-fingerprint", "ab" * 32)
    assert result.exit_code == 6 and "fingerprint" in result.output
    assert "no trusted root" in run(lib, "alice", "trust", "show").output


def test_pull_with_a_bundle_then_verify_offline(released: Live, tmp_path: Path) -> None:
    pulled = js(released, "alice", "pull", REF, "app.tar.gz", "-o", str(tmp_path), "--bundle")
    bundle = Path(pulled["bundle"])
    assert (tmp_path / "app.tar.gz").read_bytes() == BUILD
    verified = js(
        released, "alice", "verify", str(tmp_path / "app.tar.gz"), "--bundle", str(bundle)
    )
    assert verified["ref"] == REF
    forged = tmp_path / "forged" / "app.tar.gz"
    forged.parent.mkdir()
    forged.write_bytes(b"the buile")
    result = run(released, "alice", "verify", str(forged), "--bundle", str(bundle))
    assert result.exit_code == 6 and "does not verify" in result.output
    # The right bytes under another name: refused too.
    renamed = tmp_path / "forged" / "other.tar.gz"
    renamed.write_bytes(BUILD)
    result = run(released, "alice", "verify", str(renamed), "--bundle", str(bundle))
    assert result.exit_code == 6


def test_a_blob_changed_in_the_store_is_refused_and_nothing_is_written(
    released: Live, tmp_path: Path
) -> None:
    blob = (
        released.world.depot.settings.data_dir
        / "blobs"
        / blob_key("team", hashlib.sha256(BUILD).hexdigest())
    )
    blob.chmod(0o644)
    blob.write_bytes(b"the bvild")
    result = pull(released, tmp_path)
    assert result.exit_code == 6 and "failed verification" in result.output
    assert not (tmp_path / "app.tar.gz").exists()
    assert not list(tmp_path.glob(".depot-*"))


def test_a_manifest_changed_in_the_database_is_refused(released: Live, tmp_path: Path) -> None:
    from policies.trust.dsse import Envelope

    with released.world.depot.db.write() as session:
        stored = session.execute(sa.text("SELECT id, manifest FROM versions")).one()
        signed = Envelope.from_bytes(stored.manifest)
        forged = Envelope(
            signed.payload_type,
            signed.payload.replace(hashlib.sha256(BUILD).hexdigest().encode(), b"0" * 64),
            signed.signatures,
        )
        session.execute(
            sa.text("UPDATE versions SET manifest = :m WHERE id = :id"),
            {"m": forged.to_bytes(), "id": stored.id},
        )
    result = pull(released, tmp_path)
    assert result.exit_code == 6 and "manifest" in result.output
    assert not (tmp_path / "app.tar.gz").exists()


def test_a_retired_version_is_refused_by_its_signed_status(released: Live, tmp_path: Path) -> None:
    assert pull(released, tmp_path).exit_code == 0
    api(released, "victor", "POST", V + "/retire", {"reason": "superseded by 1.1"})
    result = pull(released, tmp_path / "again")
    # The server refuses the download anyway; the client says why.
    assert result.exit_code == 7
    assert not (tmp_path / "again" / "app.tar.gz").exists()


def test_a_status_rolled_back_is_refused(released: Live, tmp_path: Path) -> None:
    assert pull(released, tmp_path).exit_code == 0
    store = json.loads(next((released.config_dir / "trust").glob("*/state.json")).read_text())
    [entry] = store["statuses"].values()
    assert entry["serial"] == 1
    # The client has seen a newer serial than the server now serves (as after a replay).
    state_file = next((released.config_dir / "trust").glob("*/state.json"))
    entry["serial"] = 5
    state_file.write_text(json.dumps(store))
    result = pull(released, tmp_path / "again")
    assert result.exit_code == 6 and "older than serial 5" in result.output


def test_the_log_only_grows(released: Live, tmp_path: Path) -> None:
    first = js(released, "alice", "audit", "verify")
    assert first["size"] > 0
    assert pull(released, tmp_path).exit_code == 0
    grown = js(released, "alice", "audit", "verify")
    # The pull stored a checkpoint of its own; the download was recorded after it.
    assert first["size"] <= grown["previous_size"] < grown["size"]


def test_personal_keys_sign_approvals_made_with_the_cli(lib: Live, tmp_path: Path) -> None:
    made = js(lib, "victor", "keys", "generate")
    key_file = Path(made["path"])
    assert key_file.stat().st_mode & 0o777 == 0o600
    listed = js(lib, "victor", "keys", "list")[0]
    assert listed["keyid"] == made["keyid"] and not listed["enrolled"]
    from repo_server.auth.principal import system
    from tests.client.test_lifecycle_cli import accepted

    depot = lib.world.depot
    with depot.db.write() as session:
        depot.enrollment.publish(
            session, system(), lib.world.enrollment_keys, enroll_users=["victor"]
        )

    accepted(lib)
    request = api(lib, "alice", "POST", V + "/checkin", {"release_notes": "first"}, 201)
    out = run(lib, "victor", "approve", str(request["id"]))
    assert out.exit_code == 0 and "signing with personal key" in out.output
    docs = api(lib, "alice", "GET", V + "/trust")
    assert docs["enrollment"]["payloadType"].endswith("enrollment.v1+json")
    from policies.trust.documents import Statement
    from policies.trust.dsse import Envelope

    last = Statement.from_payload(Envelope.from_json(docs["statements"][-1]).payload)
    assert last.attestation == "personal" and last.actor == "victor"


def test_an_enrolment_document_rolled_back_is_refused(released: Live, tmp_path: Path) -> None:
    """A revocation reaches the client in signed state: once it saw enrolment document 2,
    a server (or its database) serving document 1 again is refused, and nothing written."""
    from repo_server.auth.principal import system
    from repo_server.trust.models import EnrollmentRecord

    depot = released.world.depot
    assert pull(released, tmp_path / "first").exit_code == 0
    with depot.db.write() as session:
        depot.enrollment.publish(session, system(), released.world.enrollment_keys, days=30)
    assert pull(released, tmp_path / "second").exit_code == 0
    state = next((released.config_dir / "trust").glob("*/state.json"))
    assert json.loads(state.read_text())["enrollment"]["version"] == 2
    with depot.db.write() as session:
        session.execute(sa.delete(EnrollmentRecord).where(EnrollmentRecord.version == 2))
    result = pull(released, tmp_path / "third")
    assert result.exit_code == 6 and "older than version 2" in result.output
    assert not (tmp_path / "third" / "app.tar.gz").exists()
