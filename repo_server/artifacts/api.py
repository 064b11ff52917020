"""API routes for products, versions and files, including the byte transfers."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

from flask import Response, request, send_file

from repo_server.api.http import bp, depot, field, json_body, principal, signed_in
from repo_server.artifacts.transfers import BUILD_FIELDS, Download
from repo_server.errors import IntegrityError, InvalidRequest, LengthRequired

Json = tuple[dict[str, Any], int] | dict[str, Any]
VERSION_PATH = "/groups/<group>/products/<product>/versions/<version>"


@bp.get("/groups/<group>/products")
def list_products(group: str) -> Json:
    """The products of a group."""
    products = depot().catalog.list_products(principal(), group)
    return {"products": [p.to_json() for p in products]}


@bp.post("/groups/<group>/products")
def register_product(group: str) -> Json:
    """Register a product in a group."""
    body = json_body()
    product = depot().catalog.register_product(
        principal(),
        group,
        field(body, "name", str, required=True),
        category=field(body, "category", str, required=True),
        origin=field(body, "origin", str, required=True),
        vendor=field(body, "vendor", str),
        description=field(body, "description", str, ""),
    )
    return product.to_json(), 201


@bp.get("/groups/<group>/products/<product>")
def get_product(group: str, product: str) -> Json:
    """One product."""
    return depot().catalog.get_product(principal(), group, product).to_json()


@bp.get("/groups/<group>/products/<product>/versions")
def list_versions(group: str, product: str) -> Json:
    """The versions of a product, newest first."""
    versions = depot().catalog.list_versions(principal(), group, product)
    return {"versions": [v.to_json() for v in versions]}


@bp.post("/groups/<group>/products/<product>/versions")
def create_version(group: str, product: str) -> Json:
    """Create a draft version of a product."""
    body = json_body()
    version = depot().catalog.create_version(
        principal(),
        group,
        product,
        field(body, "version", str, required=True),
        field(body, "description", str, ""),
    )
    return version.to_json(), 201


@bp.get(VERSION_PATH)
def get_version(group: str, product: str, version: str) -> Json:
    """One version with its files."""
    return depot().catalog.get_version(principal(), group, product, version).to_json()


@bp.get(VERSION_PATH + "/files")
def list_files(group: str, product: str, version: str) -> Json:
    """The files of a version (names, roles, sizes, sha256)."""
    info = depot().catalog.get_version(principal(), group, product, version)
    return {"ref": info.ref, "files": [f.to_json() for f in info.files]}


def declared_sha256() -> str | None:
    """The digest the uploader declared.

    ``X-Checksum-Sha256`` (hex), or the RFC 9530 ``Content-Digest: sha-256=:base64:``.
    """
    hex_digest = request.headers.get("X-Checksum-Sha256")
    if hex_digest:
        return hex_digest
    content_digest = request.headers.get("Content-Digest", "")
    for item in content_digest.split(","):
        algorithm, _, value = item.strip().partition("=")
        if algorithm.strip().lower() == "sha-256" and value.startswith(":") and value.endswith(":"):
            try:
                return base64.b64decode(value[1:-1], validate=True).hex()
            except (binascii.Error, ValueError):
                raise InvalidRequest(
                    "Content-Digest sha-256 value is not base64", field="sha256"
                ) from None
    return None


def declared_size() -> int | None:
    """The file size the uploader declared: ``X-Depot-Size``, else the Content-Length.

    When both are sent they must agree; a body of another length than declared is an
    integrity failure (422), answered before any byte is stored.
    """
    length = request.content_length
    raw = request.headers.get("X-Depot-Size")
    if raw is None:
        if length is None and not request.environ.get("wsgi.input_terminated"):
            raise LengthRequired("send a Content-Length (or X-Depot-Size with a chunked body)")
        return length
    try:
        size = int(raw)
    except ValueError:
        raise InvalidRequest("X-Depot-Size must be a whole number of bytes", field="size") from None
    if size < 0:
        raise InvalidRequest("X-Depot-Size must not be negative", field="size")
    if length is not None and length != size:
        raise IntegrityError(
            f"size mismatch: declared {size} bytes, the body has {length}", kind="size"
        )
    return size


@bp.put(VERSION_PATH + "/files/<name>")
def upload_file(group: str, product: str, version: str, name: str) -> Json:
    """Upload one file: the raw bytes as the body, with their declared sha256.

    201 when stored, 200 when the version already holds these exact bytes under that
    name, 409 when it holds other bytes, 422 when the bytes are not what was declared.
    """
    result = depot().transfers.upload(
        principal(),
        group,
        product,
        version,
        name,
        source=request.stream,
        size=declared_size(),
        sha256=declared_sha256(),
        role=request.args.get("role", "artifact"),
        build={k: request.args[k] for k in BUILD_FIELDS if k in request.args},
    )
    return {"ref": result.ref, "created": result.created, **result.file.to_json()}, (
        201 if result.created else 200
    )


@bp.route(VERSION_PATH + "/files/<name>", methods=["GET", "HEAD"])
def download_file(group: str, product: str, version: str, name: str) -> Response:
    """The bytes of one file, with its sha256; supports Range and If-None-Match."""
    download = depot().transfers.open_download(
        principal(),
        group,
        product,
        version,
        name,
        record=request.method == "GET",
        byte_range=request.headers.get("Range", ""),
    )
    return file_response(download)


def file_response(download: Download) -> Response:
    """The HTTP response carrying ``download`` (whole, a range, or 304/416)."""
    info = download.file
    etag = info.sha256
    headers = {
        "X-Checksum-Sha256": info.sha256,
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(info.sha256)).decode()}:",
        "ETag": f'"{etag}"',
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-cache",
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(info.name, safe='')}",
        "X-Content-Type-Options": "nosniff",
    }
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    start, length, status = 0, info.size, 200
    byte_range = request.range
    if_range = request.if_range
    range_applies = byte_range is not None and (
        not (if_range.etag or if_range.date) or if_range.etag == etag
    )
    if byte_range is not None and range_applies:
        bounds = byte_range.range_for_length(info.size)
        if bounds is None:
            headers["Content-Range"] = f"bytes */{info.size}"
            return Response(status=416, headers=headers)
        start, stop = bounds
        length, status = stop - start, 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{info.size}"
    path = download.local_path() if status == 200 and not download.guarded else None
    if path is not None:
        response = send_file(path, mimetype=info.media_type, conditional=False, etag=False)
        response.headers.update(headers)
        return response
    response = Response(
        download.chunks(start, length), status=status, mimetype=info.media_type, headers=headers
    )
    response.content_length = length
    return response


@bp.get("/search")
def search() -> Json:
    """Products, versions and files of the caller's groups by name (``q``) or ``sha256``."""
    hits = depot().catalog.search(
        signed_in(), request.args.get("q"), request.args.get("sha256") or None
    )
    return {"results": [h.to_json() for h in hits]}
