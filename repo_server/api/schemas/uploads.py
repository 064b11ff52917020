"""Upload sessions on the wire (``.../versions/<v>/uploads``): resumable uploads in parts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from repo_server.api.schemas.artifacts import BuildValue
from repo_server.api.schemas.common import Body, Moment, Out, Sha256

#: A stored name (folders allowed); the file-name rules are checked by the service.
FileName = Annotated[str, Field(min_length=1, max_length=255)]


class NewUploadSession(Body):
    """The file to send in parts: its name, exact size, and (if known) its sha256."""

    name: FileName
    size: Annotated[int, Field(ge=1, le=(1 << 63) - 1)]
    sha256: Sha256 | None = None
    role: Literal["artifact", "document", "report"] = "artifact"
    media_type: Annotated[str, Field(max_length=127)] | None = None
    build_id: BuildValue = ""
    commit: BuildValue = ""
    pipeline: BuildValue = ""
    builder: BuildValue = ""


class UploadPartHeld(Out):
    """A part the session holds; ``sha256`` is the digest of the file up to ``end``."""

    number: int
    size: int
    end: int
    sha256: str


class UploadSessionOut(Out):
    """An upload session: what it is for, and the parts it holds (send the next one)."""

    id: int
    ref: str
    name: str
    role: str
    size: int
    sha256: str | None
    part_size: int
    part_count: int
    received: int
    parts: list[UploadPartHeld]
    created_by: str
    created_at: Moment
    updated_at: Moment


class CommitUpload(Body):
    """The whole file's sha256: the session is committed only if its bytes hash to it."""

    sha256: Sha256 | None = None
