"""`depot witness` and a client that requires witness cosignatures (`depot trust witness`).

A live server on 127.0.0.1; the witness runs the real command with its own folder. The
attacker edits the database behind the server's back.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policies.trust.note import COSIGNATURE_V1, SignedNote, VerifierKey
from policies.trust.witness import cosign
from repo_server.trust.models import LogCosignature
from tests.client.conftest import Live
from tests.client.test_lifecycle_cli import REF, V, api, checked_in, js, ok, run
from tests.client.test_trust_cli import pull, released  # noqa: F401  (fixture)


def start_witness(live: Live, folder: Path, name: str = "audit.bank.example/w1") -> str:
    """A witness created and run once; returns its verifier key."""
    fingerprint = live.world.depot.keys.fingerprint()
    created = js(live, "olga", "witness", "init", str(folder), "--name", name,
                 "--root-fingerprint", fingerprint)  # fmt: skip
    ok(live, "olga", "witness", "run", str(folder))
    return str(created["vkey"])


def test_a_client_requires_a_pinned_witness(released: Live, tmp_path: Path) -> None:  # noqa: F811
    vkey = start_witness(released, tmp_path / "w1")
    shown = js(released, "olga", "witness", "show", str(tmp_path / "w1"))
    assert shown["vkey"] == vkey and shown["size"] > 0
    ok(released, "alice", "trust", "witness", "add", vkey)
    result = run(released, "alice", "trust", "witness", "require", "2")
    assert result.exit_code == 2 and "cannot be required of 1" in result.output
    listed = js(released, "alice", "trust", "witness", "require", "1")
    assert listed == {"required": 1, "witnesses": [vkey]}
    pulled = js(released, "alice", "pull", REF, "app.tar.gz", "-o", str(tmp_path / "out"),
                "--bundle")  # fmt: skip
    bundle = json.loads(Path(pulled["bundle"]).read_text())
    assert "\u2014 audit.bank.example/w1 " in bundle["checkpoint"]  # the cosigned note
    pulled_file = str(tmp_path / "out" / "app.tar.gz")
    assert js(released, "alice", "verify", pulled_file, "--bundle", pulled["bundle"])["ref"] == REF
    # Offline, a bundle whose checkpoint lost its cosignature is refused too.
    note = SignedNote.parse(bundle["checkpoint"].encode())
    bundle["checkpoint"] = SignedNote(note.text, note.signatures[:1]).to_bytes().decode()
    stripped = tmp_path / "stripped.bundle.json"
    stripped.write_text(json.dumps(bundle))
    result = run(released, "alice", "verify", pulled_file, "--bundle", str(stripped))
    assert result.exit_code == 6 and "is not witnessed" in result.output
    # A second pinned witness that never ran: 2 cannot be had, the pull refuses (exit 6).
    other = VerifierKey(
        "audit.bank.example/w2", COSIGNATURE_V1, Ed25519PrivateKey.generate().public_key()
    )
    ok(released, "alice", "trust", "witness", "add", other.text())
    ok(released, "alice", "trust", "witness", "require", "2")
    result = pull(released, tmp_path / "two")
    assert result.exit_code == 6 and "cosigned by 2 of the pinned witnesses" in result.output
    assert not (tmp_path / "two" / "app.tar.gz").exists()


def test_a_forged_cosignature_in_the_database_is_refused(
    released: Live,  # noqa: F811
    tmp_path: Path,
) -> None:
    vkey = start_witness(released, tmp_path / "w1")
    ok(released, "alice", "trust", "witness", "add", vkey)
    ok(released, "alice", "trust", "witness", "require", "1")
    # The attacker puts a line of their own key, under the witness's name, in its row.
    note = SignedNote.parse((tmp_path / "w1" / "latest.note").read_bytes())
    forged = cosign(note.text, "audit.bank.example/w1", Ed25519PrivateKey.generate(), 1)
    with released.world.depot.db.write() as session:
        session.execute(sa.update(LogCosignature).values(line=forged.line()))
    result = pull(released, tmp_path / "out")
    assert result.exit_code == 6, result.output
    assert "cosigned by 0 pinned witness(es)" in result.output
    assert not (tmp_path / "out" / "app.tar.gz").exists()


def test_the_witness_refuses_a_log_that_shrank(released: Live, tmp_path: Path) -> None:  # noqa: F811
    start_witness(released, tmp_path / "w1")
    latest = tmp_path / "w1" / "latest.note"
    kept = SignedNote.parse(latest.read_bytes())
    origin, _, root, _ = kept.text.split(b"\n")
    # The witness saw a longer log than the server now shows (the newest entries cut).
    bigger = SignedNote(b"\n".join([origin, b"100000", root, b""]), kept.signatures)
    latest.write_bytes(bigger.to_bytes())
    result = run(released, "olga", "witness", "run", str(tmp_path / "w1"))
    assert result.exit_code == 6, result.output
    assert "REFUSED" in result.output and "shrank from 100000" in result.output
    assert latest.read_bytes() == bigger.to_bytes()  # nothing cosigned, nothing kept


def test_a_check_in_newer_than_the_witnessed_checkpoint_waits_for_the_witness(
    lib: Live, tmp_path: Path
) -> None:
    vkey = start_witness(lib, tmp_path / "w1")  # witnessed before the check-in
    checked_in(lib)
    request = api(lib, "alice", "POST", V + "/checkout", {"purpose": "deploy"}, 201)
    api(lib, "victor", "POST", f"/api/v1/requests/{request['id']}/approve", {})
    ok(lib, "alice", "trust", "init", lib.url, "--root-fingerprint",
       lib.world.depot.keys.fingerprint())  # fmt: skip
    ok(lib, "alice", "trust", "witness", "add", vkey)
    ok(lib, "alice", "trust", "witness", "require", "1")
    result = pull(lib, tmp_path / "out")
    assert result.exit_code == 6 and "not in the newest witnessed checkpoint" in result.output
    assert not (tmp_path / "out" / "app.tar.gz").exists()
    ok(lib, "olga", "witness", "run", str(tmp_path / "w1"))
    assert pull(lib, tmp_path / "out").exit_code == 0
