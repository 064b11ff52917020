"""Signed build provenance (issue 17 §2): `depot push --provenance` with an in-toto SLSA
attestation made by securesystemslib, the group's provenance keys, what `depot ls`, the
API and the version page show, and the attacks: a tampered envelope, a subject digest
that does not match, a signer the group does not trust (each refused, nothing stored),
and a database edit of the stored attestation after the check-in (the client's
verification refuses, online and offline)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.e2e.conftest import Server
from tests.e2e.test_integrity import PASSWORD, payments_team
from tests.e2e.test_library_state import database
from tests.fixtures.helpers import http_get, http_json
from tests.fixtures.provenance import new_signer, public_text, sign, statement

REF = "payments/core@5.0.0"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(root: Path) -> dict[str, bytes]:
    files = {"app.tar.gz": b"app " * 2000, "sub/plugin.tar.gz": b"plugin " * 300}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def write(path: Path, envelope: dict[str, Any]) -> str:
    path.write_text(json.dumps(envelope))
    return str(path)


def test_a_signed_build_is_proven_and_forgeries_are_refused(server: Server, tmp_path: Path) -> None:
    alice, carol, victor = payments_team(server, tmp_path)
    server.create_product("payments/core", "--category", "application",
                          "--origin", "in_house", env=alice)  # fmt: skip
    tree = tmp_path / "dist"
    files = build(tree)
    digests = {name: sha(data) for name, data in files.items()}
    ci, stranger = new_signer(), new_signer()

    # The group trusts no key yet: the push is refused before anything is sent.
    good = write(tmp_path / "good.json", sign(statement(digests), ci))
    untrusted = server.depot("push", REF, str(tree), "--create", "--provenance", good,
                             env=alice, check=False)  # fmt: skip
    assert untrusted.returncode == 6, untrusted.stderr
    assert "trusts no provenance key" in untrusted.stderr
    assert server.depot("ls", REF, env=alice, check=False).returncode == 4

    # The software manager registers the pipeline's key; carol (no manager) may not.
    refused = server.depot("provenance", "key", "add", "payments", "--name", "gitlab-ci",
                           "--public", public_text(ci), env=carol, check=False)  # fmt: skip
    assert refused.returncode == 7, refused.stderr
    added = server.depot_json("provenance", "key", "add", "payments", "--name", "gitlab-ci",
                              "--public", public_text(ci), env=alice)  # fmt: skip
    listed = server.depot_json("provenance", "key", "list", "payments", env=carol)
    assert [(k["name"], k["keyid"]) for k in listed] == [("gitlab-ci", added["keyid"])]
    bad_key = server.depot("provenance", "key", "add", "payments", "--name", "x",
                           "--public", "ed25519:AAAA", env=alice, check=False)  # fmt: skip
    assert bad_key.returncode == 8 and "public" in bad_key.stderr

    # A signer the group does not trust, a tampered envelope, a subject that is not the
    # pushed bytes: each refused with exit 6 before anything is sent.
    forged = sign(statement(digests), ci)
    body = json.loads(base64.b64decode(forged["payload"]))
    body["predicate"]["runDetails"]["builder"]["id"] = "https://evil.example/runner"
    forged["payload"] = base64.b64encode(json.dumps(body).encode()).decode()
    wrong = dict(digests, **{"app.tar.gz": sha(b"other bytes")})
    for envelope, says in (
        (sign(statement(digests), stranger), "not signed by a provenance key the group trusts"),
        (forged, "not signed by a provenance key the group trusts"),
        (sign(statement(wrong), ci), "gives 'app.tar.gz' the sha256"),
        (sign(statement({**digests, "extra.bin": digests["app.tar.gz"]}), ci),
         "names 'extra.bin'"),
    ):  # fmt: skip
        attempt = server.depot("push", REF, str(tree), "--create", "--provenance",
                               write(tmp_path / "attempt.json", envelope), env=alice,
                               check=False)  # fmt: skip
        assert attempt.returncode == 6, attempt.stderr
        assert says in attempt.stderr and "nothing was sent" in attempt.stderr
        assert server.depot("ls", REF, env=alice, check=False).returncode == 4

    # Without an attestation the build fields are stated, not proven.
    plain = "payments/core@4.9.0"
    server.depot("push", plain, str(tree), "--create", "--build-id", "77", "--commit", "abc",
                 env=alice)  # fmt: skip
    assert "build provenance: stated, not proven" in server.depot("ls", plain, env=alice).stdout
    assert server.depot_json("ls", plain, env=alice)["provenance"] == {
        "attestations": [],
        "build_fields": "stated, not proven",
    }

    # The good one: attached, shown by the push, by `depot ls` (text and JSON) and the API.
    pushed = server.depot_json("push", REF, str(tree), "--create", "--provenance", good,
                               "--build-id", "4711", env=alice)  # fmt: skip
    attached = pushed["provenance"]
    assert attached["subjects"] == digests
    assert attached["signer"]["name"] == "gitlab-ci"
    assert attached["builder_id"] == "https://gitlab.bank.example/runners/17"
    text = server.depot("ls", REF, env=alice).stdout
    assert "build provenance: signed" in text
    assert f"provenance sha256:{attached['payload_sha256']}  signed by gitlab-ci" in text
    shown = server.depot_json("ls", REF, env=alice)["provenance"]
    assert shown["build_fields"] == "signed"
    assert [a["payload_sha256"] for a in shown["attestations"]] == [attached["payload_sha256"]]
    # The same attestation again (a retried job) changes nothing.
    again = server.depot_json("push", REF, str(tree), "--provenance", good, env=alice)
    assert again["provenance"]["payload_sha256"] == attached["payload_sha256"]
    # The API refuses a forged envelope sent directly, and stores nothing.
    token = str(http_json("POST", f"{server.url}/api/v1/auth/login",
                          {"username": "alice", "password": PASSWORD})["token"])  # fmt: skip
    direct = http_status("POST", f"{server.url}/api/v1/groups/payments/products/core/"
                         "versions/5.0.0/provenance", {"envelope": forged}, token)  # fmt: skip
    assert direct == 400
    after = server.depot_json("provenance", "show", REF, env=alice)["attestations"]
    assert len(after) == 1
    page = http_get(f"{server.url}/api/v1/groups/payments/products/core/versions/5.0.0/provenance",
                    {"Authorization": f"Bearer {token}"})  # fmt: skip
    assert json.loads(page[2])["build_fields"] == "signed"

    # Through acceptance and check-in: the manifest records the attestation.
    server.depot("submit", REF, "--to", "carol", env=alice)
    report = tmp_path / "report.txt"
    report.write_text("pass\n")
    server.depot("accept", REF, "--report", str(report), env=carol)
    request = server.depot_json("checkin", "request", REF, "--notes", "GA", env=alice)
    server.depot("approve", str(request["id"]), env=victor)
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=alice)
    out = tmp_path / "out"
    pulled = server.depot_json("pull", REF, "-o", str(out), "--bundle", env=alice)
    assert pulled["verified"] is True
    assert [a["payload_sha256"] for a in pulled["signed"]["provenance"]] == [
        attached["payload_sha256"]
    ]
    offline = {**alice, "DEPOT_URL": "http://127.0.0.1:9"}
    verified = server.depot("verify", str(out / "app.tar.gz"), "--bundle", pulled["bundle"],
                            env=offline)  # fmt: skip
    assert f"provenance verified: sha256:{attached['payload_sha256']}" in verified.stdout
    # Attached after the check-in: refused (uploads are closed).
    late = server.depot("push", REF, str(tree), "--provenance", good, env=alice, check=False)
    assert late.returncode == 7, late.stderr

    # A bundle whose attestation was swapped for another (validly signed by the trusted
    # key, other content) no longer verifies offline.
    other = sign(statement({"app.tar.gz": digests["app.tar.gz"]}), ci)
    bundle = json.loads(Path(pulled["bundle"]).read_text())
    bundle["provenance"] = [other]
    swapped = write(tmp_path / "swapped.bundle.json", bundle)
    refused_offline = server.depot("verify", str(out / "app.tar.gz"), "--bundle", swapped,
                                   env=offline, check=False)  # fmt: skip
    assert refused_offline.returncode == 6, refused_offline.stderr
    assert "names the attestation" in refused_offline.stderr

    # The database edited after the check-in: the stored attestation replaced by that one.
    engine = database(server)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE attestations SET envelope = :e, payload_sha256 = :d"),
            {"e": json.dumps(other).encode(), "d": sha(base64.b64decode(other["payload"]))},
        )
    engine.dispose()
    edited = server.depot("pull", REF, "-o", str(tmp_path / "again"), env=alice, check=False)
    assert edited.returncode == 6, edited.stderr
    assert "build provenance of payments/core@5.0.0 does not verify" in edited.stderr
    assert not (tmp_path / "again" / "app.tar.gz").exists()


def http_status(method: str, url: str, body: Any, token: str) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url, json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
