"""Version-number rules.

In-house software is numbered with Semantic Versioning 2.0.0 (``1.4.0``, ``2.0.0-rc.1``);
purchased software keeps the vendor's own string verbatim (``V200R019C10SPC800``,
``12.2(55)SE``), which only has to be a safe single path segment.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

import semver

from policies.errors import InvalidVersion


class Origin(StrEnum):
    """Where a product comes from (自主研发 / 外购)."""

    IN_HOUSE = "in_house"
    PURCHASED = "purchased"


class Category(StrEnum):
    """The three product categories of the rules (软件产品分类)."""

    APPLICATION = "application"
    SYSTEM = "system"
    DEVICE_NETWORK = "device_network"


MAX_VERSION_LENGTH = 64
_VENDOR_VERSION = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._+()~,-]{0,62}[A-Za-z0-9)+~_-])?$")


def validate_version(version: str, origin: Origin | str) -> str:
    """Return ``version`` if it is a valid version number for a product of ``origin``.

    Raises :class:`InvalidVersion` with a message a person can act on.
    """
    origin = Origin(origin)
    if not isinstance(version, str) or version == "":
        raise InvalidVersion("version", "version number is empty")
    if len(version) > MAX_VERSION_LENGTH:
        raise InvalidVersion(
            "version", f"version number is longer than {MAX_VERSION_LENGTH} characters"
        )
    if origin is Origin.IN_HOUSE:
        if version[0] in "vV":
            raise InvalidVersion(
                "version",
                f"invalid version {version!r}: in-house versions are semantic versions "
                f"without a 'v' prefix, e.g. {version[1:]!r}",
            )
        try:
            semver.Version.parse(version)
        except ValueError:
            raise InvalidVersion(
                "version",
                f"invalid version {version!r}: in-house software uses semantic versioning "
                "MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], e.g. 1.4.0 or 2.0.0-rc.1",
            ) from None
        return version
    if unicodedata.normalize("NFC", version) != version or not _VENDOR_VERSION.fullmatch(version):
        raise InvalidVersion(
            "version",
            f"invalid vendor version {version!r}: use letters, digits and . _ + ( ) ~ , -, "
            "starting with a letter or digit",
        )
    if ".." in version:
        raise InvalidVersion("version", f"invalid vendor version {version!r}: contains '..'")
    return version


def compare_in_house(a: str, b: str) -> int:
    """Compare two semantic versions by SemVer precedence: -1, 0 or 1."""
    return int(semver.Version.parse(a).compare(b))


def precedence_key(version: str, origin: Origin | str) -> str:
    """A text that sorts (byte by byte, and under any collation: it is lower-case hex) as
    ``version`` ranks among its product's versions: SemVer precedence for in-house software
    (build metadata ignored, as SemVer says), nothing for purchased software, whose vendor
    strings have no order (their versions are listed by creation).

    Stored with each version and indexed, so a product's versions are read a page at a
    time, newest first, straight from the index (``repo_server.paging``).
    """
    if Origin(origin) is not Origin.IN_HOUSE:
        return ""
    parsed = semver.Version.parse(version)
    key = b"".join(_number(part) for part in (parsed.major, parsed.minor, parsed.patch))
    if parsed.prerelease is None:
        key += b"\xff"  # a release ranks above each of its pre-releases
    else:
        for part in parsed.prerelease.split("."):
            # Numeric identifiers rank below alphanumeric ones, and by their value.
            key += (
                b"\x01" + _number(int(part))
                if part.isdigit()
                else b"\x02" + part.encode() + b"\x00"
            )
        key += b"\x00"  # a shorter list of identifiers ranks below a longer one
    return key.hex()


def _number(value: int) -> bytes:
    """``value`` so that bytes compare as numbers do: its length, then its digits."""
    digits = str(value).encode()
    return bytes([len(digits)]) + digits
