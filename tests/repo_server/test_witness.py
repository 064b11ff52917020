"""Witnesses outside the server, and what `depot-server audit verify --witness` finds.

A live server (werkzeug on 127.0.0.1, SQLite and PostgreSQL) is witnessed with the real
`depot witness` command, which keeps its checkpoints in a folder of its own and posts its
cosignatures back. Then the database is edited as an attacker with write access to it
would: history rewritten with every hash recomputed and the stored checkpoints deleted,
the newest rows cut, two records' positions swapped, a file's, a manifest's or a
statement's row swapped. The database alone cannot tell some of these apart from a clean
log (asserted, so the test shows what the witness adds); with the witness's folder,
`audit verify` refuses each with a message naming it and exit code 6.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import urllib3
from click.testing import CliRunner, Result
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from client.main import cli
from policies.trust.merkle import leaf_hash, node_hash
from policies.trust.note import COSIGNATURE_V1, SignedNote, VerifierKey
from policies.trust.verify import verify_checkpoint
from policies.trust.witness import verify_cosignatures
from repo_server.artifacts.models import StoredFile, Version
from repo_server.audit.models import AuditEvent
from repo_server.audit.services import leaf_bytes
from repo_server.cli import main as server_main
from repo_server.trust.models import (
    LogCheckpoint,
    LogCosignature,
    LogNode,
    LogState,
    StatementRecord,
    VersionStatus,
)
from repo_server.trust.replay import Replayer
from tests.repo_server.test_lifecycle import V, call, check_in, submit_and_accept
from tests.repo_server.test_trust import keyring_of
from tests.support import TEST_SCRYPT_N, World

NAME = "audit.bank.example/w1"


@dataclass
class Witnessed:
    """A checked-in version, a live server and a witness that cosigned twice."""

    world: World
    url: str
    folder: Path
    config: Path
    vkey: str
    sizes: list[int]

    def depot(self, *args: str, who: str = "ivy") -> Result:
        env = {
            "DEPOT_CONFIG_DIR": str(self.config),
            "DEPOT_URL": self.url,
            "DEPOT_TOKEN": self.world.tokens[who],
        }
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    def witness(self) -> Result:
        return self.depot("--json", "witness", "run", str(self.folder))

    def audit_verify(self, *witnesses: Path) -> Result:
        settings = self.world.depot.settings
        env = {
            "DEPOT_DATA_DIR": str(settings.data_dir),
            "DEPOT_DATABASE_URL": settings.effective_database_url,
            "DEPOT_SCRYPT_N": str(TEST_SCRYPT_N),
        }
        args = [a for w in witnesses for a in ("--witness", str(w))]
        return CliRunner().invoke(
            server_main, ["audit", "verify", *args], env=env, catch_exceptions=False
        )


@pytest.fixture
def served(lib: World) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, lib.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def witnessed(lib: World, served: str, tmp_path: Path) -> Witnessed:
    submit_and_accept(lib)
    check_in(lib)
    w = Witnessed(lib, served, tmp_path / "witness", tmp_path / "config", "", [])
    init = w.depot(
        "--json",
        "witness",
        "init",
        str(w.folder),
        "--name",
        NAME,
        "--root-fingerprint",
        lib.depot.keys.fingerprint(),
    )
    assert init.exit_code == 0, init.output
    w.vkey = json.loads(init.stdout)["vkey"]
    for _ in range(2):
        run = w.witness()
        assert run.exit_code == 0, run.output
        w.sizes.append(json.loads(run.stdout)["size"])
        call(lib, "carol", "POST", V + "/feedback", {"text": "runs fine"}, 201)  # activity
    return w


def rebuild_tree(session: Session) -> None:
    """What an attacker with the database does after editing records: re-encode every
    leaf, recompute every subtree hash, and delete the signed checkpoints that would
    betray the old roots."""
    session.execute(sa.delete(LogCosignature))
    session.execute(sa.delete(LogCheckpoint))
    session.execute(sa.delete(LogNode))
    rows = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.leaf_index)).all()
    nodes: dict[tuple[int, int], bytes] = {}
    for index, row in enumerate(rows):
        row.leaf_index = -1 - index  # out of the way of the unique index
    session.flush()
    for index, row in enumerate(rows):
        row.leaf_index = index
        row.leaf = leaf_bytes(row)
        digest, level, position = leaf_hash(row.leaf), 0, index
        nodes[(0, index)] = digest
        while position % 2 == 1:
            digest = node_hash(nodes[(level, position - 1)], digest)
            level, position = level + 1, position // 2
            nodes[(level, position)] = digest
    session.flush()
    session.add_all(LogNode(level=lv, index=ix, hash=h) for (lv, ix), h in nodes.items())
    state = session.get(LogState, 1)
    assert state is not None
    state.size = len(rows)


def refused(result: Result, fragment: str) -> None:
    assert result.exit_code == 6, result.output
    assert fragment in result.output, result.output
    assert "VERIFICATION FAILED" in result.output


def test_a_witness_keeps_checks_and_cosigns_and_the_server_serves_it(
    witnessed: Witnessed,
) -> None:
    w = witnessed
    first, second = w.sizes
    assert second > first
    assert {p.name for p in (w.folder / "checkpoints").iterdir()} == {
        f"{first}.note",
        f"{second}.note",
    }
    # The server stored the cosignature and serves it with the checkpoint.
    served = call(w.world, "alice", "GET", f"/api/v1/log/checkpoints/{second}")
    assert served["cosignatures"] == 1
    note = served["note"].encode()
    keyring = keyring_of(w.world)
    assert verify_checkpoint(keyring, note, origin=keyring.repository).size == second
    pinned = VerifierKey.parse(w.vkey, COSIGNATURE_V1)
    now = datetime.now(UTC)  # the witness cosigns with its own, real clock
    [cosigned] = verify_cosignatures(SignedNote.parse(note), [pinned], 1, now=now)
    assert cosigned.witness == NAME
    newest = call(w.world, "alice", "GET", "/api/v1/log/checkpoint?witnessed=1")
    assert newest["size"] == second
    assert [e["action"] for e in w.world.audit(action="log.cosign")] == ["log.cosign"] * 2
    result = w.audit_verify(w.folder)
    assert result.exit_code == 0, result.output
    assert "2 witnessed checkpoints" in result.output
    # One checkpoint file is enough too.
    assert w.audit_verify(w.folder / "checkpoints" / f"{first}.note").exit_code == 0


def test_a_cosignature_that_does_not_verify_is_refused(witnessed: Witnessed) -> None:
    w = witnessed
    note = SignedNote.parse((w.folder / "latest.note").read_bytes())
    line = note.signatures[-1].line()
    for body, fragment in (
        ({"size": w.sizes[0], "vkey": w.vkey, "cosignature": line}, "does not verify"),
        ({"size": w.sizes[1], "vkey": w.vkey, "cosignature": "— x"}, "has no signature"),
        ({"size": w.sizes[1], "vkey": "nonsense", "cosignature": line}, "not a verifier key"),
        # Refused by the route's declared shape, naming the field.
        ({"size": w.sizes[1], "vkey": w.vkey}, "field 'cosignature'"),
        ({"size": 2**70, "vkey": w.vkey, "cosignature": line}, "field 'size'"),
        ({"size": w.sizes[1], "vkey": "a" * 2000 + w.vkey, "cosignature": line}, "field 'vkey'"),
        ({"size": "1", "vkey": w.vkey, "cosignature": line}, "field 'size'"),
    ):
        response = w.world.call(
            "POST", "/api/v1/log/cosignatures", w.world.tokens["alice"], json=body
        )
        assert response.status_code == 400 and fragment in response.json["message"], body
    missing = w.world.call(
        "POST",
        "/api/v1/log/cosignatures",
        w.world.tokens["alice"],
        json={"size": 10**6, "vkey": w.vkey, "cosignature": line},
    )
    assert missing.status_code == 404
    token = w.world.tokens["alice"]
    # A size beyond the database's integer names no checkpoint (docs/security.md).
    assert w.world.call("GET", f"/api/v1/log/checkpoints/{2**70}", token).status_code == 404
    for query in ("witnessed=0", "witnessed=x", "witnessed=33"):
        assert w.world.call("GET", f"/api/v1/log/checkpoint?{query}", token).status_code == 400
    absent = w.world.call("GET", "/api/v1/log/checkpoint?witnessed=2", token)
    assert absent.status_code == 404 and "cosigned by 2" in absent.json["message"]


def test_rewritten_history_with_the_checkpoints_deleted(witnessed: Witnessed) -> None:
    w = witnessed
    with w.world.depot.db.write() as session:
        row = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "acceptance.pass"))
        assert row is not None
        row.actor = "mallory"
        rebuild_tree(session)
    assert Replayer(w.world.depot.db).run().ok  # the database alone cannot tell
    refused(w.audit_verify(w.folder), "history was rewritten")
    # And the witness itself refuses to cosign the rewritten log.
    run = w.witness()
    assert run.exit_code == 6 and "not consistent" in run.output, run.output


def test_the_newest_rows_cut(witnessed: Witnessed) -> None:
    w = witnessed
    keep = w.sizes[1] - 1  # the record after the first witnessed checkpoint
    with w.world.depot.db.write() as session:
        session.execute(sa.delete(AuditEvent).where(AuditEvent.leaf_index >= keep))
        rebuild_tree(session)
    assert Replayer(w.world.depot.db).run().ok
    refused(w.audit_verify(w.folder), f"the log holds {keep}: entries were removed")


def test_two_records_swapped(witnessed: Witnessed) -> None:
    w = witnessed
    with w.world.depot.db.write() as session:
        upload = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "file.upload"))
        accept = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "acceptance.pass"))
        assert upload is not None and accept is not None
        a, b = upload.leaf_index, accept.leaf_index
        for row, index in ((upload, -100), (accept, a), (upload, b)):  # one at a time
            row.leaf_index = index
            session.flush()
        rebuild_tree(session)
    refused(w.audit_verify(w.folder), "history was rewritten")


def test_a_file_row_swapped(witnessed: Witnessed) -> None:
    w = witnessed
    with w.world.depot.db.write() as session:
        files = {
            f.name: f for f in session.scalars(sa.select(StoredFile).where(StoredFile.name != "x"))
        }
        build, manual = files["app.tar.gz"], files["manual.pdf"]
        build.sha256, manual.sha256 = manual.sha256, build.sha256
        build.size, manual.size = manual.size, build.size
    refused(
        w.audit_verify(w.folder),
        "the file row team/app@1.0.0/app.tar.gz is not the one its signed manifest lists",
    )


def second_version(lib: World) -> None:
    """``team/app@1.1.0`` checked in too."""
    upgrade = call(
        lib,
        "alice",
        "POST",
        "/api/v1/groups/team/products/app/upgrades",
        {"target_version": "1.1.0", "reason": "r"},
        201,
    )
    call(lib, "victor", "POST", f"/api/v1/requests/{upgrade['id']}/approve")
    lib.version("team", "app", "1.1.0", lib.tokens["alice"])
    assert lib.upload("team/app@1.1.0", "app.tar.gz", b"v2", lib.tokens["bob"]).status_code == 201
    submit_and_accept(lib, "1.1.0")
    check_in(lib, "1.1.0")


def test_a_manifest_row_swapped(witnessed: Witnessed) -> None:
    w = witnessed
    lib = w.world
    second_version(lib)
    with lib.depot.db.write() as session:
        one, two = session.scalars(
            sa.select(Version).where(Version.manifest.is_not(None)).order_by(Version.id)
        ).all()
        one.manifest, two.manifest = two.manifest, one.manifest
        one.manifest_sha256, two.manifest_sha256 = two.manifest_sha256, one.manifest_sha256
    result = w.audit_verify(w.folder)
    refused(result, "the row of team/app@1.0.0 holds the signed manifest of team/app@1.1.0")
    assert "the manifest was swapped" in result.output


def test_the_version_ids_of_two_statement_rows_swapped(witnessed: Witnessed) -> None:
    w = witnessed
    second_version(w.world)
    with w.world.depot.db.write() as session:
        one, two = session.scalars(
            sa.select(StatementRecord)
            .where(StatementRecord.action == "accept")
            .order_by(StatementRecord.id)
        ).all()
        a, b = one.version_id, two.version_id
        for row, column, value in (
            (one, "seq", 100), (two, "version_id", a), (one, "version_id", b), (one, "seq", 1)
        ):  # fmt: skip
            setattr(row, column, value)
            session.flush()
    result = w.audit_verify(w.folder)
    refused(result, "of team/app@1.0.0 is not its signed statement (accept by carol about "
            "team/app@1.1.0)")  # fmt: skip
    assert "the statement rows of team/app@1.1.0 are not the statements its manifest" in (
        result.output
    )


def test_a_statement_row_edited(witnessed: Witnessed) -> None:
    w = witnessed
    with w.world.depot.db.write() as session:
        session.execute(
            sa.update(StatementRecord)
            .where(StatementRecord.action == "accept")
            .values(actor="mallory")
        )
    refused(w.audit_verify(w.folder), "is not its signed statement")


def test_a_witness_file_that_is_not_this_log_s(witnessed: Witnessed, tmp_path: Path) -> None:
    note = (witnessed.folder / "latest.note").read_bytes()
    forged = tmp_path / "forged.note"
    forged.write_bytes(note.replace(b"\n\n", b"\n\n\xe2\x80\x94 other AAAAAAAAAA==\n", 1)[:-100])
    refused(witnessed.audit_verify(forged), "is not one this log signed")


# -- item 4: the database does not decide the signed status ------------------------------------


def _get(url: str, path: str, token: str) -> tuple[int, Any]:
    response = urllib3.request(
        "GET", url + path, headers={"Authorization": f"Bearer {token}"}, retries=False
    )
    return response.status, json.loads(response.data)


def test_a_retired_version_set_back_to_checked_in_is_not_signed(lib: World, served: str) -> None:
    submit_and_accept(lib)
    check_in(lib)
    status, _ = _get(served, V + "/status", lib.tokens["alice"])
    assert status == 200
    with lib.depot.db.read() as session:
        old = session.get(VersionStatus, 1)
        assert old is not None
        old_envelope, old_serial = old.envelope, old.serial
    call(lib, "victor", "POST", V + "/retire", {"reason": "superseded"})
    # The attacker sets the rows back, first the state columns only, then with the older
    # signed checked_in status document and its serial put back as well.
    for restore_document in (False, True):
        with lib.depot.db.write() as session:
            session.execute(sa.update(Version).values(state="checked_in"))
            values: dict[str, Any] = {"state": "checked_in"}
            if restore_document:
                values |= {"envelope": old_envelope, "serial": old_serial}
            session.execute(sa.update(VersionStatus).values(**values))
        lib.clock.advance(minutes=16)  # the last status expired: the server must sign anew
        status, answer = _get(served, V + "/status", lib.tokens["alice"])
        assert status == 409, answer
        assert answer["error"] == "trust.refused"
        assert "refusing to sign team/app@1.0.0 as checked_in" in answer["message"]
        assert "retired" in answer["message"]
        status, docs = _get(served, V + "/trust", lib.tokens["alice"])
        assert status == 409 and docs["error"] == "trust.refused"
    refusals = lib.audit(action="trust.refused")
    assert len(refusals) == 4 and refusals[0]["outcome"] == "failed"
    assert refusals[0]["target"] == "team/app@1.0.0"
    assert "edited" in refusals[0]["reason"] and "retired" in refusals[-1]["reason"]
    with lib.depot.db.read() as session:
        row = session.get(VersionStatus, 1)
        assert row is not None and row.envelope == old_envelope  # nothing new was signed
