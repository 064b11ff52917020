"""The client alone (distributions/depot-client): installed into a fresh environment from
the local tree, it brings none of the server's dependencies, and its `depot` signs in,
pushes, pulls a signed release verified against the pinned root and verifies it offline,
on the oldest Python it supports and on the newest one found here."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, serve
from tests.e2e.test_integrity import PASSWORD, REF, payments_team

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTION = ROOT / "distributions" / "depot-client"
#: The oldest Python the client supports (its requires-python) and newer ones to try.
OLDEST = "3.11"
NEWER = ("3.13", "3.12")
SERVER_ONLY = ("flask", "sqlalchemy", "alembic", "botocore", "boto3", "gunicorn", "pydantic")


def _python(version: str) -> str | None:
    """An interpreter of ``version`` that runs: on the PATH, or one pyenv installed (whose
    shims run only the versions pyenv is told to)."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(
        str(path) for path in Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}")
    )
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    return None


def _interpreters() -> list[str]:
    """The oldest supported Python (required) and the newest other one on this machine."""
    found = [OLDEST]
    for version in NEWER:
        if _python(version):
            found.append(version)
            break
    return found


def _requirements(pyproject: Path) -> dict[str, str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    named = {}
    for requirement in project["dependencies"]:
        name = requirement.split(">")[0].split("=")[0].split("[")[0].split("<")[0].strip()
        named[name.lower()] = requirement
    return named


def test_the_client_distribution_asks_for_the_same_versions_as_the_whole() -> None:
    client = _requirements(DISTRIBUTION / "pyproject.toml")
    whole = _requirements(ROOT / "pyproject.toml")
    assert {name: whole.get(name) for name in client} == client
    declared = tomllib.loads((DISTRIBUTION / "pyproject.toml").read_text())["project"]
    assert declared["requires-python"] == f">={OLDEST}"
    whole_project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert declared["version"] == whole_project["version"]


@pytest.fixture(scope="module", params=_interpreters())
def client_venv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with only depot-client installed, built from a copy of the
    tree (so that the build leaves nothing in the repository)."""
    python = _python(request.param)
    assert python, f"Python {request.param} is not installed"
    scratch = tmp_path_factory.mktemp(f"client-{request.param}")
    ignore = shutil.ignore_patterns("__pycache__", "build", "*.egg-info")
    for part in ("client", "policies", "distributions/depot-client"):
        shutil.copytree(ROOT / part, scratch / "tree" / part, ignore=ignore)
    venv = scratch / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", str(scratch / "tree" / "distributions" / "depot-client")],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert found.stdout.strip() == str(tuple(int(n) for n in request.param.split(".")))
    return venv


@pytest.fixture(params=["folder+sqlite"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(request, tmp_path, {})


def _depot(
    venv: Path, env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(venv / "bin" / "depot"), *args],
        input=input,
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=venv,
    )
    return result


def test_the_client_alone_brings_none_of_the_servers_dependencies(client_venv: Path) -> None:
    python = str(client_venv / "bin" / "python")
    for module in (*SERVER_ONLY, "repo_server", "storage"):
        # From a folder of its own: from the repository, its packages would be importable.
        found = subprocess.run(
            [python, "-c", f"import {module}"], capture_output=True, text=True, cwd=client_venv
        )
        assert found.returncode == 1 and "ModuleNotFoundError" in found.stderr, module
    assert not (client_venv / "bin" / "depot-server").exists()
    helped = _depot(client_venv, {}, "--help")
    assert helped.returncode == 0, helped.stderr
    assert "push" in helped.stdout and "verify" in helped.stdout


def test_the_client_alone_pushes_pulls_and_verifies_against_a_live_server(
    client_venv: Path, live: Server, tmp_path: Path
) -> None:
    server = live
    # The team and a signed release, made with the whole installation's tools.
    alice, carol, victor = payments_team(server, tmp_path)
    server.create_product("payments/core", "--category", "application", "--origin", "in_house",
        env=alice, approver=victor,
    )  # fmt: skip
    server.create_product("payments/tools", "--category", "application", "--origin", "in_house",
        env=alice, approver=victor,
    )  # fmt: skip
    build = tmp_path / "core.tar.gz"
    build.write_bytes(b"release build " * 5000)
    server.depot("push", REF, str(build), "--create", env=alice)
    server.depot("submit", REF, "--to", "carol", env=alice)
    report = tmp_path / "report.txt"
    report.write_text("all tests pass\n")
    server.depot("accept", REF, "--report", str(report), env=carol)
    request = server.depot_json("checkin", "request", REF, "--notes", "GA", env=alice)
    server.depot("approve", str(request["id"]), "--comment", "archived", env=victor)
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)

    # alice's desktop has the client alone.
    desk = {"DEPOT_CONFIG_DIR": str(tmp_path / "desk")}
    signed_in = _depot(client_venv, desk, "login", "--server", server.url, "--user", "alice",
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert signed_in.returncode == 0, signed_in.stderr
    trusted = _depot(
        client_venv, desk, "trust", "init", server.url, "--root-fingerprint", server.fingerprint
    )
    assert trusted.returncode == 0, trusted.stderr
    out = tmp_path / "out"
    pulled = _depot(client_venv, desk, "--json", "pull", REF, "-o", str(out), "--bundle")
    assert pulled.returncode == 0, pulled.stderr
    assert (out / "core.tar.gz").read_bytes() == build.read_bytes()
    bundle = json.loads(pulled.stdout)["bundle"]
    offline = {**desk, "DEPOT_URL": "http://127.0.0.1:9"}
    verified = _depot(
        client_venv, offline, "--json", "verify", str(out / "core.tar.gz"), "--bundle", bundle
    )
    assert verified.returncode == 0, verified.stderr
    digest = hashlib.sha256(build.read_bytes()).hexdigest()
    assert json.loads(verified.stdout)["verified"][0]["sha256"] == digest

    nightly = tmp_path / "nightly.bin"
    nightly.write_bytes(os.urandom(1 << 20))
    pushed = _depot(client_venv, desk, "--json", "push", "payments/tools@1.0.0", str(nightly),
        "--create",
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    again = tmp_path / "again"
    fetched = _depot(client_venv, desk, "pull", "payments/tools@1.0.0", "-o", str(again),
        "--unverified",
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    assert (again / "nightly.bin").read_bytes() == nightly.read_bytes()
