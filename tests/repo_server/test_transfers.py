"""Uploading and downloading files: checksums, immutability, ranges, limits."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from storage import BlobStore
from tests.fixtures.helpers import sha256 as sha
from tests.support import World

FILE = "/api/v1/groups/team/products/app/versions/1.0.0/files/"


def stored_blobs(world: World) -> list[tuple[str, str, int]]:
    store: BlobStore = world.depot.store
    return [(b.area, b.sha256, b.size) for b in store.iter_blobs()]


def test_upload_then_download(team: World) -> None:
    data = os.urandom(300_000)
    r = team.upload("team/app@1.0.0", "app-1.0.0.tar.gz", data, team.tokens["bob"])
    assert r.status_code == 201
    assert (
        r.json["created"] is True and r.json["sha256"] == sha(data) and r.json["size"] == len(data)
    )
    assert r.json["uploaded_by"] == "bob" and r.json["role"] == "artifact"
    assert r.json["media_type"] == "application/x-tar"
    r = team.call("GET", FILE + "app-1.0.0.tar.gz", team.tokens["carol"])
    assert r.status_code == 200 and r.data == data
    assert r.headers["X-Checksum-Sha256"] == sha(data)
    assert (
        r.headers["Repr-Digest"]
        == "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"
    )
    assert r.headers["ETag"] == f'"{sha(data)}"'
    assert r.headers["Content-Length"] == str(len(data))
    assert "attachment" in r.headers["Content-Disposition"]
    assert stored_blobs(team) == [("team", sha(data), len(data))]
    upload = team.audit(action="file.upload")[-1]
    assert upload["actor"] == "bob" and upload["target"] == "team/app@1.0.0/app-1.0.0.tar.gz"
    assert upload["details"] == {"role": "artifact", "sha256": sha(data), "size": len(data)}
    download = team.audit(action="file.download")[-1]
    assert download["actor"] == "carol" and download["remote_addr"] == "127.0.0.1"


def test_documents_are_tagged(team: World) -> None:
    r = team.upload(
        "team/app@1.0.0", "manual.pdf", b"%PDF-1.7", team.tokens["alice"], role="document"
    )
    assert r.status_code == 201 and r.json["role"] == "document"
    r = team.upload("team/app@1.0.0", "x.bin", b"x", team.tokens["alice"], role="poster")
    assert r.status_code == 400


def test_the_same_bytes_again_are_a_no_op(team: World) -> None:
    data = b"build output"
    assert team.upload("team/app@1.0.0", "a.bin", data, team.tokens["bob"]).status_code == 201
    again = team.upload("team/app@1.0.0", "a.bin", data, team.tokens["alice"])
    assert again.status_code == 200 and again.json["created"] is False
    assert again.json["uploaded_by"] == "bob"
    assert len(team.audit(action="file.upload")) == 1


def test_different_bytes_under_a_stored_name_are_refused(team: World) -> None:
    assert team.upload("team/app@1.0.0", "a.bin", b"first", team.tokens["bob"]).status_code == 201
    r = team.upload("team/app@1.0.0", "a.bin", b"second", team.tokens["bob"])
    assert r.status_code == 409 and r.json["sha256"] == sha(b"first")
    assert team.call("GET", FILE + "a.bin", team.tokens["bob"]).data == b"first"
    assert stored_blobs(team) == [("team", sha(b"first"), 5)]


def test_no_one_can_delete_or_replace_files(team: World) -> None:
    assert team.upload("team/app@1.0.0", "a.bin", b"first", team.tokens["bob"]).status_code == 201
    for token in (team.tokens["bob"], team.tokens["alice"], team.tokens["root"]):
        assert team.call("DELETE", FILE + "a.bin", token).status_code == 405
        assert team.call("POST", FILE + "a.bin", token, data=b"x").status_code == 405
    assert team.call("GET", FILE + "a.bin", team.tokens["bob"]).data == b"first"


def test_a_wrong_checksum_stores_nothing(team: World) -> None:
    data = os.urandom(50_000)
    r = team.upload(
        "team/app@1.0.0", "a.bin", data, team.tokens["bob"], sha256=sha(b"something else")
    )
    assert r.status_code == 422
    assert r.json["error"] == "integrity_mismatch" and r.json["kind"] == "sha256"
    assert sha(data) in r.json["message"]
    assert (
        team.call(
            "GET", "/api/v1/groups/team/products/app/versions/1.0.0", team.tokens["bob"]
        ).json["files"]
        == []
    )
    assert stored_blobs(team) == []
    refused = team.audit(action="file.upload")[-1]
    assert refused["outcome"] == "refused" and refused["rule"] == "integrity.sha256"


def test_a_wrong_declared_size_stores_nothing(team: World) -> None:
    r = team.upload(
        "team/app@1.0.0", "a.bin", b"12345", team.tokens["bob"], headers={"X-Depot-Size": "6"}
    )
    assert r.status_code == 422 and r.json["kind"] == "size"
    assert stored_blobs(team) == []


def test_rfc9530_content_digest_is_accepted(team: World) -> None:
    data = b"digest by header"
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"
    path = FILE + "d.bin"
    r = team.call("PUT", path, team.tokens["bob"], data=data, headers={"Content-Digest": digest})
    assert r.status_code == 201 and r.json["sha256"] == sha(data)
    r = team.call(
        "PUT",
        FILE + "e.bin",
        team.tokens["bob"],
        data=data,
        headers={"Content-Digest": "sha-256=:" + base64.b64encode(b"x" * 32).decode() + ":"},
    )
    assert r.status_code == 422


def test_a_checksum_must_be_declared(team: World) -> None:
    r = team.call("PUT", FILE + "a.bin", team.tokens["bob"], data=b"data")
    assert r.status_code == 400 and r.json["field"] == "sha256"
    r = team.upload("team/app@1.0.0", "a.bin", b"data", team.tokens["bob"], sha256="abc")
    assert r.status_code == 400
    assert stored_blobs(team) == []


@pytest.mark.parametrize(
    "name",
    [
        "..",
        ".",
        "%2E%2E",
        "a/../b",
        "a/%2E%2E/b",
        "a/./b",
        "a//b",
        "a%2F%2Fb",
        "a/",
        "%2Fetc/passwd",
        "sub%5Cinner.txt",
        "sub/a%00b",
        "sub/cafe%CC%81",
        "a%5Cb",
        "C:x",
        "a%00b",
        "a%0Ab",
        "a%1Bb",
        "x" * 256,
        "%C3%A9" * 128,
        "a%E2%80%AEb",
        "CON",
        " a",
        "a.",
    ],
)
def test_dangerous_file_names_are_refused(team: World, name: str) -> None:
    r = team.upload("team/app@1.0.0", name, b"payload", team.tokens["bob"])
    assert r.status_code in (400, 404, 405), name
    if r.status_code == 400:
        assert r.json["error"] == "invalid_request" and r.json["field"] == "file"
    assert (
        team.call(
            "GET", "/api/v1/groups/team/products/app/versions/1.0.0", team.tokens["bob"]
        ).json["files"]
        == []
    )
    assert stored_blobs(team) == []


def test_file_names_with_folders_are_stored_listed_and_served(team: World) -> None:
    for name in ("sub/inner.txt", "sub/deeper/版本说明.txt"):
        r = team.upload("team/app@1.0.0", name, name.encode(), team.tokens["bob"])
        assert r.status_code == 201 and r.json["name"] == name
    r = team.call("GET", FILE + "sub%2Finner.txt", team.tokens["carol"])
    assert r.status_code == 200 and r.data == b"sub/inner.txt"
    r = team.call("GET", FILE + "sub/deeper/版本说明.txt", team.tokens["carol"])
    assert r.status_code == 200 and r.data == "sub/deeper/版本说明.txt".encode()
    listed = team.call("GET", FILE[:-1], team.tokens["bob"]).json["files"]
    assert [f["name"] for f in listed] == ["sub/deeper/版本说明.txt", "sub/inner.txt"]


def test_the_version_page_lists_and_serves_a_file_in_a_folder(team: World) -> None:
    from tests.repo_server.test_plugin_extensions import sign_in_page

    team.upload("team/app@1.0.0", "sub/inner.txt", b"inner", team.tokens["bob"])
    sign_in_page(team, "bob")
    page = team.client.get("/groups/team/app/1.0.0").get_data(as_text=True)
    link = '/groups/team/app/1.0.0/files/sub/inner.txt"'
    assert link in page and ">sub/inner.txt</a>" in page
    served = team.client.get(link[:-1])
    assert served.status_code == 200 and served.data == b"inner"
    assert served.headers["Content-Disposition"] == "attachment; filename*=UTF-8''inner.txt"


@pytest.mark.parametrize(
    "stored,sent",
    [
        ("Setup.EXE", "setup.exe"),
        ("docs/README.md", "DOCS/readme.md"),
        ("setup.exe", "\uff53etup.exe"),  # a full-width s: equal after NFKC
        ("Strasse.txt", "STRA\u00dfE.txt"),
    ],
)
def test_names_equal_after_nfkc_and_case_folding_clash(team: World, stored: str, sent: str) -> None:
    assert team.upload("team/app@1.0.0", stored, b"one", team.tokens["bob"]).status_code == 201
    blobs = stored_blobs(team)
    r = team.upload("team/app@1.0.0", sent, b"two", team.tokens["bob"])
    assert r.status_code == 409, r.json
    assert r.json["clashes_with"] == stored and repr(stored) in r.json["message"]
    names = [
        f["name"]
        for f in team.call(
            "GET", "/api/v1/groups/team/products/app/versions/1.0.0", team.tokens["bob"]
        ).json["files"]
    ]
    assert names == [stored] and stored_blobs(team) == blobs
    last = team.audit(action="file.upload")[-1]
    assert last["outcome"] == "refused" and last["target"] == f"team/app@1.0.0/{sent}"
    assert last["rule"] == "name.clash"


def test_non_nfc_file_name_is_refused(team: World) -> None:
    decomposed = "cafe\u0301.txt"
    r = team.upload("team/app@1.0.0", decomposed, b"x", team.tokens["bob"])
    assert r.status_code == 400 and "NFC" in r.json["message"]


def test_unicode_file_names_that_are_fine(team: World) -> None:
    name = "版本说明 v1.0 (final).txt"
    r = team.upload("team/app@1.0.0", name, "说明".encode(), team.tokens["bob"])
    assert r.status_code == 201 and r.json["name"] == name
    r = team.call("GET", FILE + name, team.tokens["bob"])
    assert r.data == "说明".encode()
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]


def test_upload_limit(tmp_path: Path, database_url: str, clock: object) -> None:
    from tests.support import make_settings, running_world

    with running_world(make_settings(tmp_path, database_url, max_upload_size=1000), clock) as world:  # type: ignore[arg-type]
        token = world.user("bob")
        world.group("team", {"bob": "member"})
        world.product("team", "app", token)
        world.version("team", "app", "1.0.0", token)
        assert world.upload("team/app@1.0.0", "small.bin", b"x" * 1000, token).status_code == 201
        r = world.upload("team/app@1.0.0", "big.bin", b"x" * 1001, token)
        assert r.status_code == 413 and "1000 bytes" in r.json["message"]


def test_range_and_conditional_downloads(team: World) -> None:
    data = os.urandom(4 << 20)
    team.upload("team/app@1.0.0", "a.bin", data, team.tokens["bob"])
    bob = team.tokens["bob"]
    r = team.call("GET", FILE + "a.bin", bob, headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.data == data[100:200]
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    r = team.call("GET", FILE + "a.bin", bob, headers={"Range": f"bytes={len(data) - 10}-"})
    assert r.status_code == 206 and r.data == data[-10:]
    r = team.call(
        "GET", FILE + "a.bin", bob, headers={"Range": "bytes=100-", "If-Range": f'"{sha(data)}"'}
    )
    assert r.status_code == 206 and r.data == data[100:]
    r = team.call(
        "GET", FILE + "a.bin", bob, headers={"Range": "bytes=100-", "If-Range": '"other"'}
    )
    assert r.status_code == 200 and r.data == data
    r = team.call("GET", FILE + "a.bin", bob, headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(data)}"
    r = team.call("GET", FILE + "a.bin", bob, headers={"If-None-Match": f'"{sha(data)}"'})
    assert r.status_code == 304 and r.data == b""
    r = team.call("HEAD", FILE + "a.bin", bob)
    assert r.status_code == 200 and r.headers["Content-Length"] == str(len(data)) and r.data == b""
    assert r.headers["X-Checksum-Sha256"] == sha(data)


def test_a_missing_blob_is_reported_not_served(team: World) -> None:
    data = b"will vanish"
    team.upload("team/app@1.0.0", "a.bin", data, team.tokens["bob"])
    path = team.depot.store.local_path("team", sha(data))
    assert path is not None
    path.chmod(0o644)
    path.unlink()
    r = team.call("GET", FILE + "a.bin", team.tokens["bob"])
    assert r.status_code == 503 and "missing or damaged" in r.json["message"]
    assert team.audit(action="file.download")[-1]["outcome"] == "failed"


def put_without_length(
    world: World, body: bytes, headers: dict[str, str], *, terminated: bool
) -> tuple[int, dict]:
    """PUT a body with no Content-Length, as a chunked request reaches the app."""
    import io
    import json

    from werkzeug.test import EnvironBuilder, run_wsgi_app

    environ = EnvironBuilder(
        FILE + "a.bin", method="PUT", headers=headers, input_stream=io.BytesIO(body)
    ).get_environ()
    del environ["CONTENT_LENGTH"]
    if terminated:  # what gunicorn sets after decoding a chunked body
        environ["wsgi.input_terminated"] = True
    app_iter, status, _ = run_wsgi_app(world.app, environ)
    return int(status.split()[0]), json.loads(b"".join(app_iter))


def test_upload_needs_a_length(team: World) -> None:
    headers = {"X-Checksum-Sha256": sha(b"abc"), "Authorization": f"Bearer {team.tokens['bob']}"}
    status, answer = put_without_length(team, b"abc", headers, terminated=False)
    assert status == 411 and answer["error"] == "length_required"
    status, answer = put_without_length(team, b"abc", headers, terminated=True)
    assert status == 400 and answer["field"] == "size"
    status, answer = put_without_length(
        team, b"abc", {**headers, "X-Depot-Size": "4"}, terminated=True
    )
    assert status == 422 and answer["kind"] == "size"
    status, answer = put_without_length(
        team, b"abc", {**headers, "X-Depot-Size": "3"}, terminated=True
    )
    assert status == 201 and answer["size"] == 3
