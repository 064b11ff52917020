"""The key ceremony's hand-over, with the real commands: `keys export` on the offline
machine, `keys import` on the deployment — first keyring, a rotation, a folder from another
root of trust, a keys folder with the wrong key."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import BIN

pytestmark = pytest.mark.e2e

PASSPHRASE = "online keys passphrase"


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "depot-server"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def ok(env: dict[str, str], *args: str) -> str:
    result = run(env, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def offline_machine(folder: Path) -> tuple[dict[str, str], Path]:
    """A ceremony folder with keyring 1 signed by one root key; its env and the root."""
    env = {
        **os.environ,
        "DEPOT_DATA_DIR": str(folder / "ceremony"),
        "DEPOT_PUBLIC_URL": "https://depot.bank.example",
        "DEPOT_KEYS_PASSPHRASE": PASSPHRASE,
    }
    (folder / "ceremony").mkdir(parents=True)
    ok(env, "db", "upgrade")
    ok(env, "keys", "generate-roots", str(folder / "usb"), "--count", "1")
    ok(env, "keys", "generate-roots", str(folder / "enrolment"), "--count", "1",
       "--role", "enrollment")  # fmt: skip
    enroller = next((folder / "enrolment").glob("*.pem"))
    ok(env, "keys", "init", "--root-key", str(folder / "usb" / "root-1.pem"),
       "--enrollment-key", str(enroller))  # fmt: skip
    return env, folder / "usb" / "root-1.pem"


def test_keys_travel_from_the_ceremony_to_the_deployment(tmp_path: Path) -> None:
    ceremony, root = offline_machine(tmp_path / "offline")
    transfer = tmp_path / "keys"
    exported = ok(ceremony, "keys", "export", str(transfer))
    assert sorted(p.name for p in transfer.iterdir()) == [
        "1.log.pem", "1.release.pem", "1.status.pem", "keyring-1.json",
    ]  # fmt: skip
    assert "root fingerprint" in exported
    deployment = {
        **os.environ,
        "DEPOT_DATA_DIR": str(tmp_path / "node"),
        "DEPOT_KEYS_DIR": str(transfer),
        "DEPOT_KEYS_PASSPHRASE": PASSPHRASE,
    }
    first = ok(deployment, "keys", "import")
    assert "added keyring version(s) 1" in first
    assert ok(deployment, "keys", "import").startswith("the database already has every keyring")
    # `init` now finds the keyring and makes no root key of its own.
    ok(deployment, "init")
    assert not (tmp_path / "node" / "root-keys").exists()

    # A rotation on the offline machine reaches the deployment the same way.
    ok(ceremony, "keys", "rotate", "--root-key", str(root))
    ok(ceremony, "keys", "export", str(transfer))
    assert "added keyring version(s) 2" in ok(deployment, "keys", "import")
    assert '"version": 2' in ok(deployment, "--json", "keys", "show")

    # Another root of trust is refused, and nothing is changed.
    other, _ = offline_machine(tmp_path / "elsewhere")
    foreign = tmp_path / "foreign"
    ok(other, "keys", "export", str(foreign))
    refused = run(deployment, "keys", "import", str(foreign))
    assert refused.returncode == 6 and "another root of trust" in refused.stderr
    clash = run(other, "keys", "export", str(transfer))
    assert clash.returncode == 5 and "holds another keyring" in clash.stderr

    # A node whose keys folder has no keyring refuses to import, with the way out.
    empty = {**deployment, "DEPOT_DATA_DIR": str(tmp_path / "n2"), "DEPOT_KEYS_DIR": str(tmp_path)}
    nothing = run(empty, "keys", "import")
    assert nothing.returncode == 4 and "keys export" in nothing.stderr
    # The right keyrings with the wrong key files.
    (tmp_path / "mixed").mkdir()
    for name in ("keyring-1.json", "1.release.pem", "1.status.pem"):
        (tmp_path / "mixed" / name).write_bytes((foreign / name).read_bytes())
    (tmp_path / "mixed" / "1.log.pem").write_bytes((transfer / "1.log.pem").read_bytes())
    mixed = run({**empty, "DEPOT_KEYS_DIR": str(tmp_path / "mixed")}, "keys", "import")
    assert mixed.returncode == 6 and "is not the log key" in mixed.stderr
    assert "Traceback" not in refused.stderr + clash.stderr + nothing.stderr + mixed.stderr
