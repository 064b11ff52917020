"""Which files a transfer takes: local paths, folders and globs for ``depot push``, and
patterns over stored names for ``depot pull`` and ``--exclude``.

Patterns are shell globs over ``/``-separated names: ``*`` and ``?`` stay within one
segment, ``**`` crosses folders (``build/**/*.tar.gz``), ``[abc]`` is a class. A pattern
without ``/`` is matched against the last segment at any depth (``*.log`` is every log);
one with ``/`` against the whole name.
"""

from __future__ import annotations

import glob
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from client.errors import ClientError, Exit, InputError
from policies.errors import InvalidName
from policies.names import clashing_file_name, validate_file_path

_MAGIC = re.compile(r"[*?[]")


def is_pattern(text: str) -> bool:
    """Whether ``text`` holds a wildcard (else it names one file exactly)."""
    return _MAGIC.search(text) is not None


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    out, i, n = [], 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def matches(pattern: str, name: str) -> bool:
    """Whether the stored (or relative) ``name`` matches ``pattern`` (module docstring)."""
    if "/" not in pattern.rstrip("/"):
        return _compile(pattern).fullmatch(name.rsplit("/", 1)[-1]) is not None
    return _compile(pattern.strip("/")).fullmatch(name) is not None


def excluder(patterns: Sequence[str]) -> Callable[[str], bool]:
    """A test: is a name excluded by any of ``patterns``?"""

    def excluded(name: str) -> bool:
        return any(matches(p, name) for p in patterns)

    return excluded


@dataclass(frozen=True)
class LocalFile:
    """A file to push: where it is, and the name it is stored under."""

    path: Path
    name: str


def _relative(path: str, base: str) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def _glob_base(pattern: str) -> str:
    """The folder before the first segment with a wildcard (``build`` of ``build/**/x``)."""
    parts = Path(pattern).parts
    literal: list[str] = []
    for part in parts[:-1]:
        if is_pattern(part):
            break
        literal.append(part)
    return str(Path(*literal)) if literal else "."


def _walk(folder: Path) -> Iterable[str]:
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            if os.path.isfile(path):
                yield path


def local_files(
    sources: Sequence[str], *, flat: bool = False, exclude: Sequence[str] = ()
) -> list[LocalFile]:
    """The files ``sources`` name, each with its stored name: a file under its own name,
    a folder's files (recursively) under their paths relative to it, a glob's matches
    under their paths relative to its folder before the first wildcard; ``flat`` keeps
    only the last segment. Names are put in Unicode NFC and checked by the path rules.

    Raises ``InputError`` for a path that does not exist, a glob matching nothing, a
    name the rules refuse, and two files under one name (or under names that clash).
    """
    excluded = excluder(exclude)
    found: list[LocalFile] = []
    for source in sources:
        if is_pattern(source) and not os.path.exists(source):
            base = _glob_base(source)
            hits = sorted(p for p in glob.glob(source, recursive=True) if os.path.isfile(p))
            if not hits:
                raise InputError(f"{source!r} matches no file")
            pairs = [(p, _relative(p, base)) for p in hits]
        elif os.path.isdir(source):
            pairs = sorted(((p, _relative(p, source)) for p in _walk(Path(source))),
                           key=lambda pair: pair[1])  # fmt: skip
        elif os.path.isfile(source):
            pairs = [(source, Path(source).name)]
        else:
            raise InputError(f"{source!r}: no such file or folder")
        for path, relative in pairs:
            name = unicodedata.normalize("NFC", relative)
            if excluded(name):
                continue
            if flat:
                name = name.rsplit("/", 1)[-1]
            found.append(LocalFile(Path(path), name))
    if not found:
        raise InputError("nothing to push: every file was excluded, or the folders are empty")
    seen: dict[str, Path] = {}
    for item in found:
        try:
            validate_file_path(item.name)
        except InvalidName as error:
            raise ClientError(f"cannot push {str(item.path)!r}: {error}", Exit.INVALID) from None
        if item.name in seen:
            raise InputError(
                f"two files would be stored as {item.name!r}: {seen[item.name]} and {item.path}",
                hint="drop --flat, or push them into separate versions",
            )
        other = clashing_file_name(item.name, seen)
        if other is not None:
            raise InputError(
                f"{item.name!r} and {other!r} differ only by case or Unicode form: "
                "they would be one file on many systems"
            )
        seen[item.name] = item.path
    return found


def select_names(stored: Sequence[str], patterns: Sequence[str], what: str) -> list[str]:
    """The stored names chosen by ``patterns`` (all of them without any), in stored
    order. A plain name must be stored, a pattern must match one: else exit 4."""
    if not patterns:
        return list(stored)
    chosen: set[str] = set()
    for pattern in patterns:
        if not is_pattern(pattern):
            if pattern not in stored:
                raise ClientError(f"{what} has no file named {pattern!r}", Exit.NOT_FOUND)
            chosen.add(pattern)
            continue
        hit = {name for name in stored if matches(pattern, name)}
        if not hit:
            raise ClientError(f"no file of {what} matches {pattern!r}", Exit.NOT_FOUND)
        chosen |= hit
    return [name for name in stored if name in chosen]
