"""The signed documents: what each payload holds, and that every field is checked both ways."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest

from policies.trust.canonical import canonical_bytes
from policies.trust.documents import (
    Checkpoint,
    FileEntry,
    Manifest,
    Statement,
    Status,
    Subject,
    leaf_record,
)
from policies.trust.errors import TrustError
from policies.trust.fields import check_filename
from tests.policies.trust.factory import FILES, NOW, REF, World

W = World()


def refused(check: str, match: str, fn, *args) -> TrustError:  # type: ignore[no-untyped-def]
    with pytest.raises(TrustError, match=match) as info:
        fn(*args)
    assert info.value.check == check, info.value
    return info.value


def edit(payload: bytes, **changes: Any) -> bytes:
    obj = json.loads(payload)
    for name, value in changes.items():
        if value is ...:
            del obj[name]
        else:
            obj[name] = value
    return canonical_bytes(obj)


def test_manifest_payload() -> None:
    obj = json.loads(W.manifest.to_payload())
    assert obj["_type"] == "depot.manifest" and obj["spec_version"] == "1"
    assert obj["checked_in_at"] == "2026-11-27T10:00:00Z"
    assert obj["files"][1]["build"] == {"builder": "gitlab", "commit": "abc123", "pipeline": "42"}
    assert obj["files"][0]["build"] is None
    assert Manifest.from_payload(W.manifest.to_payload()) == W.manifest
    assert W.manifest.ref == REF
    assert W.manifest.file("app-1.2.0.whl") is FILES[1]
    refused("name", "acme/app@1.2.0 has no file named 'app.exe'", W.manifest.file, "app.exe")


M = W.manifest.to_payload()
F0 = FILES[0].to_json()


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"_type": "depot.status"}, "is a 'depot.status', not a 'depot.manifest'"),
        ({"spec_version": "2"}, "spec_version '2'"),
        ({"group": ...}, "lacks the field\\(s\\) group"),
        ({"signed_by": "me"}, "unknown field\\(s\\) signed_by"),
        ({"group": ""}, "'group' must be a non-empty string"),
        ({"version": 120}, "'version' must be a non-empty string"),
        ({"library_number": "17"}, "'library_number' must be a whole number"),
        ({"library_number": True}, "'library_number' must be a whole number"),
        ({"category": None}, "'category' must be a string"),
        ({"files": []}, "'files' must be a non-empty list"),
        ({"files": {}}, "'files' must be a list"),
        ({"files": [F0, F0]}, "one file name twice"),
        ({"files": [{**F0, "sha256": "AB" * 32}]}, "file 0 of the manifest: field 'sha256'"),
        ({"files": [{**F0, "sha256": "ab" * 31}]}, "64 lowercase hex"),
        ({"files": [{**F0, "role": "binary"}]}, "'role' must be one of artifact"),
        ({"files": [{**F0, "size": "1000"}]}, "'size' must be a whole number"),
        ({"files": [{**F0, "build": {"commit": 1}}]}, "'build' must be null or an object"),
        ({"files": [{**F0, "build": {"host": "x"}}]}, "'build' must be null or an object"),
        ({"files": [{**F0, "build": []}]}, "'build' must be null or an object"),
        ({"files": [{**F0, "extra": 1}]}, "file 0 of the manifest has unknown"),
        ({"files": ["x"]}, "file 0 of the manifest must be a JSON object"),
        ({"statements": ["abc"]}, "'statements' must be a list of sha256s"),
        ({"statements": "abc"}, "'statements' must be a list"),
        ({"checked_in_at": "2026-11-27 10:00"}, "'checked_in_at' must be a UTC time"),
        ({"require_personal_checkin": 1}, "'require_personal_checkin' must be true or false"),
    ],
)
def test_manifest_fields_are_checked(changes: dict[str, Any], match: str) -> None:
    refused("document", match, Manifest.from_payload, edit(M, **changes))


@pytest.mark.parametrize("name", ["../a", ".", "..", "/etc/passwd", "C:\\x", "a\u200bb", "CON"])
def test_unsafe_file_names_are_refused_in_manifests(name: str) -> None:
    refused(
        "name", "invalid file name", Manifest.from_payload, edit(M, files=[{**F0, "name": name}])
    )


def test_the_server_cannot_sign_a_document_the_client_would_refuse() -> None:
    refused("document", "'library_number'", replace(W.manifest, library_number=-1).to_payload)
    bad = replace(W.manifest, files=(replace(FILES[0], sha256="X"),))
    refused("document", "'sha256'", bad.to_payload)
    refused("canonical", "control character", replace(W.manifest, category="a\nb").to_payload)
    refused(
        "time",
        "no time zone",
        replace(W.manifest, checked_in_at=NOW.replace(tzinfo=None)).to_payload,
    )


def test_check_filename() -> None:
    assert check_filename("app-1.2.0.tar.gz") == "app-1.2.0.tar.gz"
    refused("name", "longer than 255 bytes", check_filename, "é" * 128)
    refused("name", "file name is empty", check_filename, "")
    refused("name", "control or invisible character U\\+0000", check_filename, "a\x00b")
    refused("name", "not in Unicode NFC", check_filename, "e\u0301")


def statement_payload() -> bytes:
    return W.checkin_env.payload


def test_statement_payload() -> None:
    statement = Statement.from_payload(statement_payload())
    obj = json.loads(statement_payload())
    assert obj["_type"] == "depot.statement"
    assert obj["subject"]["files"]["app-1.2.0.whl"] == FILES[1].sha256
    assert obj["subject"]["manifest_sha256"] is None
    assert statement.prev == W.accept_env.payload_sha256()
    assert statement.attestation == "personal" and statement.role == "version_manager"
    assert Statement.from_payload(statement.to_payload()) == statement


S = statement_payload()
SUBJ = json.loads(S)["subject"]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"action": "approve"}, "'action' must be one of accept, reject"),
        ({"role": "admin"}, "'role' must be one of acceptance_officer"),
        ({"attestation": "none"}, "'attestation' must be one of personal, server"),
        ({"prev": "x"}, "'prev' must be a sha256"),
        ({"request_id": "1"}, "'request_id' must be a whole number"),
        ({"comment": None}, "'comment' must be a string"),
        ({"subject": []}, "the statement's subject must be a JSON object"),
        ({"subject": {**SUBJ, "files": {"a": "b"}}}, "'files' must be an object of file name"),
        ({"subject": {**SUBJ, "files": []}}, "'files' must be an object"),
        ({"subject": {**SUBJ, "manifest_sha256": 5}}, "'manifest_sha256' must be a sha256"),
        ({"subject": {**SUBJ, "version": ""}}, "'version' must be a non-empty string"),
        ({"_type": "depot.manifest"}, "not a 'depot.statement'"),
    ],
)
def test_statement_fields_are_checked(changes: dict[str, Any], match: str) -> None:
    refused("document", match, Statement.from_payload, edit(S, **changes))


def test_subject_file_names_must_be_safe() -> None:
    refused(
        "name", "is not a folder or file name", Statement.from_payload,
        edit(S, subject={**SUBJ, "files": {"../x": FILES[0].sha256}}),
    )  # fmt: skip
    subject = Subject("g", "p", "1", {"a": FILES[0].sha256}, FILES[1].sha256)
    assert Subject.from_json(subject.to_json()) == subject


def test_status_payload() -> None:
    status = W.status
    obj = json.loads(status.to_payload())
    assert obj["_type"] == "depot.status" and obj["serial"] == 5
    assert obj["expires"] == "2026-11-28T10:10:00Z"
    assert Status.from_payload(status.to_payload()) == status
    assert status.ref == REF
    payload = status.to_payload()
    refused("document", "'state' must be one of checked_in, retired, quarantined",
            Status.from_payload, edit(payload, state="blocked"))  # fmt: skip
    refused("document", "'serial' must be a whole number", Status.from_payload,
            edit(payload, serial="6"))  # fmt: skip
    refused("document", "'manifest_sha256'", Status.from_payload,
            edit(payload, manifest_sha256=None))  # fmt: skip


def test_checkpoint_payload_is_the_c2sp_body() -> None:
    root = bytes(range(32))
    cp = Checkpoint("depot.bank.example/log", 120, root)
    body = cp.to_payload()
    assert body == b"depot.bank.example/log\n120\n" + base64.b64encode(root) + b"\n"
    assert Checkpoint.from_payload(body) == cp
    assert Checkpoint.from_payload(b"o\n0\n" + base64.b64encode(root) + b"\n").size == 0


R = base64.b64encode(bytes(32))


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"o\n1\n" + R, "exactly three lines"),
        (b"o\n1\n" + R + b"\n\n", "exactly three lines"),
        (b"o\n1\n" + R + b"\nextension\n", "exactly three lines"),
        (b"o\r\n1\n" + R + b"\n", "is not a name"),
        (b"\n1\n" + R + b"\n", "is not a name"),
        (b"o\n01\n" + R + b"\n", "without leading zeros"),
        (b"o\n-1\n" + R + b"\n", "without leading zeros"),
        (b"o\n+1\n" + R + b"\n", "without leading zeros"),
        (b"o\n \n" + R + b"\n", "without leading zeros"),
        (b"o\n1\n" + base64.b64encode(bytes(31)) + b"\n", "31 bytes, not 32"),
        (b"o\n1\n!!\n", "not valid base64"),
        (b"\xff\n1\n" + R + b"\n", "not UTF-8"),
    ],
)
def test_checkpoint_body_is_strict(body: bytes, match: str) -> None:
    refused("document", match, Checkpoint.from_payload, body)


def test_checkpoint_cannot_be_built_wrong() -> None:
    refused("document", "three lines", Checkpoint("a\nb", 1, bytes(32)).to_payload)
    refused("document", "is not a name", Checkpoint("a\tb", 1, bytes(32)).to_payload)
    refused("document", "leading zeros", Checkpoint("o", -1, bytes(32)).to_payload)
    refused("document", "not 32", Checkpoint("o", 1, b"").to_payload)


def test_leaf_record_is_canonical() -> None:
    assert leaf_record({"b": 1, "a": "x"}) == b'{"a":"x","b":1}'
    refused("canonical", "floating-point", leaf_record, {"a": 0.5})


def test_file_entry_round_trip() -> None:
    for entry in FILES:
        assert FileEntry.from_json(entry.to_json()) == entry
