"""Archived bundles after rotations and expiry (issue 10, item 2), end to end.

The attacker of the first test holds a copy of the server's key folder as it was before a
rotation (the rotated-out online keys) and the database; the group accepts
server-attested check-ins, so no personal key stands in their way.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.conftest import BIN, Server
from tests.e2e.test_integrity import payments_team
from tests.e2e.test_trust_keys import REF, attacker_depot, forge_bundle, release

EVIL = b"never uploaded, signed with a rotated-out key " * 100


def test_a_rotated_out_key_cannot_forge_an_archival_bundle(server: Server, tmp_path: Path) -> None:
    team = payments_team(server, tmp_path)
    alice, _, victor = team
    request = release(server, tmp_path, team, REF)
    server.depot("approve", str(request["id"]), env=victor)  # server-attested check-in
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=alice)
    before = server.depot_json("pull", REF, "-o", str(tmp_path / "before"), "--bundle", env=alice)
    old_bundle = json.loads(Path(before["bundle"]).read_text())
    shutil.copytree(server.data_dir / "keys", tmp_path / "stolen-keys")  # leaked later

    root1 = str(server.data_dir / "root-keys" / "root-1.pem")
    server.admin("keys", "rotate", "--root-key", root1)
    # alice's client learns of keyring 2 with her next pull, at once.
    after = server.depot_json("pull", REF, "-o", str(tmp_path / "after"), "--bundle", env=alice)

    depot = attacker_depot(server)
    forged = forge_bundle(server, depot, old_bundle, EVIL)  # keyring 1 only, keys of 1
    depot.close()
    bundle_file = tmp_path / "forged.bundle.json"
    bundle_file.write_text(json.dumps(forged))
    evil = tmp_path / "evil" / "core-3.0.0.tar.gz"
    evil.parent.mkdir()
    evil.write_bytes(EVIL)
    offline = {**alice, "DEPOT_URL": "http://127.0.0.1:9"}
    for flags in (("--archival",), ()):
        verdict = server.depot(
            "verify", str(evil), "--bundle", str(bundle_file), *flags, env=offline, check=False
        )
        assert verdict.returncode == 6, verdict.stdout + verdict.stderr
        assert "rotated out" in verdict.stderr, verdict.stderr
        assert "verified" not in verdict.stdout and "archival" not in verdict.stdout
    # The honest bundle made before the rotation is signed by the same retired keys: it
    # is refused the same way, and names the remedy (the rotation re-signed its documents).
    honest = tmp_path / "before.bundle.json"
    honest.write_text(json.dumps(old_bundle))
    artifact = tmp_path / "before" / "core-3.0.0.tar.gz"
    verdict = server.depot(
        "verify", str(artifact), "--bundle", str(honest), "--archival", env=offline, check=False
    )
    assert verdict.returncode == 6 and "depot pull --bundle" in verdict.stderr, verdict.stderr
    # Extended with the roots' seal of the rotation, the honest bundle verifies as archival;
    # the forged one, given the same seal, is still refused (its checkpoint was signed after
    # the seal, over a log with a check-in that never happened), and `trust extend` refuses
    # to extend it, leaving the file as it was.
    server.depot("trust", "extend", str(honest), env=alice)
    sealed = server.depot_json(
        "verify", str(artifact), "--bundle", str(honest), "--archival", env=offline
    )
    assert sealed["verified"][0]["standing"] == "archival"
    # (The forged bundle leaves out the library index, which names the real manifest: a
    # bundle need not carry one.)
    seal = json.loads(honest.read_text())["seal"]
    unlisted = {k: v for k, v in forged.items() if k != "library"}
    bundle_file.write_text(json.dumps({**unlisted, "seal": seal}))
    verdict = server.depot(
        "verify", str(evil), "--bundle", str(bundle_file), "--archival", env=offline, check=False
    )
    assert verdict.returncode == 6 and "the roots sealed" in verdict.stderr, verdict.stderr
    assert "verified" not in verdict.stdout and "archival" not in verdict.stdout
    bundle_file.write_text(json.dumps(forged))
    refused = server.depot("trust", "extend", str(bundle_file), env=alice, check=False)
    assert refused.returncode == 6 and "cannot be extended" in refused.stderr, refused.stderr
    assert json.loads(bundle_file.read_text()) == forged
    # The bundle fetched after the rotation verifies, now and years later as archival.
    now = server.depot_json("verify", str(artifact), "--bundle", after["bundle"], env=offline)
    assert now["verified"][0]["standing"] == "current"
    years = (datetime.now(UTC) + timedelta(days=3 * 365)).strftime("%Y-%m-%d %H:%M:%S")
    archived = subprocess.run(
        ["faketime", years, str(BIN / "depot"), "--json", "verify", str(artifact), "--bundle",
         str(after["bundle"]), "--archival"],
        env={**server.env, **offline}, capture_output=True, text=True,
    )  # fmt: skip
    assert archived.returncode == 0, archived.stderr
    assert json.loads(archived.stdout)["verified"][0]["standing"] == "archival"
