"""API routes for products, versions and files, including the byte transfers (shapes:
:mod:`repo_server.api.schemas.artifacts`)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

from flask import Response, request, send_file

from repo_server.api.contract import Header, Reply, request_body
from repo_server.api.http import bp, depot, error_json, principal, signed_in
from repo_server.api.paging import Answer, PageQuery, answer, page_request, paged
from repo_server.api.schemas.artifacts import (
    FileList,
    NewProduct,
    NewVersion,
    Product,
    ProductList,
    SearchQuery,
    SearchResults,
    Uploaded,
    UploadQuery,
    Version,
    VersionList,
)
from repo_server.artifacts.facts import ProductInfo, VersionInfo
from repo_server.artifacts.transfers import Download
from repo_server.artifacts.upload_checks import BUILD_FIELDS
from repo_server.errors import (
    IntegrityError,
    InvalidRequest,
    LengthRequired,
    RangeNotSatisfiable,
)

VERSION_PATH = "/groups/<group>/products/<product>/versions/<version>"
HIDDEN = {404: "no such group, product or version, or not one of yours"}
REFUSED = {403: "refused by a rule (the rule is named)", **HIDDEN}
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
FILE_HEADERS = {
    "X-Checksum-Sha256": Header("hex sha256 of the whole file", SHA256, required=True),
    "Repr-Digest": Header("RFC 9530: sha-256 of the whole file", required=True),
    "ETag": Header("the sha256, quoted (strong validator)", required=True),
    "Accept-Ranges": Header("always bytes"),
    "Content-Disposition": Header("attachment with the file name"),
}


@bp.operation(
    "GET",
    "/groups/<group>/products",
    auth="optional",
    query=PageQuery,
    replies={200: paged(ProductList)},
    errors=HIDDEN,
)
def list_products(group: str, query: PageQuery) -> Answer:
    """The products of a group, by name."""
    page = depot().catalog.list_products(principal(), group, page_request(query))
    return answer({"products": page.items}, page)


@bp.operation(
    "POST",
    "/groups/<group>/products",
    auth="optional",
    body=NewProduct,
    replies={
        201: Reply(
            Product,
            "filed for a version manager's approval (``registration: pending``, the request in "
            "``registration_request``), or registered at once where the group waives the review",
        )
    },
    errors={**REFUSED, 409: "a product of that name exists in the group"},
)
def register_product(group: str, body: NewProduct) -> tuple[ProductInfo, int]:
    """Register a product in a group, with its first ``version``: a registration request a
    version manager approves (the group's ``review_new_products``); until then the product
    takes no version and no upload."""
    product = depot().catalog.register_product(
        principal(),
        group,
        body.name,
        category=body.category,
        origin=body.origin,
        vendor=body.vendor,
        description=body.description,
        version=body.version,
    )
    return product, 201


@bp.operation(
    "GET",
    "/groups/<group>/products/<product>",
    auth="optional",
    replies={200: Reply(Product)},
    errors=HIDDEN,
)
def get_product(group: str, product: str) -> ProductInfo:
    """One product."""
    return depot().catalog.get_product(principal(), group, product)


@bp.operation(
    "GET",
    "/groups/<group>/products/<product>/versions",
    auth="optional",
    query=PageQuery,
    replies={200: paged(VersionList)},
    errors=HIDDEN,
)
def list_versions(group: str, product: str, query: PageQuery) -> Answer:
    """The versions of a product with their files, newest first (SemVer for in-house products)."""
    page = depot().catalog.list_versions(principal(), group, product, page_request(query))
    return answer({"versions": page.items}, page)


@bp.operation(
    "POST",
    "/groups/<group>/products/<product>/versions",
    auth="optional",
    body=NewVersion,
    replies={201: Reply(Version, "a draft")},
    errors={**REFUSED, 409: "that version exists"},
)
def create_version(group: str, product: str, body: NewVersion) -> tuple[VersionInfo, int]:
    """Create a draft version of a product."""
    version = depot().catalog.create_version(
        principal(), group, product, body.version, body.description
    )
    return version, 201


@bp.operation("GET", VERSION_PATH, auth="optional", replies={200: Reply(Version)}, errors=HIDDEN)
def get_version(group: str, product: str, version: str) -> VersionInfo:
    """One version with its files."""
    return depot().catalog.get_version(principal(), group, product, version)


@bp.operation(
    "GET",
    VERSION_PATH + "/files",
    auth="optional",
    query=PageQuery,
    replies={200: paged(FileList)},
    errors=HIDDEN,
)
def list_files(group: str, product: str, version: str, query: PageQuery) -> Answer:
    """The files of a version by name (names, roles, sizes, sha256)."""
    ref, page = depot().catalog.list_files(
        principal(), group, product, version, page_request(query)
    )
    return answer({"ref": ref, "files": page.items}, page)


def declared_sha256() -> str | None:
    """The digest the uploader declared.

    ``X-Checksum-Sha256`` (hex), or the RFC 9530 ``Content-Digest: sha-256=:base64:``
    (other algorithms in it are ignored). When both are sent, or ``Content-Digest`` names
    sha-256 twice, they must agree: a 400 otherwise, before any byte is read.
    """
    found: list[str] = []
    hex_digest = request.headers.get("X-Checksum-Sha256")
    if hex_digest:
        found.append(hex_digest.strip().lower())
    content_digest = request.headers.get("Content-Digest", "")
    for item in content_digest.split(","):
        algorithm, _, value = item.strip().partition("=")
        value = value.strip()
        if algorithm.strip().lower() == "sha-256" and value.startswith(":") and value.endswith(":"):
            try:
                found.append(base64.b64decode(value[1:-1], validate=True).hex())
            except (binascii.Error, ValueError):
                raise InvalidRequest(
                    "Content-Digest sha-256 value is not base64", field="sha256"
                ) from None
    if len(set(found)) > 1:
        raise InvalidRequest(
            "the declared sha256 digests disagree (X-Checksum-Sha256 and Content-Digest, "
            "or two sha-256 values): send one, or the same twice; nothing was stored",
            field="sha256",
        )
    return found[0] if found else None


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


@bp.operation(
    "PUT",
    VERSION_PATH + "/files/<path:name>",
    auth="optional",
    query=UploadQuery,
    replies={
        200: Reply(Uploaded, "these exact bytes were already stored: nothing changed"),
        201: Reply(Uploaded, "stored"),
    },
    errors={
        **REFUSED,
        409: "the version holds other bytes under this name, or a name equal to it after "
        "NFKC and case folding (`clashes_with` names it), or is closed",
        411: "no Content-Length (nor X-Depot-Size with a chunked body)",
        413: "over the upload limit",
        422: "size or sha256 not what was declared; nothing stored",
    },
    raw_body={
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    request_headers={
        "X-Checksum-Sha256": Header("hex sha256 of the body (or send Content-Digest)", SHA256),
        "Content-Digest": Header("RFC 9530 alternative: sha-256=:<base64>:"),
        "X-Depot-Size": Header(
            "the declared size (with a chunked body)", {"type": "integer", "minimum": 0}
        ),
    },
)
def upload_file(group: str, product: str, version: str, name: str, query: UploadQuery) -> Any:
    """Upload one file: the raw bytes as the body, with their declared sha256.

    The name may hold folders (``sub/inner.txt``, sent as is or with ``%2F``); every
    segment follows the file-name rules, and within a version two names equal after
    NFKC and case folding clash (409 naming the stored one).

    201 when stored, 200 when the version already holds these exact bytes under that
    name, 409 when it holds other bytes, 422 when the bytes are not what was declared.
    """
    result = depot().transfers.upload(
        principal(),
        group,
        product,
        version,
        name,
        source=request_body(),
        size=declared_size(),
        sha256=declared_sha256(),
        role=query.role,
        build={k: getattr(query, k) for k in BUILD_FIELDS if getattr(query, k)},
    )
    answer = {**vars(result.file), "ref": result.ref, "created": result.created}
    return answer, 201 if result.created else 200


@bp.operation(
    ("GET", "HEAD"),
    VERSION_PATH + "/files/<path:name>",
    auth="optional",
    replies={
        200: Reply(None, "the bytes", "application/octet-stream", FILE_HEADERS),
        206: Reply(
            None,
            "the range asked for",
            "application/octet-stream",
            {**FILE_HEADERS, "Content-Range": Header("bytes first-last/size", required=True)},
        ),
        304: Reply(None, "not modified (If-None-Match names the ETag)", headers=FILE_HEADERS),
    },
    errors={
        **REFUSED,
        416: "the range is outside the file (Content-Range: bytes */size)",
        503: "the blob store is unavailable",
    },
    request_headers={
        "Range": Header("bytes=first-last (one range)"),
        "If-None-Match": Header("the ETag you hold"),
        "If-Range": Header("the ETag the range is of"),
    },
)
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
        # A browser saves it under its last segment (``sub/inner.txt`` as ``inner.txt``).
        "Content-Disposition": "attachment; filename*=UTF-8''"
        + quote(info.name.rsplit("/", 1)[-1], safe=""),
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
            refused, status = error_json(
                RangeNotSatisfiable(f"the range is outside the file's {info.size} bytes")
            )
            refused.status_code = status
            refused.headers.update(headers)
            return refused
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


@bp.operation(
    "GET",
    "/search",
    query=SearchQuery,
    replies={200: paged(SearchResults)},
    errors={400: "neither a text nor a valid sha256"},
)
def search(query: SearchQuery) -> Answer:
    """Products, versions and files of the caller's groups by name (``q``) or ``sha256``:
    products first, then versions, then files."""
    page = depot().catalog.search(signed_in(), query.q, query.sha256, page_request(query))
    return answer({"results": page.items}, page)
