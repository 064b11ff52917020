"""Blob storage for Depot: content-addressed, immutable, streaming.

One small protocol (:class:`~storage.base.BlobStore`) with two backends: a local folder
(the embedded default) and any S3-compatible service. Blobs live in a project group's
storage area at ``areas/<area>/sha256/ab/cd/<hex>``; this package knows nothing of users
or groups beyond that name.
"""

from storage.base import (
    BlobInfo,
    BlobNotFound,
    BlobReader,
    BlobRef,
    BlobStore,
    IntegrityMismatch,
    InvalidBlobAddress,
    StorageError,
    StorageUnavailable,
)
from storage.urls import open_store

__all__ = [
    "BlobInfo",
    "BlobNotFound",
    "BlobReader",
    "BlobRef",
    "BlobStore",
    "IntegrityMismatch",
    "InvalidBlobAddress",
    "StorageError",
    "StorageUnavailable",
    "open_store",
]
