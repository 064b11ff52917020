"""Which files a push takes and a pull chooses: folders, globs, excludes, patterns."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from client.errors import ClientError, Exit, InputError
from client.selection import local_files, matches, select_names


@pytest.mark.parametrize(
    "pattern,name,hit",
    [
        ("*.log", "build.log", True),
        ("*.log", "logs/deep/build.log", True),  # no '/': the last segment, any depth
        ("sub/*", "sub/inner.txt", True),
        ("sub/*", "sub/deep/x.tar.gz", False),  # '*' stays within one folder
        ("sub/**", "sub/deep/x.tar.gz", True),
        ("**/*.tar.gz", "app.tar.gz", True),  # '**/' may be no folder at all
        ("**/*.tar.gz", "a/b/app.tar.gz", True),
        ("a?c.txt", "abc.txt", True),
        ("a?c.txt", "a/c.txt", False),
        ("[ab].txt", "b.txt", True),
        ("[!ab].txt", "b.txt", False),
        ("app.tar.gz", "appxtarxgz", False),  # dots are literal
    ],
)
def test_patterns(pattern: str, name: str, hit: bool) -> None:
    assert matches(pattern, name) is hit


def tree(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)


def test_folders_globs_and_files(tmp_path: Path) -> None:
    tree(tmp_path / "build", "app.tar.gz", "sub/inner.txt", "sub/deep/x.tar.gz", "out.log")
    build = str(tmp_path / "build")
    names = [f.name for f in local_files([build], exclude=["*.log"])]
    assert names == ["app.tar.gz", "sub/deep/x.tar.gz", "sub/inner.txt"]
    globbed = [f.name for f in local_files([f"{build}/**/*.tar.gz"])]
    assert globbed == ["app.tar.gz", "sub/deep/x.tar.gz"]
    assert [f.name for f in local_files([f"{build}/sub/*"])] == ["inner.txt"]
    flat = [f.name for f in local_files([build], flat=True, exclude=["sub/deep/**", "*.log"])]
    assert flat == ["app.tar.gz", "inner.txt"]
    assert [f.name for f in local_files([f"{build}/sub/inner.txt"])] == ["inner.txt"]


def test_what_cannot_be_pushed(tmp_path: Path) -> None:
    tree(tmp_path / "a", "x/same.txt", "y/same.txt", "Readme.md", "README.md", "cafe\u0301.txt")
    with pytest.raises(InputError, match="no such file or folder"):
        local_files([str(tmp_path / "missing")])
    with pytest.raises(InputError, match="matches no file"):
        local_files([f"{tmp_path}/*.exe"])
    with pytest.raises(InputError, match="every file was excluded"):
        local_files([str(tmp_path / "a")], exclude=["*"])
    with pytest.raises(InputError, match=r"two files would be stored as 'same\.txt'"):
        local_files([str(tmp_path / "a" / "x"), str(tmp_path / "a" / "y")])
    with pytest.raises(InputError, match="differ only by case"):
        local_files([str(tmp_path / "a")], exclude=["x/**", "y/**"])
    # A decomposed local name is stored in NFC.
    [one] = local_files([str(tmp_path / "a" / "cafe\u0301.txt")])
    assert one.name == unicodedata.normalize("NFC", "cafe\u0301.txt")
    tree(tmp_path / "b", "back\\slash.txt")
    with pytest.raises(ClientError, match="reserved character") as refused:
        local_files([str(tmp_path / "b")])
    assert refused.value.exit_code == Exit.INVALID


def test_pull_patterns_choose_stored_names() -> None:
    stored = ["app.tar.gz", "sub/deep/x.tar.gz", "sub/inner.txt"]
    assert select_names(stored, [], "r") == stored
    assert select_names(stored, ["sub/*", "app.tar.gz"], "r") == ["app.tar.gz", "sub/inner.txt"]
    assert select_names(stored, ["*.tar.gz"], "r") == ["app.tar.gz", "sub/deep/x.tar.gz"]
    with pytest.raises(ClientError, match="r has no file named 'nope'") as missing:
        select_names(stored, ["nope"], "r")
    assert missing.value.exit_code == Exit.NOT_FOUND
    with pytest.raises(ClientError, match="no file of r matches"):
        select_names(stored, ["*.exe"], "r")
