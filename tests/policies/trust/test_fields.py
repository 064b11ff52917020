"""Field checks shared by the documents."""

from __future__ import annotations

import pytest

from policies.trust.errors import TrustError
from policies.trust.fields import Reader, check_filename


def test_reader_names_the_field() -> None:
    reader = Reader({"a": "x", "n": 3, "h": None}, "the thing", ["a", "n", "h"])
    assert reader.text("a") == "x" and reader.integer("n") == 3
    assert reader.maybe_digest("h") is None
    with pytest.raises(TrustError, match="the thing: field 'a' must be a whole number") as info:
        reader.integer("a")
    assert info.value.check == "document"
    with pytest.raises(TrustError, match="field 'n' must be a list"):
        reader.digests("n")


@pytest.mark.parametrize("name", ["app.tar.gz", "ünïcode.txt", "a" * 255])
def test_good_file_names(name: str) -> None:
    assert check_filename(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "../a",
        "a//b",
        "a/../b",
        "/a",
        "C:\\x",
        "a\x00",
        "a\x1f",
        "e\u0301",
        "a" * 256,
    ],
)
def test_bad_file_names(name: str) -> None:  # folders are fine (``sub/inner.txt``)
    with pytest.raises(TrustError, match=r"invalid file name|file name is empty") as info:
        check_filename(name)
    assert info.value.check == "name"
