"""Open a blob store from the one setting that chooses it: ``DEPOT_STORAGE_URL``.

- ``file:///srv/depot/blobs`` or a plain path: a local folder.
- ``s3://bucket/prefix?endpoint_url=http://127.0.0.1:9000&region=us-east-1``: an S3 API.
  Other query parameters: ``addressing_style`` (``path``/``virtual``), ``part_size``
  (bytes, or with a ``MiB`` suffix), ``create_bucket=true`` (development set-ups).
  Credentials come from the usual AWS sources (``AWS_ACCESS_KEY_ID``... or a profile),
  never from the URL.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from storage.base import BlobStore, StorageError
from storage.filesystem import FilesystemBlobStore
from storage.s3 import DEFAULT_PART_SIZE, S3BlobStore

_S3_OPTIONS = {"endpoint_url", "region", "addressing_style", "part_size", "create_bucket"}


def _parse_size(text: str) -> int:
    text = text.strip()
    for suffix, factor in (("MiB", 1 << 20), ("GiB", 1 << 30), ("KiB", 1 << 10)):
        if text.endswith(suffix):
            return int(text[: -len(suffix)]) * factor
    return int(text)


def open_store(url: str) -> BlobStore:
    """Build the blob store that ``url`` names. Raises ``StorageError`` on a bad URL."""
    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        path = unquote(parts.path if parts.scheme else url)
        if not path:
            raise StorageError(f"storage URL {url!r} names no folder")
        return FilesystemBlobStore(path)
    if parts.scheme != "s3":
        raise StorageError(f"unsupported storage URL {url!r}: use file:// or s3://")
    if not parts.netloc:
        raise StorageError(f"storage URL {url!r} names no bucket")
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(options) - _S3_OPTIONS
    if unknown:
        raise StorageError(f"unknown S3 storage option(s): {', '.join(sorted(unknown))}")
    import boto3
    from botocore.config import Config

    style = options.get("addressing_style", "auto")
    if style not in ("auto", "path", "virtual"):
        raise StorageError(f"addressing_style must be auto, path or virtual, not {style!r}")
    config = Config(
        s3={"addressing_style": style},  # type: ignore[arg-type]
        retries={"max_attempts": 5, "mode": "standard"},
        # Depot hashes every byte itself; the extra CRC headers only break older S3 clones.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=32,
    )
    client = boto3.client(
        "s3",
        endpoint_url=options.get("endpoint_url"),
        region_name=options.get("region") or None,
        config=config,
    )
    try:
        part_size = _parse_size(options.get("part_size", str(DEFAULT_PART_SIZE)))
    except ValueError:
        raise StorageError(f"invalid part_size in storage URL {url!r}") from None
    prefix = parts.path.lstrip("/")
    endpoint = options.get("endpoint_url", "AWS")
    store = S3BlobStore(
        client,
        parts.netloc,
        prefix,
        part_size=part_size,
        description=f"s3://{parts.netloc}/{prefix} at {endpoint}",
    )
    if options.get("create_bucket", "").lower() in ("1", "true", "yes"):
        store.create_bucket()
    return store
