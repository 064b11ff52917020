"""The checks an upload passes before a byte is read, shared by the one-shot upload and
upload sessions (:mod:`repo_server.artifacts.transfers`, :mod:`repo_server.artifacts.sessions`):
the file's role, the declared digest, the build provenance, name clashes, and what a
checked upload carries on."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from policies.access import GroupRole
from policies.names import clashing_file_name
from repo_server.artifacts.facts import FileInfo
from repo_server.artifacts.lookup import files_of
from repo_server.artifacts.models import Version
from repo_server.auth.principal import Principal
from repo_server.errors import InvalidRequest, NameClash

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: ``report`` files are acceptance reports, attached by the officer who tested the version.
FILE_ROLES = ("artifact", "document", "report")


#: Build provenance an uploader may give, and the longest value of each.
BUILD_FIELDS = ("build_id", "commit", "pipeline", "builder")
MAX_BUILD_VALUE = 200


def check_build(build: dict[str, str] | None) -> dict[str, str] | None:
    """The build provenance of an upload, checked: known fields, short printable text."""
    if not build:
        return None
    clean: dict[str, str] = {}
    for key, value in build.items():
        if key not in BUILD_FIELDS:
            raise InvalidRequest(
                f"unknown build field {key!r}; known: {', '.join(BUILD_FIELDS)}", field=key
            )
        if not value:
            continue
        if len(value) > MAX_BUILD_VALUE or not value.isprintable():
            raise InvalidRequest(
                f"{key} must be printable text of at most {MAX_BUILD_VALUE} characters", field=key
            )
        clean[key] = value
    return clean or None


def upload_role(principal: Principal, group: str, file_role: str) -> str:
    """The role in which ``principal`` uploads a ``file_role`` file to ``group`` (audited):
    a report is the acceptance officer's; other files are a member's, else the role the
    uploader holds there (an officer or a software manager who is no plain member)."""
    if file_role == "report":
        return GroupRole.ACCEPTANCE_OFFICER.value
    held = principal.actor.roles_in(group)
    for role in (GroupRole.MEMBER, GroupRole.SOFTWARE_MANAGER, GroupRole.ACCEPTANCE_OFFICER):
        if role in held:
            return role.value
    return GroupRole.MEMBER.value


@dataclass(frozen=True)
class UploadResult:
    """The stored file, and whether this upload added it (``False``: identical re-upload)."""

    file: FileInfo
    created: bool
    ref: str


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed :meth:`TransferService.check_upload`: the version's reference,
    the normalised name and declared digest, the checked build, the storage area, the
    version's row id, the clash to refuse (audited) and the digest of a file stored
    under that name already."""

    ref: str
    name: str
    sha256: str | None
    build: dict[str, str] | None
    area: str
    version_id: int
    clash: NameClash | None
    stored_sha256: str | None


def check_declared_sha256(value: str | None) -> str:
    """The declared digest in canonical form, or ``InvalidRequest``."""
    if not value:
        raise InvalidRequest(
            "declare the file's sha256 (header X-Checksum-Sha256) so the server can verify it",
            field="sha256",
        )
    value = value.strip().lower()
    if not _SHA256.fullmatch(value):
        raise InvalidRequest("the declared sha256 must be 64 hexadecimal digits", field="sha256")
    return value


def name_clash(session: Session, version: Version, ref: str, name: str) -> NameClash | None:
    """The refusal of ``name`` when ``version`` holds a name equal to it after NFKC and
    case folding (``Setup.EXE`` and ``setup.exe`` would be one file on Windows or macOS)."""
    stored = clashing_file_name(name, (f.name for f in files_of(session, version)))
    if stored is None:
        return None
    return NameClash(
        f"{ref} already holds {stored!r}, which {name!r} equals once case and Unicode "
        "compatibility forms are ignored; two such names would be one file on many systems",
        clashes_with=stored,
    )
