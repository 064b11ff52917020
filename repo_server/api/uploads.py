"""API routes of upload sessions: resumable uploads of large files in parts (shapes:
:mod:`repo_server.api.schemas.uploads`; service: :mod:`repo_server.artifacts.sessions`)."""

from __future__ import annotations

from typing import Any

from flask import Response

from repo_server.api.contract import Header, Reply, request_body
from repo_server.api.http import bp, depot, principal
from repo_server.api.schemas.artifacts import Uploaded
from repo_server.api.schemas.uploads import (
    CommitUpload,
    NewUploadSession,
    UploadPartHeld,
    UploadSessionOut,
)
from repo_server.artifacts.api import REFUSED, SHA256, VERSION_PATH, declared_sha256, declared_size
from repo_server.artifacts.sessions import PartInfo, SessionInfo
from repo_server.artifacts.upload_checks import BUILD_FIELDS

SESSION_PATH = VERSION_PATH + "/uploads/<int:session_id>"
NO_SESSION = {404: "no such group, product, version or upload session of yours"}


@bp.operation(
    "POST",
    VERSION_PATH + "/uploads",
    auth="optional",
    body=NewUploadSession,
    replies={
        200: Reply(UploadSessionOut, "your open session for this file: resume it"),
        201: Reply(UploadSessionOut, "a new session"),
    },
    errors={
        **REFUSED,
        409: "the version holds other bytes under this name, or a name equal to it after "
        "NFKC and case folding (`clashes_with` names it)",
        413: "over the upload limit",
    },
)
def begin_upload(
    group: str, product: str, version: str, body: NewUploadSession
) -> tuple[SessionInfo, int]:
    """Begin (or find again, to resume) an upload session for one large file.

    Refused exactly as the one-shot upload of that file would be. Send its parts with
    `PUT .../uploads/{id}/parts/{n}`, then commit it; an open session of yours for the
    same name, size (and sha256, if declared) is answered with 200 and the parts it holds.
    """
    info, created = depot().uploads.create(
        principal(),
        (group, product, version),
        body.name,
        size=body.size,
        sha256=body.sha256,
        role=body.role,
        media_type=body.media_type,
        build={k: getattr(body, k) for k in BUILD_FIELDS if getattr(body, k)},
    )
    return info, 201 if created else 200


@bp.operation(
    "GET", SESSION_PATH, auth="optional", replies={200: Reply(UploadSessionOut)}, errors=NO_SESSION
)
def get_upload(group: str, product: str, version: str, session_id: int) -> SessionInfo:
    """One of your upload sessions and the parts it holds."""
    return depot().uploads.get(principal(), (group, product, version), session_id)


@bp.operation(
    "PUT",
    SESSION_PATH + "/parts/<int:part>",
    auth="optional",
    replies={
        200: Reply(UploadPartHeld, "the session held this very part already"),
        201: Reply(UploadPartHeld, "stored"),
    },
    errors={
        **NO_SESSION,
        409: "another part is being received, the part is out of order, or the session holds "
        "it with another digest",
        411: "no Content-Length",
        422: "the bytes do not hash to the declared digest; nothing kept",
    },
    raw_body={
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    request_headers={
        "X-Checksum-Sha256": Header(
            "hex sha256 of the file's bytes from its start to this part's end", SHA256
        ),
    },
)
def put_upload_part(
    group: str, product: str, version: str, session_id: int, part: int
) -> tuple[PartInfo, int]:
    """Send part ``part`` (from 1; ``part_size`` bytes each, the last one the rest) with the
    running sha256 of the file up to the part's end; parts go in order."""
    info, stored = depot().uploads.put_part(
        principal(),
        (group, product, version),
        session_id,
        part,
        source=request_body(),
        size=declared_size(),
        sha256=declared_sha256(),
    )
    return info, 201 if stored else 200


@bp.operation(
    "POST",
    SESSION_PATH + "/commit",
    auth="optional",
    body=CommitUpload,
    replies={
        200: Reply(Uploaded, "these exact bytes were already stored: nothing changed"),
        201: Reply(Uploaded, "stored"),
    },
    errors={
        **NO_SESSION,
        403: "refused by a rule (the rule is named)",
        409: "the session does not hold every byte yet (`received`), or the name is taken",
        422: "the bytes do not hash to the declared sha256: nothing stored, the session removed",
    },
)
def commit_upload(
    group: str, product: str, version: str, session_id: int, body: CommitUpload
) -> tuple[dict[str, Any], int]:
    """Make the session's bytes the file, once their size and sha256 are the whole file's."""
    result = depot().uploads.commit(principal(), (group, product, version), session_id, body.sha256)
    return {**vars(result.file), "ref": result.ref, "created": result.created}, (
        201 if result.created else 200
    )


@bp.operation(
    "DELETE",
    SESSION_PATH,
    auth="optional",
    replies={204: Reply(None, "removed, with its staged bytes")},
    errors=NO_SESSION,
)
def abort_upload(group: str, product: str, version: str, session_id: int) -> Response:
    """Give up an upload session: its staged bytes are removed."""
    depot().uploads.abort(principal(), (group, product, version), session_id)
    return Response(status=204)
