"""Staged uploads (the bytes of upload sessions) on both backends: parts checked against
the running digest, invisible until committed, committed as a content-addressed blob,
removed when aborted."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from storage import BlobStore, IntegrityMismatch, open_store
from storage.base import StagedPart
from storage.running_hash import RunningSha256
from storage.s3 import S3BlobStore
from tests.fixtures.helpers import sha256 as sha
from tests.storage.test_contract import ChunkedSource, read_all, store  # noqa: F401

PART = 5 << 20


def stage(store: BlobStore, data: bytes) -> tuple[str, list[StagedPart]]:  # noqa: F811
    staging = store.begin_staging()
    hasher = RunningSha256()
    parts = []
    for number, offset in enumerate(range(0, len(data), PART), start=1):
        chunk = data[offset : offset + PART]
        running = hashlib.sha256(data[: offset + len(chunk)]).hexdigest()
        parts.append(
            store.stage_part(
                staging,
                number,
                offset,
                ChunkedSource(chunk),
                size=len(chunk),
                sha256=running,
                hasher=hasher,
            )
        )
    return staging, parts


def test_staged_parts_become_one_blob(store: BlobStore) -> None:  # noqa: F811
    data = os.urandom(2 * PART + 12345)
    staging, parts = stage(store, data)
    assert [b.sha256 for b in store.iter_blobs()] == []  # nothing visible yet
    ref = store.commit_staging(staging, "team", sha(data), len(data), parts)
    assert ref.created and ref.sha256 == sha(data)
    assert read_all(store, "team", sha(data)) == data
    assert [(b.sha256, b.size) for b in store.iter_blobs()] == [(sha(data), len(data))]
    # The same bytes staged again: the stored blob stays, the copy is dropped.
    again, parts = stage(store, data)
    assert store.commit_staging(again, "team", sha(data), len(data), parts).created is False
    assert [b.sha256 for b in store.iter_blobs()] == [sha(data)]


def test_a_part_whose_running_digest_disagrees_is_refused(store: BlobStore) -> None:  # noqa: F811
    staging = store.begin_staging()
    chunk = os.urandom(PART)
    with pytest.raises(IntegrityMismatch):
        store.stage_part(staging, 1, 0, io.BytesIO(chunk), size=PART, sha256=sha(b"other"),
                         hasher=RunningSha256())  # fmt: skip
    with pytest.raises(IntegrityMismatch):  # cut off: fewer bytes than the part's size
        store.stage_part(staging, 1, 0, io.BytesIO(chunk[:100]), size=PART, sha256=sha(chunk),
                         hasher=RunningSha256())  # fmt: skip
    store.abort_staging(staging)
    store.abort_staging(staging)  # twice: nothing left, no error
    assert list(store.iter_blobs()) == []


def test_the_running_hash_resumes_from_its_saved_state() -> None:
    data = os.urandom(3_000_001)
    first = RunningSha256()
    first.update(data[:1_000_000])
    assert first.hexdigest() == sha(data[:1_000_000])
    second = RunningSha256(first.state)
    second.update(bytearray(data[1_000_000:2_000_000]))
    second.update(memoryview(data)[2_000_000:])
    assert second.hexdigest() == sha(data)


def test_an_s3_commit_cut_off_after_completing_is_finished_by_the_next(
    s3_bucket: str, moto_endpoint: str
) -> None:
    s3 = open_store(f"s3://{s3_bucket}/depot?endpoint_url={moto_endpoint}&part_size=5MiB")
    assert isinstance(s3, S3BlobStore)
    data = os.urandom(PART + 7)
    staging, parts = stage(s3, data)
    key, upload_id = s3._staged(staging)
    s3.client.complete_multipart_upload(  # what the cut-off commit did before it failed
        Bucket=s3_bucket, Key=key, UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]},
    )  # fmt: skip
    assert s3.commit_staging(staging, "team", sha(data), len(data), parts).created
    assert read_all(s3, "team", sha(data)) == data
