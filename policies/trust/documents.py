"""The signed documents: manifest, approval statement, status, checkpoint.

(Who holds which personal key is the enrolment document, :mod:`policies.trust.enrollment`.)

Each is a frozen dataclass with ``to_payload()`` (canonical bytes, built by the server to be
signed) and ``from_payload()`` (called by a verifier *after* the signature checked out).
Both directions run the same field checks, so the server cannot sign a document a client
would refuse to read; a wrong field raises ``TrustError("document")`` naming it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from policies.trust.canonical import canonical_bytes, parse_canonical, utc_text
from policies.trust.errors import TrustError
from policies.trust.fields import DECIMAL, HEX64, SPEC_VERSION, Reader, check_filename
from policies.trust.keys import decode_base64
from policies.trust.provenance import ProvenanceRef

FILE_ROLES = ("artifact", "document", "report")
BUILD_FIELDS = ("build_id", "commit", "pipeline", "builder")
ACTIONS = ("accept", "reject", "checkin.approve", "checkout.approve")
ACTOR_ROLES = ("acceptance_officer", "version_manager")
ATTESTATIONS = ("personal", "server")
STATES = ("checked_in", "retired", "quarantined")


def _header(type_name: str) -> dict[str, str]:
    return {"_type": type_name, "spec_version": SPEC_VERSION}


def _header_names(*names: str) -> tuple[str, ...]:
    return ("_type", "spec_version", *names)


@dataclass(frozen=True)
class FileEntry:
    """One file of a version as the manifest records it; ``build`` is optional provenance."""

    name: str
    role: str
    size: int
    sha256: str
    uploaded_by: str
    build: Mapping[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "size": self.size,
            "sha256": self.sha256,
            "uploaded_by": self.uploaded_by,
            "build": None if self.build is None else dict(self.build),
        }

    @classmethod
    def from_json(cls, obj: Any, what: str = "a file entry") -> FileEntry:
        r = Reader(obj, what, ("name", "role", "size", "sha256", "uploaded_by", "build"))
        build = obj["build"]
        if build is not None and (
            not isinstance(build, dict)
            or not set(build) <= set(BUILD_FIELDS)
            or not all(isinstance(v, str) for v in build.values())
        ):
            raise r.fail("build", "null or an object of strings: " + ", ".join(BUILD_FIELDS))
        return cls(
            name=check_filename(r.text("name")),
            role=r.choice("role", FILE_ROLES),
            size=r.integer("size"),
            sha256=r.digest("sha256"),
            uploaded_by=r.text("uploaded_by"),
            build=build,
        )


@dataclass(frozen=True)
class Manifest:
    """What a checked-in version is (signed by the release key at check-in).

    ``statements`` are the payload sha256s of the version's approval statements up to
    and including the check-in approval, in order; ``requested_by`` filed the check-in.
    """

    TYPE: ClassVar[str] = "depot.manifest"
    FIELDS: ClassVar[tuple[str, ...]] = _header_names(
        "repository", "group", "product", "version", "library_number", "category", "origin",
        "files", "statements", "requested_by", "checked_in_at", "require_personal_checkin",
    )  # fmt: skip

    repository: str
    group: str
    product: str
    version: str
    library_number: int
    category: str
    origin: str
    files: tuple[FileEntry, ...]
    statements: tuple[str, ...]
    requested_by: str
    checked_in_at: datetime
    require_personal_checkin: bool
    #: The signed build provenance attached before the check-in (absent from the payload
    #: when there is none, so manifests signed before it existed read as they were).
    provenance: tuple[ProvenanceRef, ...] = ()

    @property
    def ref(self) -> str:
        """``group/product@version``."""
        return f"{self.group}/{self.product}@{self.version}"

    def file(self, name: str) -> FileEntry:
        """The entry of file ``name``; ``TrustError("name")`` if the manifest has none."""
        for entry in self.files:
            if entry.name == name:
                return entry
        raise TrustError("name", f"{self.ref} has no file named {name!r}")

    def _json(self) -> dict[str, Any]:
        return {
            **_header(self.TYPE),
            "repository": self.repository,
            "group": self.group,
            "product": self.product,
            "version": self.version,
            "library_number": self.library_number,
            "category": self.category,
            "origin": self.origin,
            "files": [f.to_json() for f in self.files],
            "statements": list(self.statements),
            "requested_by": self.requested_by,
            "checked_in_at": utc_text(self.checked_in_at),
            "require_personal_checkin": self.require_personal_checkin,
            **({"provenance": [p.to_json() for p in self.provenance]} if self.provenance else {}),
        }

    def to_payload(self) -> bytes:
        """The canonical payload the release key signs."""
        obj = self._json()
        self._read(obj)
        return canonical_bytes(obj)

    @classmethod
    def from_payload(cls, data: bytes) -> Manifest:
        """Parse a manifest payload whose signature was checked."""
        return cls._read(parse_canonical(data))

    @classmethod
    def _read(cls, obj: dict[str, Any]) -> Manifest:
        optional = ("provenance",) if "provenance" in obj else ()
        r = Reader(obj, "the manifest", (*cls.FIELDS, *optional))
        r.header(cls.TYPE)
        files = tuple(
            FileEntry.from_json(f, f"file {i} of the manifest")
            for i, f in enumerate(r.items("files"))
        )
        if not files:
            raise r.fail("files", "a non-empty list")
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            raise TrustError("document", "the manifest lists one file name twice")
        return cls(
            repository=r.text("repository"),
            group=r.text("group"),
            product=r.text("product"),
            version=r.text("version"),
            library_number=r.integer("library_number"),
            category=r.text("category", empty=True),
            origin=r.text("origin"),
            files=files,
            statements=r.digests("statements"),
            requested_by=r.text("requested_by"),
            checked_in_at=r.time("checked_in_at"),
            require_personal_checkin=r.flag("require_personal_checkin"),
            provenance=_provenance(r) if optional else (),
        )


def _provenance(r: Reader) -> tuple[ProvenanceRef, ...]:
    refs = tuple(
        ProvenanceRef.from_json(p, f"provenance entry {i} of the manifest")
        for i, p in enumerate(r.items("provenance"))
    )
    if not refs:
        raise r.fail("provenance", "a non-empty list (absent when there is none)")
    if len({p.sha256 for p in refs}) != len(refs):
        raise TrustError("document", "the manifest lists one attestation twice")
    return refs


@dataclass(frozen=True)
class Subject:
    """What a statement is about: a version by name and every file of it by hash.

    ``manifest_sha256`` is ``None`` until the version is checked in (there is no manifest
    before that); statements made later (check-out approvals) name it.
    """

    group: str
    product: str
    version: str
    files: Mapping[str, str]
    manifest_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "product": self.product,
            "version": self.version,
            "files": dict(self.files),
            "manifest_sha256": self.manifest_sha256,
        }

    @classmethod
    def from_json(cls, obj: Any) -> Subject:
        r = Reader(
            obj,
            "the statement's subject",
            ("group", "product", "version", "files", "manifest_sha256"),
        )
        files = obj["files"]
        if not isinstance(files, dict) or not all(
            isinstance(v, str) and HEX64.fullmatch(v) for v in files.values()
        ):
            raise r.fail("files", "an object of file name → sha256")
        for name in files:
            check_filename(name)
        return cls(
            group=r.text("group"),
            product=r.text("product"),
            version=r.text("version"),
            files=files,
            manifest_sha256=r.maybe_digest("manifest_sha256"),
        )


@dataclass(frozen=True)
class Statement:
    """One approval decision (accept, reject, check-in or check-out approval).

    Signed by the actor's personal key (``attestation`` "personal", made with the CLI) or
    by the release key (``attestation`` "server", made on the web pages). ``prev`` is the
    payload sha256 of the version's previous statement (``None`` for the first).
    """

    TYPE: ClassVar[str] = "depot.statement"
    FIELDS: ClassVar[tuple[str, ...]] = _header_names(
        "repository", "subject", "action", "actor", "role", "request_id", "requested_by",
        "at", "comment", "prev", "attestation",
    )  # fmt: skip

    repository: str
    subject: Subject
    action: str
    actor: str
    role: str
    request_id: int
    requested_by: str
    at: datetime
    comment: str
    prev: str | None
    attestation: str

    def _json(self) -> dict[str, Any]:
        return {
            **_header(self.TYPE),
            "repository": self.repository,
            "subject": self.subject.to_json(),
            "action": self.action,
            "actor": self.actor,
            "role": self.role,
            "request_id": self.request_id,
            "requested_by": self.requested_by,
            "at": utc_text(self.at),
            "comment": self.comment,
            "prev": self.prev,
            "attestation": self.attestation,
        }

    def to_payload(self) -> bytes:
        """The canonical payload the actor (or the release key) signs."""
        obj = self._json()
        self._read(obj)
        return canonical_bytes(obj)

    @classmethod
    def from_payload(cls, data: bytes) -> Statement:
        """Parse a statement payload whose signature was checked."""
        return cls._read(parse_canonical(data))

    @classmethod
    def _read(cls, obj: dict[str, Any]) -> Statement:
        r = Reader(obj, "the statement", cls.FIELDS)
        r.header(cls.TYPE)
        return cls(
            repository=r.text("repository"),
            subject=Subject.from_json(obj["subject"]),
            action=r.choice("action", ACTIONS),
            actor=r.text("actor"),
            role=r.choice("role", ACTOR_ROLES),
            request_id=r.integer("request_id"),
            requested_by=r.text("requested_by"),
            at=r.time("at"),
            comment=r.text("comment", empty=True),
            prev=r.maybe_digest("prev"),
            attestation=r.choice("attestation", ATTESTATIONS),
        )


@dataclass(frozen=True)
class Status:
    """Where a checked-in version stands, signed by the status key for a short time.

    ``serial`` only grows; a client refuses a status that is expired or older than the
    one it saw last.
    """

    TYPE: ClassVar[str] = "depot.status"
    FIELDS: ClassVar[tuple[str, ...]] = _header_names(
        "repository", "group", "product", "version", "state", "manifest_sha256", "serial",
        "issued", "expires", "reason",
    )  # fmt: skip

    repository: str
    group: str
    product: str
    version: str
    state: str
    manifest_sha256: str
    serial: int
    issued: datetime
    expires: datetime
    reason: str = ""

    @property
    def ref(self) -> str:
        """``group/product@version``."""
        return f"{self.group}/{self.product}@{self.version}"

    def _json(self) -> dict[str, Any]:
        return {
            **_header(self.TYPE),
            "repository": self.repository,
            "group": self.group,
            "product": self.product,
            "version": self.version,
            "state": self.state,
            "manifest_sha256": self.manifest_sha256,
            "serial": self.serial,
            "issued": utc_text(self.issued),
            "expires": utc_text(self.expires),
            "reason": self.reason,
        }

    def to_payload(self) -> bytes:
        """The canonical payload the status key signs."""
        obj = self._json()
        self._read(obj)
        return canonical_bytes(obj)

    @classmethod
    def from_payload(cls, data: bytes) -> Status:
        """Parse a status payload whose signature was checked."""
        return cls._read(parse_canonical(data))

    @classmethod
    def _read(cls, obj: dict[str, Any]) -> Status:
        r = Reader(obj, "the status", cls.FIELDS)
        r.header(cls.TYPE)
        return cls(
            repository=r.text("repository"),
            group=r.text("group"),
            product=r.text("product"),
            version=r.text("version"),
            state=r.choice("state", STATES),
            manifest_sha256=r.digest("manifest_sha256"),
            serial=r.integer("serial"),
            issued=r.time("issued"),
            expires=r.time("expires"),
            reason=r.text("reason", empty=True),
        )


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head of the audit log (a C2SP tlog-checkpoint body).

    The payload is ``<origin>\\n<size>\\n<base64 root>\\n``.
    """

    origin: str
    size: int
    root: bytes

    def to_payload(self) -> bytes:
        """The checkpoint body the log key signs."""
        data = f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n".encode()
        self.from_payload(data)
        return data

    @classmethod
    def from_payload(cls, data: bytes) -> Checkpoint:
        """Parse a checkpoint body strictly: three lines, each newline-terminated, nothing else."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise TrustError("document", "the checkpoint is not UTF-8 text") from None
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise TrustError(
                "document", "a checkpoint is exactly three lines: origin, size and root hash"
            )
        origin, size, root = lines[:3]
        if not origin or any(ch < " " or ch == "\x7f" for ch in origin):
            raise TrustError("document", f"the checkpoint origin {origin!r} is not a name")
        if not DECIMAL.fullmatch(size):
            raise TrustError(
                "document",
                f"the checkpoint size {size!r} is not a decimal number without leading zeros",
            )
        digest = decode_base64(root, "the checkpoint root", "document")
        if len(digest) != 32:
            raise TrustError("document", f"the checkpoint root has {len(digest)} bytes, not 32")
        return cls(origin, int(size), digest)


def leaf_record(record: Mapping[str, Any]) -> bytes:
    """The bytes of an audit record as a log leaf (canonical JSON); the server stores them."""
    return canonical_bytes(record)
