"""The S3 backend: AWS S3, MinIO, Ceph RGW, moto's server — anything speaking the S3 API.

An upload goes straight to its content-addressed key as a multipart upload (parts of
``part_size`` bytes, one part buffered at a time) and is completed only when size and
digest match; otherwise it is aborted and nothing is visible. Small blobs (up to one
part) are buffered and written with a single PUT. Both commits are conditional
(``If-None-Match: *``), so a stored blob is never replaced.

An upload session's parts go to a multipart upload of a staging key
(``staging/<uuid>``): its digest is known only once the last part is in. The commit
completes it and copies it, inside the store, to its content-addressed key.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from storage.base import (
    CHUNK_SIZE,
    BlobInfo,
    BlobNotFound,
    BlobRef,
    ClosingReader,
    Hasher,
    ProgressCallback,
    Readable,
    StagedPart,
    StorageUnavailable,
    blob_key,
    check_area,
    parse_blob_key,
)
from storage.pipeline import discard, pump

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
else:
    S3Client = Any

MIN_PART_SIZE = 5 << 20
DEFAULT_PART_SIZE = 8 << 20
MAX_PARTS = 10_000


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


class S3BlobReader(ClosingReader):
    """Streams (a range of) one object."""

    def __init__(self, client: S3Client, bucket: str, key: str, start: int, length: int | None):
        try:
            head = client.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _status(error) == 404:
                raise BlobNotFound(key) from None
            raise StorageUnavailable(f"S3 head of {key} failed: {error}") from error
        total = int(head["ContentLength"])
        start = min(max(start, 0), total)
        self.size = total - start if length is None else max(0, min(length, total - start))
        self._body: Any = None
        if self.size:
            try:
                response = client.get_object(
                    Bucket=bucket, Key=key, Range=f"bytes={start}-{start + self.size - 1}"
                )
            except ClientError as error:
                raise StorageUnavailable(f"S3 read of {key} failed: {error}") from error
            self._body = response["Body"]

    def __iter__(self) -> Iterator[bytes]:
        if self._body is None:
            return
        yield from self._body.iter_chunks(CHUNK_SIZE)

    def close(self) -> None:
        if self._body is not None:
            self._body.close()


class _PartWriter:
    """Collects chunks into parts and uploads each part as soon as it is full."""

    def __init__(self, client: S3Client, bucket: str, key: str, upload_id: str, part_size: int):
        self.client, self.bucket, self.key = client, bucket, key
        self.upload_id, self.part_size = upload_id, part_size
        self.buffer = bytearray()
        self.parts: list[dict[str, Any]] = []

    def __call__(self, chunk: bytes) -> None:
        self.buffer += chunk
        if len(self.buffer) >= self.part_size:
            self.flush()

    def flush(self) -> None:
        if not self.buffer and self.parts:
            return
        number = len(self.parts) + 1
        body = bytes(self.buffer)
        self.buffer.clear()
        response = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts.append({"PartNumber": number, "ETag": response["ETag"]})


class S3BlobStore:
    """Blobs in an S3 bucket under an optional key prefix."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str = "",
        *,
        part_size: int = DEFAULT_PART_SIZE,
        description: str | None = None,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"S3 part size must be at least {MIN_PART_SIZE} bytes")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size
        self.description = description or f"s3://{bucket}/{self.prefix}"

    def _key(self, area: str, sha256: str) -> str:
        return self.prefix + blob_key(area, sha256)

    def ingest(
        self,
        area: str,
        source: Readable,
        *,
        size: int,
        sha256: str,
        progress: ProgressCallback | None = None,
    ) -> BlobRef:
        key = self._key(area, sha256)
        ref = BlobRef(area, sha256, size, key, created=True)
        if self.stat(area, sha256) is not None:
            pump(source, discard, size=size, sha256=sha256, progress=progress)
            return BlobRef(area, sha256, size, key, created=False)
        try:
            if size <= self.part_size:
                buffer = bytearray()
                pump(source, buffer.extend, size=size, sha256=sha256, progress=progress)
                return ref if self._put_small(key, bytes(buffer), sha256) else _existing(ref)
            return (
                ref if self._put_multipart(key, source, size, sha256, progress) else _existing(ref)
            )
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"S3 upload of {key} failed: {error}") from error

    def _put_small(self, key: str, body: bytes, sha256: str) -> bool:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*", Metadata={"sha256": sha256}
            )
        except ClientError as error:
            if _status(error) == 412:
                return False
            raise
        return True

    def _put_multipart(
        self,
        key: str,
        source: Readable,
        size: int,
        sha256: str,
        progress: ProgressCallback | None,
    ) -> bool:
        part_size = max(self.part_size, math.ceil(size / MAX_PARTS / (1 << 20)) << 20)
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, Metadata={"sha256": sha256}
        )["UploadId"]
        try:
            writer = _PartWriter(self.client, self.bucket, key, upload_id, part_size)
            pump(source, writer, size=size, sha256=sha256, progress=progress)
            writer.flush()
            try:
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": writer.parts},  # type: ignore[typeddict-item]
                    IfNoneMatch="*",
                )
            except ClientError as error:
                if _status(error) == 412:
                    self._abort(key, upload_id)
                    return False
                raise
        except BaseException:
            self._abort(key, upload_id)
            raise
        return True

    def _abort(self, key: str, upload_id: str) -> None:
        with contextlib.suppress(BotoCoreError, ClientError):  # else gc removes it later
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def _staged(self, staging: str) -> tuple[str, str]:
        name, _, upload_id = staging.partition(":")
        if not name.isalnum() or not upload_id:
            raise StorageUnavailable(f"invalid staging id {staging!r}")
        return f"{self.prefix}staging/{name}", upload_id

    def begin_staging(self) -> str:
        name = uuid.uuid4().hex
        try:
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=f"{self.prefix}staging/{name}"
            )["UploadId"]
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"S3 could not begin a staged upload: {error}") from error
        return f"{name}:{upload_id}"

    def stage_part(
        self,
        staging: str,
        number: int,
        offset: int,
        source: Readable,
        *,
        size: int,
        sha256: str,
        hasher: Hasher,
        progress: ProgressCallback | None = None,
    ) -> StagedPart:
        key, upload_id = self._staged(staging)
        buffer = bytearray()
        # Checked before S3 sees a byte: a part whose digest disagrees never reaches it.
        pump(source, buffer.extend, size=size, sha256=sha256, progress=progress, hasher=hasher)
        try:
            response = self.client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                Body=bytes(buffer),
            )  # fmt: skip
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"S3 upload of part {number} failed: {error}") from error
        return StagedPart(number, str(response["ETag"]))

    def commit_staging(
        self, staging: str, area: str, sha256: str, size: int, parts: list[StagedPart]
    ) -> BlobRef:
        staged, upload_id = self._staged(staging)
        key = self._key(area, sha256)
        try:
            try:
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=staged,
                    UploadId=upload_id,
                    MultipartUpload={
                        "Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]
                    },
                )
            except ClientError as error:
                # Completed by an earlier commit that failed afterwards: go on from there.
                if _error_code(error) != "NoSuchUpload" or not self._exists(staged):
                    raise
            created = self.stat(area, sha256) is None
            if created:
                # A copy inside the store (multipart for large objects): no byte comes back.
                self.client.copy(
                    {"Bucket": self.bucket, "Key": staged},
                    self.bucket,
                    key,
                    ExtraArgs={"Metadata": {"sha256": sha256}, "MetadataDirective": "REPLACE"},
                )
            self.client.delete_object(Bucket=self.bucket, Key=staged)
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"S3 commit of {key} failed: {error}") from error
        return BlobRef(area, sha256, size, key, created=created)

    def _exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _status(error) == 404:
                return False
            raise
        return True

    def abort_staging(self, staging: str) -> None:
        key, upload_id = self._staged(staging)
        self._abort(key, upload_id)
        with contextlib.suppress(BotoCoreError, ClientError):  # completed, not yet copied
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def stat(self, area: str, sha256: str) -> int | None:
        key = self._key(area, sha256)
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as error:
            if _status(error) == 404:
                return None
            raise StorageUnavailable(f"S3 head of {key} failed: {error}") from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"S3 head of {key} failed: {error}") from error

    def open(
        self, area: str, sha256: str, start: int = 0, length: int | None = None
    ) -> S3BlobReader:
        try:
            return S3BlobReader(self.client, self.bucket, self._key(area, sha256), start, length)
        except BotoCoreError as error:
            raise StorageUnavailable(f"S3 read failed: {error}") from error

    def local_path(self, area: str, sha256: str) -> Path | None:
        return None

    def iter_blobs(self, area: str | None = None) -> Iterator[BlobInfo]:
        prefix = self.prefix + "areas/"
        if area is not None:
            prefix += check_area(area) + "/"
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    parsed = parse_blob_key(item["Key"][len(self.prefix) :])
                    if parsed is not None:
                        stored = item["LastModified"].timestamp()
                        yield BlobInfo(parsed[0], parsed[1], int(item["Size"]), stored)
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"S3 listing failed: {error}") from error

    def remove(self, area: str, sha256: str) -> None:
        key = self._key(area, sha256)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"S3 delete of {key} failed: {error}") from error

    def remove_incomplete(self, older_than: float, now: float) -> list[str]:
        removed: list[str] = []
        cutoff = datetime.fromtimestamp(now - older_than, tz=UTC)
        paginator = self.client.get_paginator("list_multipart_uploads")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + "areas/"):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < cutoff:
                        self._abort(upload["Key"], upload["UploadId"])
                        removed.append(f"multipart upload {upload['UploadId']} of {upload['Key']}")
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"S3 listing of uploads failed: {error}") from error
        return removed

    def create(self) -> None:
        """Nothing: the bucket is the operator's (``create_bucket=true`` makes it on open)."""

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            raise StorageUnavailable(
                f"S3 bucket {self.bucket!r} is not usable ({_error_code(error) or error})"
            ) from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"S3 endpoint not reachable: {error}") from error

    def create_bucket(self) -> None:
        """Create the bucket if it does not exist (for development set-ups and tests)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            if _status(error) != 404:
                raise StorageUnavailable(f"S3 bucket {self.bucket!r}: {error}") from error
            self.client.create_bucket(Bucket=self.bucket)


def _existing(ref: BlobRef) -> BlobRef:
    return BlobRef(ref.area, ref.sha256, ref.size, ref.key, created=False)
