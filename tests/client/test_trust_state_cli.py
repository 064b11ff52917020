"""Whether a version is in the library comes only from signed, fresh, rollback-protected
state: the product's library index. Attacked with a proxy that rewrites the server's
answers, with edits of the server's database, and with the client's own remembered state;
every refusal writes nothing and exits with the documented code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result

from policies.trust.dsse import Envelope, sign
from policies.trust.library import LIBRARY as LIBRARY_TYPE
from policies.trust.library import LibraryIndex
from repo_server.trust.rotation import resign_all
from tests.client.conftest import Live
from tests.client.test_lifecycle_cli import REF, V, api, js, ok, run
from tests.client.test_trust_cli import BUILD, released  # noqa: F401  (a fixture)
from tests.fixtures.helpers import sha256 as sha
from tests.proxy import Answer, Proxy, rewriting_proxy

EVIL = b"the bvild"  # as long as BUILD, never approved
LIBRARY = "/api/v1/groups/team/products/app/library"


@pytest.fixture
def proxy(released: Live) -> Iterator[Proxy]:  # noqa: F811
    with rewriting_proxy(released.url) as running:
        yield running


def via(live: Live, proxy: Proxy, who: str, *args: str, config: Path | None = None) -> Result:
    """`depot ARGS` as ``who``, talking to the server through ``proxy``."""
    env = {"DEPOT_URL": proxy.url, "DEPOT_TOKEN": live.world.tokens[who]}
    if config is not None:
        env["DEPOT_CONFIG_DIR"] = str(config)
    return live.depot(*args, env=env)


def pin(live: Live, proxy: Proxy, who: str, config: Path | None = None) -> None:
    fingerprint = live.world.depot.keys.fingerprint()
    result = via(live, proxy, who, "trust", "init", proxy.url, "--root-fingerprint", fingerprint,
                 config=config)  # fmt: skip
    assert result.exit_code == 0, result.output


def as_a_draft(answer: Answer) -> None:
    """The attack of issue 10: the version is reported `accepted`, its file as EVIL."""
    if answer.path.split("?")[0] == V and answer.method == "GET":
        body = json.loads(answer.body)
        body["state"] = "accepted"
        body["library_number"] = None
        for entry in body["files"]:
            if entry["name"] == "app.tar.gz":
                entry.update(sha256=sha(EVIL), size=len(EVIL))
        answer.body = json.dumps(body).encode()
    if answer.path.startswith(V + "/files/app.tar.gz"):
        answer.status = 200
        answer.headers = {"Content-Type": "application/octet-stream",
                          "X-Checksum-Sha256": sha(EVIL)}  # fmt: skip
        answer.body = EVIL


def nothing_written(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def test_a_proxy_reporting_a_checked_in_version_as_accepted_gets_nothing_written(
    released: Live,  # noqa: F811
    proxy: Proxy,
    tmp_path: Path,
) -> None:
    pin(released, proxy, "alice")
    proxy.rewrites.append(as_a_draft)
    # alice (with a check-out) has never pulled it: the signed index lists it all the same.
    result = via(released, proxy, "alice", "pull", REF, "-o", str(tmp_path / "a"))
    assert result.exit_code == 6 and sha(EVIL) in result.output, result.output
    assert nothing_written(tmp_path / "a"), list((tmp_path / "a").iterdir())
    # Without the sha256 header the bytes themselves are refused.
    proxy.rewrites.append(lambda answer: answer.headers.pop("X-Checksum-Sha256", None))
    result = via(released, proxy, "alice", "pull", REF, "-o", str(tmp_path / "a"))
    assert result.exit_code == 6 and "failed verification" in result.output, result.output
    assert nothing_written(tmp_path / "a")
    # --unverified changes nothing for a version the signed index lists.
    result = via(released, proxy, "alice", "pull", REF, "-o", str(tmp_path / "a"), "--unverified")
    assert result.exit_code == 6 and nothing_written(tmp_path / "a")
    # bob has no check-out: the server refuses him, the proxy answers 200 with EVIL.
    result = via(released, proxy, "bob", "pull", REF, "app.tar.gz", "-o", str(tmp_path / "b"))
    assert result.exit_code == 6, result.output
    assert nothing_written(tmp_path / "b")
    assert "verified" not in result.stdout


def test_a_replayed_index_from_before_the_check_in(lib: Live, tmp_path: Path) -> None:
    """The freeze window: an index signed before the check-in, still valid, replayed."""
    from tests.client.test_lifecycle_cli import accepted

    accepted(lib)
    before = api(lib, "alice", "GET", LIBRARY)  # signed while 1.0.0 was not in the library
    request = api(lib, "alice", "POST", V + "/checkin", {"release_notes": "first"}, 201)
    api(lib, "victor", "POST", f"/api/v1/requests/{request['id']}/approve", {})
    checkout = api(lib, "alice", "POST", V + "/checkout", {"purpose": "deploy"}, 201)
    api(lib, "victor", "POST", f"/api/v1/requests/{checkout['id']}/approve", {})
    replay = False

    def old_index(answer: Answer) -> None:
        if replay and answer.path == LIBRARY:
            answer.body = json.dumps(before).encode()

    with rewriting_proxy(lib.url) as proxy:
        proxy.rewrites += [old_index, as_a_draft]
        pin(lib, proxy, "alice")
        seen_it = via(lib, proxy, "alice", "--json", "pull", REF, "app.tar.gz",
                      "-o", str(tmp_path / "first"))  # fmt: skip
        assert seen_it.exit_code == 6  # the proxy's EVIL bytes, refused
        proxy.rewrites.remove(as_a_draft)
        assert via(lib, proxy, "alice", "pull", REF, "app.tar.gz", "-o",
                   str(tmp_path / "ok")).exit_code == 0  # fmt: skip
        proxy.rewrites.append(as_a_draft)
        replay = True
        # A client that saw the newer index: a rollback.
        result = via(lib, proxy, "alice", "pull", REF, "-o", str(tmp_path / "a"), "--unverified")
        assert result.exit_code == 6 and "older than serial" in result.output, result.output
        assert nothing_written(tmp_path / "a")
        # A new machine that never saw it: not in the library, so never "verified", and
        # nothing written without --unverified.
        fresh = tmp_path / "new-machine"
        pin(lib, proxy, "alice", config=fresh)
        result = via(lib, proxy, "alice", "pull", REF, "-o", str(tmp_path / "b"), config=fresh)
        assert result.exit_code == 6 and "is not in the library" in result.output
        assert "--unverified" in result.output and nothing_written(tmp_path / "b")
        result = via(lib, proxy, "alice", "--json", "pull", REF, "-o", str(tmp_path / "c"),
                     "--unverified", config=fresh)  # fmt: skip
        assert result.exit_code == 0, result.output
        pulled = json.loads(result.stdout)
        assert pulled["verified"] is False and "signed" not in pulled
        assert "NOT verified" in result.stderr


def test_a_forged_or_withheld_index_is_refused(
    released: Live,  # noqa: F811
    proxy: Proxy,
    tmp_path: Path,
) -> None:
    pin(released, proxy, "alice")

    def forged(answer: Answer) -> None:
        if answer.path == LIBRARY:
            envelope = json.loads(answer.body)
            import base64

            payload = json.loads(base64.b64decode(envelope["payload"]))
            payload["versions"] = []
            envelope["payload"] = base64.b64encode(
                json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
            ).decode()
            answer.body = json.dumps(envelope).encode()

    proxy.rewrites.append(forged)
    proxy.rewrites.append(as_a_draft)
    result = via(released, proxy, "alice", "pull", REF, "-o", str(tmp_path / "a"), "--unverified")
    assert (
        result.exit_code == 6 and "library index" in result.output and "signature" in result.output
    )
    assert nothing_written(tmp_path / "a")

    def withheld(answer: Answer) -> None:
        if answer.path == LIBRARY:
            answer.status, answer.body = 404, b'{"error": "not_found", "message": "no"}'

    proxy.rewrites[0] = withheld
    result = via(released, proxy, "alice", "pull", REF, "-o", str(tmp_path / "a"), "--unverified")
    assert result.exit_code != 0 and nothing_written(tmp_path / "a")


def database(live: Live) -> sa.Engine:
    return sa.create_engine(live.world.depot.settings.effective_database_url)


def test_a_version_seen_in_the_library_never_comes_back_as_not_in_it(
    released: Live,  # noqa: F811
    tmp_path: Path,
) -> None:
    assert (
        run(released, "alice", "pull", REF, "app.tar.gz", "-o", str(tmp_path / "ok")).exit_code == 0
    )
    # Someone with the database makes it a draft again: the server signs an index without it.
    with database(released).begin() as db:
        db.execute(sa.text("UPDATE versions SET state = 'accepted', manifest = NULL, "
                           "manifest_sha256 = NULL, library_number = NULL"))  # fmt: skip
    result = run(released, "alice", "pull", REF, "-o", str(tmp_path / "a"), "--unverified")
    assert result.exit_code == 6, result.output
    assert "was seen in the library (library number 1)" in result.output
    assert "no longer lists it" in result.output and nothing_written(tmp_path / "a")


def test_a_retirement_once_seen_is_never_undone(
    released: Live,  # noqa: F811
    proxy: Proxy,
    tmp_path: Path,
) -> None:
    pin(released, proxy, "alice")
    pulled = via(released, proxy, "alice", "pull", REF, "app.tar.gz", "-o", str(tmp_path / "ok"))
    assert pulled.exit_code == 0, pulled.output
    api(released, "victor", "POST", V + "/retire", {"reason": "superseded by 1.1"})
    refused = via(released, proxy, "alice", "pull", REF, "-o", str(tmp_path / "a"))
    assert refused.exit_code == 7 and "retired" in refused.output
    # The database is set back: the server itself refuses to sign it (the status must
    # follow from the signed log), so the attacker also takes the server's status key and
    # serves a freshly signed index that lists the version as checked in again.
    with database(released).begin() as db:
        db.execute(sa.text("UPDATE versions SET state = 'checked_in'"))
    status_key = released.world.depot.keys.private("status")

    def undone(answer: Answer) -> None:
        if answer.path == LIBRARY and answer.status == 200:
            index = LibraryIndex.from_payload(Envelope.from_json(json.loads(answer.body)).payload)
            forged = replace(
                index,
                serial=index.serial + 1,
                versions=tuple(replace(e, state="checked_in") for e in index.versions),
            )
            answer.body = json.dumps(
                sign(LIBRARY_TYPE, forged.to_payload(), [status_key]).to_json()
            ).encode()

    proxy.rewrites.append(undone)
    result = via(released, proxy, "alice", "pull", REF, "-o", str(tmp_path / "a"))
    assert result.exit_code == 6 and "was seen retired" in result.output, result.output
    assert nothing_written(tmp_path / "a")
    state = next((released.config_dir / "trust").glob("*/state.json"))
    remembered = json.loads(state.read_text())["library"]["team/app"]["versions"]["1.0.0"]
    assert remembered["state"] == "retired"


def test_the_stale_allowance_is_bounded(released: Live, tmp_path: Path) -> None:  # noqa: F811
    result = run(released, "alice", "pull", REF, "-o", str(tmp_path), "--allow-stale-status=31d")
    assert result.exit_code == 2 and "at most 30d" in result.output
    result = run(released, "alice", "pull", REF, "-o", str(tmp_path), "--allow-stale-status=soon")
    assert result.exit_code == 2 and "duration like" in result.output
    pulled = js(released, "alice", "pull", REF, "app.tar.gz", "-o", str(tmp_path),
                "--allow-stale-status=15m")  # fmt: skip
    assert pulled["verified"] is True and pulled["signed"]["status"] == "checked_in"


def test_a_shrunk_log_exits_6(released: Live, proxy: Proxy, tmp_path: Path) -> None:  # noqa: F811
    pin(released, proxy, "alice")
    small = api(released, "alice", "GET", "/api/v1/log/checkpoint")
    assert (
        via(released, proxy, "alice", "pull", REF, "app.tar.gz", "-o", str(tmp_path)).exit_code == 0
    )
    grown = json.loads(via(released, proxy, "alice", "--json", "audit", "verify").stdout)
    small_size = int(small["size"])
    assert grown["size"] > small_size

    def shrunk(answer: Answer) -> None:
        if answer.path == "/api/v1/log/checkpoint":
            answer.body = json.dumps(small).encode()

    proxy.rewrites.append(shrunk)
    result = via(released, proxy, "alice", "audit", "verify")
    assert result.exit_code == 6 and "shrank" in result.output, result.output
    result = via(released, proxy, "alice", "pull", REF, "app.tar.gz", "-o", str(tmp_path / "b"))
    assert result.exit_code == 6 and "shrank" in result.output, result.output
    assert nothing_written(tmp_path / "b")


def test_offline_verify_never_trusts_less_than_the_newest_stored_keyring(
    released: Live,  # noqa: F811
    tmp_path: Path,
) -> None:
    pulled = js(released, "alice", "pull", REF, "app.tar.gz", "-o", str(tmp_path), "--bundle")
    bundle = Path(pulled["bundle"])
    assert len(json.loads(bundle.read_text())["keyrings"]) == 1
    file = str(tmp_path / "app.tar.gz")
    assert js(released, "alice", "verify", file, "--bundle", str(bundle))["ref"] == REF
    # The keys are rotated; alice's client learns keyring 2 (status key 1 is out).
    world = released.world
    with world.depot.db.write() as session:
        current = world.depot.keys.rotate(session, world.root_keys, world.clock.now())
        resign_all(session, world.depot.keys, current.version)
    assert js(released, "alice", "audit", "verify")["ok"]
    assert js(released, "alice", "trust", "show")["keyring_version"] == 2
    result = run(released, "alice", "verify", file, "--bundle", str(bundle))
    assert result.exit_code == 6 and "rotated out" in result.output, result.output
    # (A bundle made after the rotation verifies once manifests outlive rotations: issue 10,
    # item 2, which re-signs or proves the past.)


def test_the_unsigned_record_alone_never_makes_bytes_verified(lib: Live, tmp_path: Path) -> None:
    """A draft: with a pinned root and without, its files need --unverified."""
    w = lib.world
    assert w.upload(REF, "app.tar.gz", BUILD, w.tokens["alice"]).status_code == 201
    result = run(lib, "bob", "pull", REF, "-o", str(tmp_path / "a"))
    assert result.exit_code == 6 and "no trusted root" in result.output
    ok(lib, "bob", "trust", "init", lib.url, "--root-fingerprint", w.depot.keys.fingerprint())
    result = run(lib, "bob", "pull", REF, "-o", str(tmp_path / "a"))
    assert result.exit_code == 6 and "not in the library" in result.output
    assert nothing_written(tmp_path / "a")
    pulled: dict[str, Any] = js(lib, "bob", "pull", REF, "-o", str(tmp_path / "a"), "--unverified")
    assert pulled["verified"] is False and (tmp_path / "a" / "app.tar.gz").read_bytes() == BUILD
    assert "UNVERIFIED" in run(lib, "bob", "pull", REF, "-o", str(tmp_path / "b"),
                               "--unverified").stdout  # fmt: skip


def test_a_file_hidden_from_the_listing_is_pulled_all_the_same(
    released: Live,  # noqa: F811
    proxy: Proxy,
    tmp_path: Path,
) -> None:
    """For a version in the library, the signed manifest says which files there are."""
    pin(released, proxy, "alice")

    def hide(answer: Answer) -> None:
        if answer.path == V and answer.method == "GET":
            body = json.loads(answer.body)
            body["files"] = [f for f in body["files"] if f["name"] != "manual.pdf"]
            answer.body = json.dumps(body).encode()

    proxy.rewrites.append(hide)
    result = via(released, proxy, "alice", "pull", REF, "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "manual.pdf").read_bytes() == b"%PDF"
    assert (tmp_path / "app.tar.gz").read_bytes() == BUILD
