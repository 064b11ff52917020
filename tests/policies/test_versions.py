"""Version numbers for in-house and purchased software."""

from __future__ import annotations

from itertools import pairwise

import pytest

from policies.errors import InvalidVersion
from policies.versions import Origin, compare_in_house, precedence_key, validate_version


@pytest.mark.parametrize("version", ["0.1.0", "1.4.0", "2.0.0-rc.1", "1.0.0+build.5", "10.20.30"])
def test_in_house_semver(version: str) -> None:
    assert validate_version(version, Origin.IN_HOUSE) == version


@pytest.mark.parametrize("version", ["v1.0.0", "1.0", "1.0.0.0", "01.0.0", "1.0.0-", "", "x" * 65])
def test_in_house_rejects(version: str) -> None:
    with pytest.raises(InvalidVersion):
        validate_version(version, "in_house")


@pytest.mark.parametrize(
    "version", ["V200R019C10SPC800", "12.2(55)SE", "7.0.3.I7.9", "2019_R2", "1.0~beta"]
)
def test_purchased_kept_verbatim(version: str) -> None:
    assert validate_version(version, Origin.PURCHASED) == version


@pytest.mark.parametrize("version", ["../x", "a b", "a/b", ".x", "x\n", "a..b", "ｖ1"])
def test_purchased_rejects(version: str) -> None:
    with pytest.raises(InvalidVersion):
        validate_version(version, Origin.PURCHASED)


def test_unknown_origin() -> None:
    with pytest.raises(ValueError):
        validate_version("1.0.0", "borrowed")


def test_semver_precedence() -> None:
    assert compare_in_house("1.10.0", "1.9.0") == 1
    assert compare_in_house("2.0.0-rc.1", "2.0.0") == -1
    assert compare_in_house("1.0.0+a", "1.0.0+b") == 0


def test_precedence_key_sorts_as_semver_precedence() -> None:
    # SemVer 2.0.0 section 11's example, with numbers that are longer than their neighbours.
    ranked = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.2.0",
        "1.9.9",
        "1.10.0",
        "2.0.0-rc.1",
        "2.0.0",
        "10.0.0",
    ]
    shuffled = sorted(ranked, key=lambda v: v[::-1])
    assert sorted(shuffled, key=lambda v: precedence_key(v, Origin.IN_HOUSE)) == ranked
    keys = [precedence_key(v, "in_house") for v in ranked]
    assert all(compare_in_house(a, b) == -1 for a, b in pairwise(ranked))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(set(key) <= set("0123456789abcdef") for key in keys)
    # Build metadata does not change the rank (the version's id breaks the tie).
    assert precedence_key("1.0.0+build.5", "in_house") == precedence_key("1.0.0", "in_house")


def test_purchased_versions_have_no_precedence() -> None:
    assert precedence_key("V200R019C10SPC800", Origin.PURCHASED) == ""
