"""Version numbers for in-house and purchased software."""

from __future__ import annotations

import pytest

from policies.errors import InvalidVersion
from policies.versions import Origin, compare_in_house, validate_version


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
