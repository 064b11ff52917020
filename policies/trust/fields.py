"""Field checks shared by the signed documents: typed access with messages naming the field.

:class:`Reader` wraps one JSON object of a payload; every wrong, missing or unknown field
raises ``TrustError("document")`` saying which field and what it must be.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from policies.errors import InvalidName
from policies.names import validate_file_path
from policies.trust.canonical import parse_utc
from policies.trust.errors import TrustError

SPEC_VERSION = "1"
HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}", re.ASCII)


def check_filename(name: str) -> str:
    """Return ``name`` if it is one safe relative file name (folders allowed: no ``..``,
    not absolute, no control characters, NFC, at most 255 bytes), else raise
    ``TrustError("name")``. The client calls it before it writes anything named by the
    server."""
    try:
        return validate_file_path(name)
    except InvalidName as error:
        raise TrustError("name", str(error)) from None


class Reader:
    """Typed access to the fields of one JSON object, with messages naming the field."""

    def __init__(self, obj: Any, what: str, names: Iterable[str]) -> None:
        self.what = what
        if not isinstance(obj, dict):
            raise TrustError("document", f"{what} must be a JSON object")
        wanted = set(names)
        missing, extra = wanted - obj.keys(), obj.keys() - wanted
        if missing:
            raise TrustError("document", f"{what} lacks the field(s) {', '.join(sorted(missing))}")
        if extra:
            raise TrustError("document", f"{what} has unknown field(s) {', '.join(sorted(extra))}")
        self.obj: dict[str, Any] = obj

    def fail(self, name: str, must: str) -> TrustError:
        return TrustError("document", f"{self.what}: field {name!r} must be {must}")

    def header(self, type_name: str) -> None:
        if self.obj["_type"] != type_name:
            raise TrustError(
                "document", f"the payload is a {self.obj['_type']!r}, not a {type_name!r}"
            )
        if self.obj["spec_version"] != SPEC_VERSION:
            raise TrustError(
                "document",
                f"{self.what} has spec_version {self.obj['spec_version']!r}; this client "
                f"reads version {SPEC_VERSION}",
            )

    def text(self, name: str, *, empty: bool = False) -> str:
        value = self.obj[name]
        if not isinstance(value, str) or (not empty and not value):
            raise self.fail(name, "a string" if empty else "a non-empty string")
        return value

    def integer(self, name: str) -> int:
        value = self.obj[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(name, "a whole number")
        return value

    def flag(self, name: str) -> bool:
        value = self.obj[name]
        if not isinstance(value, bool):
            raise self.fail(name, "true or false")
        return value

    def digest(self, name: str) -> str:
        value = self.obj[name]
        if not isinstance(value, str) or not HEX64.fullmatch(value):
            raise self.fail(name, "a sha256 (64 lowercase hex digits)")
        return value

    def maybe_digest(self, name: str) -> str | None:
        return None if self.obj[name] is None else self.digest(name)

    def time(self, name: str) -> datetime:
        try:
            return parse_utc(self.obj[name])
        except TrustError:
            raise self.fail(name, "a UTC time like 2026-11-28T10:15:00Z") from None

    def choice(self, name: str, options: tuple[str, ...]) -> str:
        value = self.obj[name]
        if value not in options:
            raise self.fail(name, "one of " + ", ".join(options))
        return str(value)

    def items(self, name: str) -> list[Any]:
        value = self.obj[name]
        if not isinstance(value, list):
            raise self.fail(name, "a list")
        return value

    def digests(self, name: str) -> tuple[str, ...]:
        values = self.items(name)
        if not all(isinstance(v, str) and HEX64.fullmatch(v) for v in values):
            raise self.fail(name, "a list of sha256s (64 lowercase hex digits)")
        return tuple(values)
