"""``depot-server scrub``: blobs re-hashed against the database, on a folder and on S3."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from repo_server.auth.principal import system
from repo_server.clock import FrozenClock
from repo_server.trust.scrub import Scrubber
from storage.base import blob_key
from tests.support import DatabaseTemplates, World, make_settings, running_world

REF = "team/app@1.0.0"
GOOD = b"the build" * 1000
DOC = b"the manual"


@pytest.fixture(params=["filesystem", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "filesystem":
        return "filesystem", f"file://{tmp_path}/blobs"
    bucket = request.getfixturevalue("s3_bucket")
    endpoint = request.getfixturevalue("moto_endpoint")
    return "s3", f"s3://{bucket}/depot?endpoint_url={endpoint}"


@pytest.fixture
def stored(
    backend: tuple[str, str], tmp_path: Path, db_templates: DatabaseTemplates
) -> Iterator[World]:
    settings = make_settings(tmp_path, db_templates.sqlite(tmp_path), storage_url=backend[1])
    with running_world(settings, FrozenClock()) as world:
        world.user("bob")
        world.group("team", {"bob": "member"})
        world.product("team", "app", world.tokens["bob"])
        world.version("team", "app", "1.0.0", world.tokens["bob"])
        assert world.upload(REF, "app.tar.gz", GOOD, world.tokens["bob"]).status_code == 201
        assert world.upload(REF, "manual.pdf", DOC, world.tokens["bob"]).status_code == 201
        yield world


def overwrite(world: World, backend: tuple[str, str], sha: str, data: bytes | None) -> None:
    """Change (or, with ``None``, remove) a blob behind the server's back."""
    kind, url = backend
    key = blob_key("team", sha)
    if kind == "filesystem":
        path = Path(url.removeprefix("file://")) / key
        if data is None:
            path.unlink()
        else:
            path.chmod(0o644)
            path.write_bytes(data)
        return
    bucket = url.removeprefix("s3://").split("/", 1)[0]
    endpoint = url.split("endpoint_url=", 1)[1]
    s3 = boto3.client("s3", endpoint_url=endpoint)
    if data is None:
        s3.delete_object(Bucket=bucket, Key=f"depot/{key}")
    else:
        s3.put_object(Bucket=bucket, Key=f"depot/{key}", Body=data)


def scrubber(world: World, tmp_path: Path) -> Scrubber:
    depot = world.depot
    return Scrubber(depot.db, depot.store, depot.audit, tmp_path / "scrub-state.json")


def test_a_clean_store_scrubs_clean_and_the_scrub_is_audited(stored: World, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    depot = stored.depot
    state = Scrubber(
        depot.db,
        depot.store,
        depot.audit,
        tmp_path / "scrub-state.json",
        progress=lambda done, total: seen.append((done, total)),
    ).run(system())
    assert state.ok and state.checked == 2 and state.bytes == len(GOOD) + len(DOC)
    assert seen[-1] == (len(GOOD) + len(DOC), len(GOOD) + len(DOC))
    [record] = stored.audit(action="storage.scrub")
    assert record["outcome"] == "ok" and record["details"]["checked"] == 2
    assert not (tmp_path / "scrub-state.json").exists()


def test_changed_missing_and_unreferenced_blobs_are_reported(
    stored: World, backend: tuple[str, str], tmp_path: Path
) -> None:
    good_sha = hashlib.sha256(GOOD).hexdigest()
    doc_sha = hashlib.sha256(DOC).hexdigest()
    overwrite(stored, backend, good_sha, b"tampered" + GOOD[8:])
    overwrite(stored, backend, doc_sha, None)
    stray = b"nobody's file"
    stored.depot.store.ingest(
        "team", io.BytesIO(stray), size=len(stray), sha256=hashlib.sha256(stray).hexdigest()
    )
    state = scrubber(stored, tmp_path).run(system())
    assert not state.ok
    assert [c["file"] for c in state.changed] == ["app@1.0.0/app.tar.gz"]
    assert state.changed[0]["actual_sha256"] != good_sha
    assert [m["file"] for m in state.missing] == ["app@1.0.0/manual.pdf"]
    assert [u["sha256"] for u in state.unreferenced] == [hashlib.sha256(stray).hexdigest()]
    [record] = stored.audit(action="storage.scrub")
    assert record["outcome"] == "failed"
    assert (record["details"]["changed"], record["details"]["missing"]) == (1, 1)


def test_an_unreferenced_blob_alone_is_not_damage(stored: World, tmp_path: Path) -> None:
    stray = b"the bytes of an upload refused after they were stored"
    digest = hashlib.sha256(stray).hexdigest()
    stored.depot.store.ingest("team", io.BytesIO(stray), size=len(stray), sha256=digest)
    state = scrubber(stored, tmp_path).run(system())
    assert state.ok and [u["sha256"] for u in state.unreferenced] == [digest]
    [record] = stored.audit(action="storage.scrub")
    assert record["outcome"] == "ok"


def test_an_interrupted_scrub_resumes_where_it_stopped(stored: World, tmp_path: Path) -> None:
    class Interrupt(Exception):
        pass

    def stop_after_first(done: int, total: int) -> None:
        raise Interrupt

    depot = stored.depot
    state_file = tmp_path / "scrub-state.json"
    first = Scrubber(depot.db, depot.store, depot.audit, state_file, progress=stop_after_first)
    with pytest.raises(Interrupt):
        first.run(system())
    assert '"checked": 1' in state_file.read_text()
    resumed = scrubber(stored, tmp_path).run(system(), resume=True)
    assert resumed.ok and resumed.checked == 2
