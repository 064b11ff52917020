"""Upload sessions through the API: parts checked against the running digest, in order,
committed only when the whole file's size and sha256 match; the one-shot upload's rules
(membership, the lifecycle step, the name rules) hold; gc removes idle sessions."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from repo_server.clock import FrozenClock
from tests.fixtures.factories import populate_team
from tests.fixtures.helpers import sha256 as sha
from tests.support import World, make_settings, running_world

VERSION = "/api/v1/groups/team/products/app/versions/1.0.0"
PART = 5 << 20


@pytest.fixture
def team(tmp_path: Path, database_url: str, clock: FrozenClock) -> Iterator[World]:
    settings = make_settings(tmp_path, database_url, upload_part_size=PART)
    with running_world(settings, clock) as world:
        yield populate_team(world)


def begin(team: World, who: str, name: str, size: int, **extra: Any) -> Any:
    return team.call("POST", f"{VERSION}/uploads", team.tokens[who],
                     json={"name": name, "size": size, **extra})  # fmt: skip


def part(team: World, who: str, session: int, number: int, data: bytes, running: str) -> Any:
    return team.call("PUT", f"{VERSION}/uploads/{session}/parts/{number}", team.tokens[who],
                     data=data, headers={"X-Checksum-Sha256": running})  # fmt: skip


def send_all(team: World, who: str, session: int, data: bytes) -> None:
    for number, offset in enumerate(range(0, len(data), PART), start=1):
        chunk = data[offset : offset + PART]
        running = sha(data[: offset + len(chunk)])
        assert part(team, who, session, number, chunk, running).status_code == 201


def files(team: World) -> list[str]:
    found = team.call("GET", f"{VERSION}/files", team.tokens["bob"]).json["files"]
    return [f["name"] for f in found]


def test_a_file_in_parts_is_committed_when_the_whole_matches(team: World) -> None:
    data = os.urandom(2 * PART + 1000)
    r = begin(team, "bob", "big.bin", len(data), build_id="b-7")
    assert r.status_code == 201, r.json
    session = r.json["id"]
    assert r.json["part_size"] == PART and r.json["part_count"] == 3 and r.json["received"] == 0
    # Asking again finds the same session (what a resumed push does).
    again = begin(team, "bob", "big.bin", len(data))
    assert again.status_code == 200 and again.json["id"] == session

    first = data[:PART]
    assert (
        part(team, "bob", session, 2, data[PART : 2 * PART], sha(data[: 2 * PART])).status_code
        == 409
    )
    bad = part(team, "bob", session, 1, first, sha(b"not these bytes"))
    assert bad.status_code == 422 and bad.json["error"] == "integrity_mismatch"
    assert (
        team.call("GET", f"{VERSION}/uploads/{session}", team.tokens["bob"]).json["received"] == 0
    )
    short = part(team, "bob", session, 1, first[:-1], sha(first[:-1]))
    assert short.status_code == 400 and short.json["field"] == "size"
    assert part(team, "bob", session, 1, first, sha(first)).status_code == 201
    same = part(team, "bob", session, 1, first, sha(first))
    assert same.status_code == 200  # sent again: nothing changes
    other = part(team, "bob", session, 1, first, sha(b"x"))
    assert other.status_code == 409

    early = team.call("POST", f"{VERSION}/uploads/{session}/commit", team.tokens["bob"],
                      json={"sha256": sha(data)})  # fmt: skip
    assert early.status_code == 409 and early.json["received"] == PART
    send_all_from = data[PART:]
    for number, offset in ((2, PART), (3, 2 * PART)):
        chunk = data[offset : offset + PART]
        assert (
            part(team, "bob", session, number, chunk, sha(data[: offset + len(chunk)])).status_code
            == 201
        )
    assert files(team) == [] and len(send_all_from) == PART + 1000  # nothing visible yet
    status = team.call("GET", f"{VERSION}/uploads/{session}", team.tokens["bob"]).json
    assert status["received"] == len(data)
    assert [p["sha256"] for p in status["parts"]][-1] == sha(data)

    done = team.call("POST", f"{VERSION}/uploads/{session}/commit", team.tokens["bob"],
                     json={"sha256": sha(data)})  # fmt: skip
    assert done.status_code == 201, done.json
    assert done.json["sha256"] == sha(data) and done.json["size"] == len(data)
    assert done.json["uploaded_by"] == "bob"
    assert files(team) == ["big.bin"]
    got = team.call("GET", f"{VERSION}/files/big.bin", team.tokens["bob"])
    assert hashlib.sha256(got.data).hexdigest() == sha(data)
    assert team.call("GET", f"{VERSION}/uploads/{session}", team.tokens["bob"]).status_code == 404
    upload = team.audit(action="file.upload")[-1]
    assert upload["actor"] == "bob" and upload["details"]["sha256"] == sha(data)
    assert upload["details"]["build"] == {"build_id": "b-7"}


def test_a_whole_that_does_not_match_is_refused_and_nothing_is_visible(team: World) -> None:
    data = os.urandom(PART + 10)
    session = begin(team, "bob", "big.bin", len(data)).json["id"]
    send_all(team, "bob", session, data)
    wrong = team.call("POST", f"{VERSION}/uploads/{session}/commit", team.tokens["bob"],
                      json={"sha256": sha(b"something else")})  # fmt: skip
    assert wrong.status_code == 422 and wrong.json["error"] == "integrity_mismatch"
    assert files(team) == []
    assert team.call("GET", f"{VERSION}/uploads/{session}", team.tokens["bob"]).status_code == 404
    assert list(team.depot.store.iter_blobs()) == []
    refused = team.audit(action="file.upload")[-1]
    assert refused["outcome"] == "refused" and refused["rule"] == "integrity.sha256"
    # A digest declared at the start must be the whole's too.
    declared = begin(team, "bob", "big.bin", len(data), sha256=sha(b"x")).json["id"]
    send_all(team, "bob", declared, data)
    late = team.call("POST", f"{VERSION}/uploads/{declared}/commit", team.tokens["bob"], json={})
    assert late.status_code == 422 and files(team) == []


def test_the_one_shot_upload_rules_hold(team: World) -> None:
    size = PART + 1
    # Not a member of the group: the group does not exist for him.
    assert begin(team, "dave", "big.bin", size).status_code == 404
    one_shot = team.upload("team/app@1.0.0", "big.bin", b"x", team.tokens["dave"])
    assert one_shot.status_code == 404
    # Name rules, on every segment.
    for name in ("../evil", "sub//x", "a\x00b"):
        r = begin(team, "bob", name, size)
        assert r.status_code == 400, (name, r.json)
    # A name equal to a stored one after case folding clashes.
    assert team.upload("team/app@1.0.0", "Setup.EXE", b"x", team.tokens["bob"]).status_code == 201
    clash = begin(team, "bob", "setup.exe", size)
    assert clash.status_code == 409 and clash.json["clashes_with"] == "Setup.EXE"
    # Over the limit.
    too_big = begin(team, "bob", "huge.bin", team.depot.settings.max_upload_size + 1)
    assert too_big.status_code == 413
    # Someone else's session is not there for you.
    mine = begin(team, "bob", "big.bin", size).json["id"]
    assert team.call("GET", f"{VERSION}/uploads/{mine}", team.tokens["alice"]).status_code == 404
    # Once the version is submitted, the lifecycle refuses the commit as it refuses uploads.
    send_all(team, "bob", mine, os.urandom(size))
    submitted = team.call("POST", f"{VERSION}/submit", team.tokens["alice"],
                          json={"to": "carol", "comment": ""})  # fmt: skip
    assert submitted.status_code in (200, 201), submitted.json
    shot = team.upload("team/app@1.0.0", "late.bin", b"late", team.tokens["bob"])
    session = team.call("GET", f"{VERSION}/uploads/{mine}", team.tokens["bob"]).json
    commit = team.call("POST", f"{VERSION}/uploads/{mine}/commit", team.tokens["bob"],
                       json={"sha256": session["parts"][-1]["sha256"]})  # fmt: skip
    assert commit.status_code == shot.status_code and commit.json["rule"] == shot.json["rule"]
    assert begin(team, "bob", "new.bin", size).status_code == shot.status_code
    assert files(team) == ["Setup.EXE"]


def test_gc_removes_idle_sessions_with_their_bytes(team: World, clock: FrozenClock) -> None:
    data = os.urandom(PART + 5)
    session = begin(team, "bob", "big.bin", len(data)).json["id"]
    assert part(team, "bob", session, 1, data[:PART], sha(data[:PART])).status_code == 201
    staged = list((Path(team.depot.settings.data_dir) / "blobs" / "staging").iterdir())
    assert len(staged) == 1
    assert team.depot.uploads.remove_idle(3600) == []  # not idle yet
    clock.advance(hours=2)
    removed = team.depot.uploads.remove_idle(3600)
    assert removed == [f"upload session {session} of 'big.bin' ({len(data)} bytes, idle)"]
    assert not staged[0].exists()
    assert team.call("GET", f"{VERSION}/uploads/{session}", team.tokens["bob"]).status_code == 404
    gone = team.call("DELETE", f"{VERSION}/uploads/{session}", team.tokens["bob"])
    assert gone.status_code == 404


def test_a_retried_pipeline_job_resumes_with_a_new_token(team: World) -> None:
    """A group's CI identities share their sessions; a person's stay her own."""
    tokens = []
    for name in ("job-1", "job-2"):
        made = team.call("POST", "/api/v1/tokens", team.tokens["alice"],
                         json={"group": "team", "scope": "upload", "name": name})  # fmt: skip
        assert made.status_code == 201, made.json
        tokens.append(made.json["token"])
    body = {"name": "big.bin", "size": PART + 1}
    first = team.call("POST", f"{VERSION}/uploads", tokens[0], json=body)
    assert first.status_code == 201 and first.json["created_by"].startswith("ci:team:")
    retried = team.call("POST", f"{VERSION}/uploads", tokens[1], json=body)
    assert retried.status_code == 200 and retried.json["id"] == first.json["id"]
    assert begin(team, "bob", "big.bin", PART + 1).json["id"] != first.json["id"]
