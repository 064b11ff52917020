"""Names of groups, users, products and files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.errors import InvalidName
from policies.names import (
    clashing_file_name,
    file_name_key,
    validate_file_name,
    validate_file_path,
    validate_group_name,
    validate_product_name,
    validate_user_name,
)


@pytest.mark.parametrize("name", ["a", "payments", "team-42", "a" * 63])
def test_good_group_names(name: str) -> None:
    assert validate_group_name(name) == name


@pytest.mark.parametrize("name", ["", "A", "-a", "a-", "a--b", "a_b", "a/b", "a" * 64, "é", "../a"])
def test_bad_group_names(name: str) -> None:
    with pytest.raises(InvalidName):
        validate_group_name(name)


@pytest.mark.parametrize("name", ["alice", "a.b", "svc_ci-01"])
def test_good_user_names(name: str) -> None:
    assert validate_user_name(name) == name


@pytest.mark.parametrize("name", ["", "Alice", ".a", "a b", "*)(uid=*", "a" * 65])
def test_bad_user_names(name: str) -> None:
    with pytest.raises(InvalidName):
        validate_user_name(name)


@pytest.mark.parametrize("name", ["core-banking", "App_2", "x.y"])
def test_good_product_names(name: str) -> None:
    assert validate_product_name(name) == name


@pytest.mark.parametrize("name", ["", "a..b", "../x", "a/b", " a", "a" * 101])
def test_bad_product_names(name: str) -> None:
    with pytest.raises(InvalidName):
        validate_product_name(name)


@pytest.mark.parametrize(
    "name", ["app.tar.gz", "版本说明.pdf", "a b (1).txt", ".env.sample", "x" * 255]
)
def test_good_file_names(name: str) -> None:
    assert validate_file_name(name) == name


@pytest.mark.parametrize(
    "name,why",
    [
        ("", "empty"),
        (".", "not a file name"),
        ("..", "not a file name"),
        ("../etc/passwd", "separator"),
        ("/etc/passwd", "separator"),
        ("C:\\x", "separator"),
        ("C:x", "separator"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a\u202eb", "control"),  # right-to-left override
        ("a\u200bb", "control"),  # zero-width space
        ("cafe\u0301", "NFC"),
        ("x" * 256, "255 bytes"),
        ("é" * 128, "255 bytes"),
        (" a", "space"),
        ("a ", "space"),
        ("a.", "ends"),
        ("CON", "reserved"),
        ("nul.txt", "reserved"),
    ],
)
def test_bad_file_names(name: str, why: str) -> None:
    with pytest.raises(InvalidName, match=why):
        validate_file_name(name)


@given(st.text(min_size=1, max_size=300))
def test_an_accepted_file_name_never_leaves_its_folder(name: str) -> None:
    try:
        validate_file_name(name)
    except InvalidName:
        return
    assert "/" not in name and "\\" not in name and name not in (".", "..")
    assert len(name.encode()) <= 255
    assert all(ord(c) >= 32 for c in name)


@pytest.mark.parametrize("check", [validate_group_name, validate_user_name, validate_product_name])
def test_a_trailing_newline_is_not_part_of_a_valid_name(check) -> None:
    with pytest.raises(InvalidName):
        check("abc\n")


@pytest.mark.parametrize(
    "name", ["app.tar.gz", "sub/inner.txt", "a/b/c/版本说明.pdf", ".config/x.env", "x" * 255]
)
def test_good_file_paths(name: str) -> None:
    assert validate_file_path(name) == name


@pytest.mark.parametrize(
    "name,why",
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("a\\b", "separator"),
        ("a//b", "empty folder segment"),
        ("a/", "empty folder segment"),
        ("a/../b", "'..' is not"),
        ("./a", "'.' is not"),
        ("..", "'..' is not"),
        ("a/b\x00c", "in 'a/b.*control"),
        ("a/cafe\u0301", "NFC"),
        ("sub/CON", "reserved"),
        ("a/" + "x" * 254, "255 bytes"),
        ("a:b/c", "separator"),
        ("x\u202e", "control"),
    ],
)
def test_bad_file_paths(name: str, why: str) -> None:
    with pytest.raises(InvalidName, match=why):
        validate_file_path(name)


@given(st.text(alphabet=st.sampled_from("ab./\\\x00é"), min_size=1, max_size=40))
def test_an_accepted_file_path_never_leaves_its_folder(name: str) -> None:
    try:
        validate_file_path(name)
    except InvalidName:
        return
    parts = name.split("/")
    assert not name.startswith("/") and "\\" not in name
    assert all(part not in ("", ".", "..") for part in parts)


def test_names_equal_after_nfkc_and_casefold_clash() -> None:
    stored = ["Setup.EXE", "docs/README.md"]
    assert clashing_file_name("setup.exe", stored) == "Setup.EXE"
    assert clashing_file_name("\uff53etup.exe", stored) == "Setup.EXE"  # full-width s
    assert clashing_file_name("DOCS/readme.md", stored) == "docs/README.md"
    assert clashing_file_name("Setup.EXE", stored) is None  # the same file
    assert clashing_file_name("setup2.exe", stored) is None
    assert file_name_key("Stra\u00dfe") == file_name_key("STRASSE")
