"""The signed library index of a product, and what a client remembers of the library.

Whether a version is in the library must never come from an unsigned record: a proxy or
a database edit could report a checked-in version as a draft and have a client take other
bytes for it. So the server signs, with its online ``status`` role, one index per product
(TUF's targets + snapshot in one document): every library number → version → manifest
sha256 and state, a ``serial`` that only grows and an ``expires`` a short time away.

The client (``client/trust_state.py``) checks an index with :func:`verify_library_index`
against what it saw before (:class:`Seen`): the serial never goes back, a version once
listed is listed for ever with the same manifest, a version once seen retired stays
retired, and a quarantine it saw is not undone by a document issued before it
(:func:`check_state_floor`, also for status documents). Freshness is bounded on both
sides: a document valid for longer than :data:`MAX_LIFETIME` is refused, and a stale one
is accepted only within an explicit allowance of at most :data:`MAX_STALENESS`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from policies.trust.canonical import canonical_bytes, parse_canonical, utc_text
from policies.trust.documents import STATES
from policies.trust.dsse import Envelope, verify
from policies.trust.errors import TrustError
from policies.trust.fields import SPEC_VERSION, Reader
from policies.trust.keyring import Keyring

LIBRARY = "application/vnd.depot.library.v1+json"
#: The longest a status or a library index may be valid, from ``issued`` to ``expires``:
#: a replayed, still valid document hides a change for at most this long.
MAX_LIFETIME = timedelta(hours=24)
#: The most a client may accept a status or index past its expiry (``--allow-stale-status``).
MAX_STALENESS = timedelta(days=30)
#: States after which a version's bytes are never used again (a quarantine may lift).
STOPPED = ("retired", "quarantined")


@dataclass(frozen=True)
class LibraryEntry:
    """One version in the library: its library number, manifest and state."""

    library_number: int
    version: str
    manifest_sha256: str
    state: str

    def to_json(self) -> dict[str, Any]:
        return {
            "library_number": self.library_number,
            "version": self.version,
            "manifest_sha256": self.manifest_sha256,
            "state": self.state,
        }

    @classmethod
    def _read(cls, obj: Any) -> LibraryEntry:
        r = Reader(
            obj, "a library entry", ("library_number", "version", "manifest_sha256", "state")
        )
        return cls(
            library_number=r.integer("library_number"),
            version=r.text("version"),
            manifest_sha256=r.digest("manifest_sha256"),
            state=r.choice("state", STATES),
        )


@dataclass(frozen=True)
class LibraryIndex:
    """Every version of one product in the library (``depot.library``, status role)."""

    TYPE: ClassVar[str] = "depot.library"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "_type", "spec_version", "repository", "group", "product", "serial", "issued",
        "expires", "versions",
    )  # fmt: skip

    repository: str
    group: str
    product: str
    serial: int
    issued: datetime
    expires: datetime
    #: Ordered by library number; numbers and versions are unique.
    versions: tuple[LibraryEntry, ...]

    @property
    def ref(self) -> str:
        """``group/product``."""
        return f"{self.group}/{self.product}"

    def entry(self, version: str) -> LibraryEntry | None:
        """The entry of ``version``, or ``None`` when it is not in the library."""
        return next((e for e in self.versions if e.version == version), None)

    def to_payload(self) -> bytes:
        """The canonical payload the status role signs (checked as a client reads it)."""
        obj = {
            "_type": self.TYPE,
            "spec_version": SPEC_VERSION,
            "repository": self.repository,
            "group": self.group,
            "product": self.product,
            "serial": self.serial,
            "issued": utc_text(self.issued),
            "expires": utc_text(self.expires),
            "versions": [e.to_json() for e in self.versions],
        }
        self._read(obj)
        return canonical_bytes(obj)

    @classmethod
    def from_payload(cls, data: bytes) -> LibraryIndex:
        """Parse an index payload whose signature was checked."""
        return cls._read(parse_canonical(data))

    @classmethod
    def _read(cls, obj: dict[str, Any]) -> LibraryIndex:
        r = Reader(obj, "the library index", cls.FIELDS)
        r.header(cls.TYPE)
        entries = tuple(LibraryEntry._read(e) for e in r.items("versions"))
        numbers = [e.library_number for e in entries]
        if numbers != sorted(set(numbers)):
            raise r.fail("versions", "ordered by library number, each number once")
        if len({e.version for e in entries}) != len(entries):
            raise r.fail("versions", "a list naming each version once")
        return cls(
            repository=r.text("repository"),
            group=r.text("group"),
            product=r.text("product"),
            serial=r.integer("serial"),
            issued=r.time("issued"),
            expires=r.time("expires"),
            versions=entries,
        )


@dataclass(frozen=True)
class Seen:
    """What a client saw of one version in the library, kept in its trusted state.

    ``state`` and ``issued`` are of the newest signed document (index or status) that
    showed it; a version is never forgotten once seen.
    """

    library_number: int
    manifest_sha256: str
    state: str
    issued: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "library_number": self.library_number,
            "manifest_sha256": self.manifest_sha256,
            "state": self.state,
            "issued": utc_text(self.issued),
        }

    @classmethod
    def from_json(cls, obj: Any) -> Seen:
        """Read a stored entry back (the client wrote it; checked all the same)."""
        r = Reader(obj, "a remembered library entry", ("library_number", "manifest_sha256",
                                                      "state", "issued"))  # fmt: skip
        return cls(
            library_number=r.integer("library_number"),
            manifest_sha256=r.digest("manifest_sha256"),
            state=r.choice("state", STATES),
            issued=r.time("issued"),
        )


def check_fresh(
    what: str, issued: datetime, expires: datetime, now: datetime, stale: timedelta
) -> None:
    """``what`` (a signed document valid from ``issued`` to ``expires``) may be used at ``now``.

    A lifetime over :data:`MAX_LIFETIME` is refused ("time": a stolen online key could
    otherwise sign a status that hides a quarantine for a year); expiry at or before
    ``now - stale`` is "expired"; ``stale`` is the caller's explicit allowance, at most
    :data:`MAX_STALENESS`.
    """
    if not timedelta(0) <= stale <= MAX_STALENESS:
        raise TrustError(
            "time", f"a stale document may be accepted for at most {MAX_STALENESS.days} days"
        )
    if expires - issued > MAX_LIFETIME:
        raise TrustError(
            "time",
            f"{what} is valid from {utc_text(issued)} to {utc_text(expires)}, longer than "
            f"the {int(MAX_LIFETIME.total_seconds() // 3600)} hours a client accepts",
        )
    if expires + stale <= now:
        allowed = f" (and the {stale} allowed past it)" if stale else ""
        raise TrustError("expired", f"{what} expired at {utc_text(expires)}{allowed}")


def check_state_floor(ref: str, seen: Seen | None, state: str, issued: datetime) -> None:
    """A signed ``state`` of ``ref`` issued at ``issued`` does not undo what was seen.

    Retirement is final: once seen retired, any other state is a rollback. A quarantine
    may lift, but not by a document issued before the one that showed it (documents are
    dated to the second; within one, the serials of each kind of document decide).
    """
    if seen is None or seen.state == state or seen.state not in STOPPED:
        return
    if seen.state == "retired" or (state == "checked_in" and issued < seen.issued):
        raise TrustError(
            "rollback",
            f"{ref} was seen {seen.state} (signed {utc_text(seen.issued)}); a document "
            f"signed {utc_text(issued)} now says {state}",
        )


def verify_library_index(
    keyring: Keyring,
    env: Envelope,
    *,
    group: str,
    product: str,
    now: datetime,
    trusted_serial: int | None,
    trusted_payload_sha256: str | None,
    seen: Mapping[str, Seen],
    stale: timedelta = timedelta(0),
    check_expiry: bool = True,
) -> LibraryIndex:
    """The library index of ``group/product``, checked against what the client saw.

    Signed by the status role; of this repository and product; serial not below the one
    stored, and equal only with the identical payload ("rollback"); fresh
    (:func:`check_fresh`); every version in ``seen`` still listed with the same library
    number and manifest ("rollback"), and no state going back (:func:`check_state_floor`).
    ``check_expiry=False`` (an archived bundle) checks the lifetime bound but not expiry.
    """
    ref = f"{group}/{product}"
    keys, threshold = keyring.role_keys("status")
    index = LibraryIndex.from_payload(verify(env, LIBRARY, keys, threshold, role="status"))
    if (index.repository, index.ref) != (keyring.repository, ref):
        raise TrustError(
            "subject",
            f"the library index is of {index.ref} of {index.repository}, not {ref} of "
            f"{keyring.repository}",
        )
    if trusted_serial is not None:
        if index.serial < trusted_serial:
            raise TrustError(
                "rollback",
                f"library index serial {index.serial} of {ref} is older than serial "
                f"{trusted_serial}, already seen",
            )
        if index.serial == trusted_serial and not (
            trusted_payload_sha256 is not None
            and hmac.compare_digest(env.payload_sha256().encode(), trusted_payload_sha256.encode())
        ):
            raise TrustError(
                "rollback",
                f"the library index of {ref} carries serial {index.serial}, already seen "
                "with other content",
            )
    check_fresh(
        f"the library index of {ref}",
        index.issued,
        index.expires,
        now if check_expiry else index.issued,
        stale,
    )
    for version, before in sorted(seen.items()):
        entry = index.entry(version)
        if entry is None:
            raise TrustError(
                "rollback",
                f"{ref}@{version} was seen in the library (library number "
                f"{before.library_number}); the library index no longer lists it",
            )
        check_seen_entry(index, entry, before)
    return index


def check_seen_entry(index: LibraryIndex, entry: LibraryEntry, before: Seen | None) -> None:
    """``entry`` of ``index`` agrees with what the client saw of that version (``before``):
    the same library number and manifest, and no state going back
    (:func:`check_state_floor`); all "rollback". Also used offline, for the index a
    bundle carries (an older index may list fewer versions, never other ones)."""
    if before is None:
        return
    where = f"{index.ref}@{entry.version}"
    if (entry.library_number, entry.manifest_sha256) != (
        before.library_number,
        before.manifest_sha256,
    ):
        raise TrustError(
            "rollback",
            f"{where} was seen in the library as number {before.library_number} with "
            f"manifest {before.manifest_sha256}; the index now says number "
            f"{entry.library_number} with manifest {entry.manifest_sha256}",
        )
    check_state_floor(where, before, entry.state, index.issued)


def seen_after(before: Seen | None, entry: LibraryEntry, issued: datetime) -> Seen:
    """What to remember of ``entry`` after a document issued at ``issued`` verified."""
    if before is not None and before.issued > issued:
        return before
    return Seen(entry.library_number, entry.manifest_sha256, entry.state, issued)


def check_listed(index: LibraryIndex, version: str, manifest_sha256: str) -> None:
    """The status of ``version`` names the manifest the index lists for it.

    (Their states may differ, either being the newer one; the caller refuses a stop in
    either.)"""
    entry = index.entry(version)
    where = f"{index.ref}@{version}"
    if entry is None:
        raise TrustError("subject", f"the library index does not list {where}")
    if not hmac.compare_digest(entry.manifest_sha256.encode(), manifest_sha256.encode()):
        raise TrustError(
            "hash",
            f"the status of {where} names manifest {manifest_sha256}, the library index "
            f"{entry.manifest_sha256}",
        )
