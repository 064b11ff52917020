"""A rotation at the offline key ceremony, carried to a running deployment (issue 10, item 2).

The production way to rotate (docs/operations.md, "The key ceremony"): the roots never
reach the deployment, so `keys rotate` runs on the offline machine, against a ceremony
database that holds only the keyrings, and `keys export` / `keys import` carry the result.
After the import, every version checked in before verifies online (the deployment re-signs
what its retired keys signed), and a bundle archived before the rotation verifies as
archival once `depot trust extend` added the roots' seal of the deployment's log head.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.e2e.conftest import BIN, Server
from tests.e2e.test_integrity import payments_team
from tests.e2e.test_trust_keys import REF, release
from tests.fixtures.helpers import http_json


def ceremony(server: Server, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`depot-server ARGS` on the offline machine: its own SQLite folder, no bucket."""
    repository = str(http_json("GET", f"{server.url}/api/v1/trust/keyring")["repository"])
    env = {
        k: v for k, v in server.env.items() if k not in ("DEPOT_DATABASE_URL", "DEPOT_STORAGE_URL")
    }
    env.update({"DEPOT_DATA_DIR": str(folder), "DEPOT_PUBLIC_URL": repository})
    return subprocess.run([str(BIN / "depot-server"), *args], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_rotation_at_the_ceremony_keeps_the_past_verifying(
    server: Server, tmp_path: Path
) -> None:
    team = payments_team(server, tmp_path)
    alice, _, victor = team
    request = release(server, tmp_path, team, REF)
    server.depot("approve", str(request["id"]), env=victor)
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=alice)
    before = server.depot_json("pull", REF, "-o", str(tmp_path / "before"), "--bundle", env=alice)

    # The offline machine holds the keyrings (and, for the ceremony, the root key).
    offline_db = tmp_path / "ceremony"
    offline_db.mkdir()
    ok(ceremony(server, offline_db, "db", "upgrade"))
    handed = tmp_path / "handed"  # (here the deployment made keyring 1: it hands it over)
    ok(server.admin("keys", "export", str(handed)))
    ok(ceremony(server, offline_db, "keys", "import", str(handed)))
    root1 = str(server.data_dir / "root-keys" / "root-1.pem")
    head = tmp_path / "log-head.txt"
    ok(server.admin("keys", "log-head", str(head)))
    # A log head edited in transit is refused at the ceremony, and nothing is rotated.
    edited = tmp_path / "edited-head.txt"
    edited.write_text(head.read_text().replace("\n", "\n\n", 1))
    wrong_head = ceremony(server, offline_db, "keys", "rotate", "--root-key", root1,
                          "--log-head", str(edited))  # fmt: skip
    assert wrong_head.returncode == 6 and "is not a log head" in wrong_head.stderr, (
        wrong_head.stderr
    )
    ok(ceremony(server, offline_db, "keys", "rotate", "--root-key", root1, "--log-head", str(head)))
    transfer = tmp_path / "transfer"
    ok(ceremony(server, offline_db, "keys", "export", str(transfer)))
    assert (transfer / "seal-1.json").exists()
    imported = json.loads(ok(server.admin("--json", "keys", "import", str(transfer))))
    assert imported["added"] == [2] and imported["seals"] == [1]
    assert imported["resigned"]["manifests"] >= 1 and imported["resigned"]["statuses"] >= 1

    # The running server serves keyring 2 within seconds; the version verifies online.
    deadline = time.monotonic() + 15
    while http_json("GET", f"{server.url}/api/v1/trust/keyring")["version"] != 2:
        assert time.monotonic() < deadline, "the server did not pick up keyring 2"
        time.sleep(0.2)
    after = server.depot_json("pull", REF, "-o", str(tmp_path / "after"), "--bundle", env=alice)
    assert after["signed"]["library_number"] == 1

    # The bundle archived before the rotation: refused until extended, then archival.
    offline = {**alice, "DEPOT_URL": "http://127.0.0.1:9"}
    artifact = tmp_path / "before" / "core-3.0.0.tar.gz"
    old = str(before["bundle"])
    refused = server.depot("verify", str(artifact), "--bundle", old, "--archival", env=offline,
                           check=False)  # fmt: skip
    assert refused.returncode == 6 and "depot trust extend" in refused.stderr, refused.stderr
    server.depot("trust", "extend", old, env=alice)
    archived = server.depot_json(
        "verify", str(artifact), "--bundle", old, "--archival", env=offline
    )
    assert archived["verified"][0]["standing"] == "archival"

    # A ceremony that forgets the deployment's log head seals its own log: the import
    # leaves that seal out, with a warning naming the way, and imports the keyring.
    ok(ceremony(server, offline_db, "keys", "rotate", "--root-key", root1))
    ok(ceremony(server, offline_db, "keys", "export", str(transfer)))
    forgot = subprocess.run([str(BIN / "depot-server"), "--json", "keys", "import", str(transfer)],
                            env=server.env, capture_output=True, text=True)  # fmt: skip
    assert forgot.returncode == 0, forgot.stderr
    assert "seals another log" in forgot.stderr and "keys log-head" in forgot.stderr
    assert json.loads(forgot.stdout)["seals"] == [] and json.loads(forgot.stdout)["added"] == [3]
    seal_url = f"{server.url}/api/v1/trust/seal/2"
    missing = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", seal_url],
                             capture_output=True, text=True)  # fmt: skip
    assert missing.stdout == "404"
