"""Canonical JSON, UTC times and hashes: the byte-exact forms every signed payload uses.

The signer serialises a payload once with :func:`canonical_bytes` and signs those bytes;
the verifier checks the signature over the bytes it received and only then parses them
with :func:`parse_canonical`, which also insists that they are exactly the canonical form
of what they parse to. So one document has one encoding, and no two parsers can read one
signed payload differently (duplicate keys, floats, non-NFC text are refused outright).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

from policies.trust.errors import TrustError

#: The largest integer a canonical payload may hold (exact in every JSON implementation).
MAX_INT = 2**53 - 1
#: How deeply objects and arrays may nest: deeper input is hostile, not a document.
MAX_DEPTH = 32

_CONTROL = re.compile("[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)


def _refuse(message: str) -> NoReturn:
    raise TrustError("canonical", message)


def check_text(text: str, what: str = "a string") -> None:
    """Refuse ``text`` unless it is NFC with no control character (U+0000–U+001F, U+007F).

    Called for every string (and object key) of a canonical payload; ``what`` names the
    value in the message.
    """
    if text.isascii() and text.isprintable():  # the common case, checked in C
        return
    if _SURROGATE.search(text):
        _refuse(f"{what} holds a lone surrogate, which is not Unicode text: {text!r}")
    if _CONTROL.search(text):
        _refuse(f"{what} holds a control character: {text!r}")
    if not unicodedata.is_normalized("NFC", text):
        _refuse(f"{what} is not in Unicode normal form NFC: {text!r}")


def _check_value(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        _refuse(f"{path} nests deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not 0 <= value <= MAX_INT:
            _refuse(f"{path} is {value}, outside the integers 0 to 2^53-1")
        return
    if isinstance(value, float):
        _refuse(f"{path} is a floating-point number ({value!r}); canonical payloads have none")
    if isinstance(value, str):
        check_text(value, path)
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_value(item, f"{path}[{i}]", depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                _refuse(f"{path} has a key that is not a string: {key!r}")
            check_text(key, f"the key {key!r} of {path}")
            _check_value(item, f"{path}.{key}", depth + 1)
        return
    _refuse(f"{path} is a {type(value).__name__}, which JSON payloads cannot hold")


def canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    """The canonical UTF-8 JSON of ``obj``: the exact bytes that get signed and hashed.

    Called by every document's ``to_payload`` (server side) and by the server for audit
    leaves. Sorted keys, no insignificant whitespace, no floats, integers 0 to 2^53-1,
    NFC strings without control characters; anything else raises ``TrustError("canonical")``.
    """
    if not isinstance(obj, Mapping):
        _refuse(f"a canonical payload is a JSON object, not a {type(obj).__name__}")
    _check_value(obj, "$", 0)
    return dump_canonical(obj)


def dump_canonical(obj: Mapping[str, Any]) -> bytes:
    """The bytes :func:`canonical_bytes` gives for ``obj``, *without* checking its values.

    Only for values built to pass those checks, where the checks would cost more than the
    work: ``depot-server audit verify`` re-encoding every record of the log to compare it
    with the stored leaf (a value that would fail the checks gives other bytes, or none,
    and so is reported as edited all the same).
    """
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            _refuse(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_float(text: str) -> NoReturn:
    _refuse(f"the number {text} is not an integer; payloads hold no floating-point numbers")


def _no_constant(text: str) -> NoReturn:
    _refuse(f"{text} is not JSON")


def parse_json(data: bytes) -> Any:
    """Parse untrusted JSON strictly, without requiring the canonical form.

    Invalid UTF-8, a byte-order mark, duplicate keys, floats, ``NaN``/``Infinity`` and
    absurd nesting raise ``TrustError("canonical")``. Used for envelopes and bundles, whose
    bytes are not signed (the payloads inside them are) and so need not be canonical.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        _refuse(f"expected bytes, got a {type(data).__name__}")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as error:
        _refuse(f"the data is not valid UTF-8 ({error.reason} at byte {error.start})")
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except RecursionError:
        _refuse("the data nests too deeply to be a document")
    except ValueError as error:
        if isinstance(error, TrustError):
            raise
        _refuse(f"the data is not valid JSON: {error}")


def parse_canonical(data: bytes) -> dict[str, Any]:
    """Parse a signed payload, refusing anything but the canonical form of a JSON object.

    Called by every document's ``from_payload`` after the signature was checked. Beyond
    :func:`parse_json`'s refusals, the top level must be an object and ``data`` must be
    byte for byte what :func:`canonical_bytes` makes of the result (so no whitespace, no
    escapes where a character would do, sorted keys, NFC text, integers 0 to 2^53-1).
    """
    value = parse_json(data)
    if not isinstance(value, dict):
        _refuse(f"a payload is a JSON object, not a {type(value).__name__}")
    if canonical_bytes(value) != bytes(data):
        _refuse(
            "the payload is not in canonical form (sorted keys, no spaces, no needless "
            "escapes): it could be read differently by another parser"
        )
    return value


def utc_text(dt: datetime) -> str:
    """``dt`` as ``2026-11-28T10:15:00Z``: UTC, whole seconds (any fraction is dropped).

    ``dt`` must be timezone-aware; a naive time would be read in some local zone.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise TrustError("time", f"{dt.isoformat()} has no time zone; pass an aware UTC time")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    """Read a time written by :func:`utc_text`; any other spelling raises ``TrustError("time")``."""
    if not isinstance(text, str) or not _UTC.fullmatch(text):
        raise TrustError("time", f"{text!r} is not a UTC time like 2026-11-28T10:15:00Z")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise TrustError("time", f"{text!r} is not a real date and time") from None


def sha256_hex(data: bytes) -> str:
    """The lowercase hex SHA-256 of ``data``: how every document and file is named by hash."""
    return hashlib.sha256(data).hexdigest()
