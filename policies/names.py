"""Which names are allowed for groups, products, users and files.

Group and user names become parts of storage keys and URLs, so they are narrow slugs.
File names are what a person pulls onto their own disk (Linux or Windows), so they must
never escape the target folder, never hide characters, and be the same on every system.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from policies.errors import InvalidName

GROUP_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
USER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
PRODUCT_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$")

#: Characters a terminal obeys or that reorder what it shows: the C0 controls, DEL, the C1
#: controls, and the bidirectional marks, embeddings, overrides and isolates (U+061C,
#: U+200E, U+200F, U+202A-U+202E, U+2066-U+2069). Never in a name; in free text they are
#: stored as sent and printed escaped.
UNSAFE_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")
#: A JSON-Schema pattern (ECMA-262 and Python alike) for a text without them.
SAFE_TEXT_PATTERN = f"^[^{UNSAFE_CHARACTERS}]*$"
#: The same for a name that must not be blank either (one character that is not a space).
SAFE_NAME_PATTERN = f"^[^{UNSAFE_CHARACTERS}]*[^\\s{UNSAFE_CHARACTERS}][^{UNSAFE_CHARACTERS}]*$"


def unsafe_character(text: str) -> str | None:
    """The first character of :data:`UNSAFE_CHARACTERS` in ``text``, or ``None``."""
    found = _UNSAFE.search(text)
    return found.group() if found else None


def check_one_line_name(text: str) -> str:
    """``text`` if it holds no unsafe character (a display name, a vendor, a token's name);
    else ``ValueError`` naming the character."""
    found = unsafe_character(text)
    if found is not None:
        raise ValueError(f"must not contain the control character U+{ord(found):04X}")
    return text


MAX_FILE_NAME_BYTES = 255
# Characters that are path separators or reserved on one of the systems people pull to.
_FORBIDDEN_FILE_CHARS = frozenset('/\\:*?"<>|')
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)


def validate_group_name(name: str) -> str:
    """Return ``name`` if it is a valid project-group name (a lowercase slug), else raise."""
    if not isinstance(name, str) or not GROUP_NAME.fullmatch(name) or "--" in name:
        raise InvalidName(
            "group",
            f"invalid group name {name!r}: use 1-63 lowercase letters, digits and single "
            "hyphens, starting and ending with a letter or digit",
        )
    return name


def validate_user_name(name: str) -> str:
    """Return ``name`` if it is a valid user name (lowercase, as directories usually give)."""
    if not isinstance(name, str) or not USER_NAME.fullmatch(name):
        raise InvalidName(
            "username",
            f"invalid user name {name!r}: use 1-64 lowercase letters, digits, '.', '_' "
            "or '-', starting and ending with a letter or digit",
        )
    return name


def validate_product_name(name: str) -> str:
    """Return ``name`` if it is a valid product name, else raise ``InvalidName``."""
    if not isinstance(name, str) or not PRODUCT_NAME.fullmatch(name) or ".." in name:
        raise InvalidName(
            "product",
            f"invalid product name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit",
        )
    return name


def validate_file_name(name: str) -> str:
    """Return ``name`` if it is safe as a single file name on Linux and Windows, else raise.

    Refused: empty, ``.``/``..``, separators and Windows-reserved characters, control
    characters, names that are not in Unicode NFC (look-alikes), leading or trailing
    spaces and dots, Windows device names, and names over 255 bytes in UTF-8.
    """
    if not isinstance(name, str) or name == "":
        raise InvalidName("file", "file name is empty")
    shown = ascii(name)
    if name in (".", ".."):
        raise InvalidName("file", f"invalid file name {shown}: not a file name")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_FILE_NAME_BYTES:
        raise InvalidName(
            "file", f"invalid file name {shown}: longer than {MAX_FILE_NAME_BYTES} bytes"
        )
    for ch in name:
        if ch in _FORBIDDEN_FILE_CHARS:
            raise InvalidName(
                "file",
                f"invalid file name {shown}: {ch!r} is a path separator or reserved character",
            )
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise InvalidName(
                "file",
                f"invalid file name {shown}: contains the control or invisible character "
                f"U+{ord(ch):04X}",
            )
    if unicodedata.normalize("NFC", name) != name:
        raise InvalidName("file", f"invalid file name {shown}: not in Unicode NFC form")
    if name != name.strip() or name.endswith("."):
        raise InvalidName(
            "file", f"invalid file name {shown}: starts or ends with a space, or ends with '.'"
        )
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        raise InvalidName("file", f"invalid file name {shown}: a reserved device name")
    return name


#: The longest stored file name, folders included (the column holds 255 characters).
MAX_FILE_PATH_BYTES = 255


def validate_file_path(name: str) -> str:
    """Return ``name`` if it is a safe relative file path (``sub/inner.txt``), else raise.

    A stored name may hold folders, separated by ``/``. Every segment must be a valid
    file name (:func:`validate_file_name`: no ``.``/``..``, no control characters, NFC,
    ...); refused besides: an absolute path, empty segments (``a//b``, a trailing ``/``),
    backslashes, and names over 255 bytes in UTF-8. The client and the server both call
    it, so that nothing named by the other side is written outside the target folder.
    """
    if not isinstance(name, str) or name == "":
        raise InvalidName("file", "file name is empty")
    shown = ascii(name)
    if name.startswith("/"):
        raise InvalidName("file", f"invalid file name {shown}: an absolute path")
    if "\\" in name:
        raise InvalidName(
            "file", f"invalid file name {shown}: '\\\\' is a path separator or reserved character"
        )
    if len(name.encode("utf-8", "surrogatepass")) > MAX_FILE_PATH_BYTES:
        raise InvalidName(
            "file", f"invalid file name {shown}: longer than {MAX_FILE_PATH_BYTES} bytes"
        )
    segments = name.split("/")
    if "" in segments:
        raise InvalidName("file", f"invalid file name {shown}: an empty folder segment")
    for segment in segments:
        if segment in (".", ".."):
            raise InvalidName(
                "file", f"invalid file name {shown}: {segment!r} is not a folder or file name"
            )
        try:
            validate_file_name(segment)
        except InvalidName as error:
            if len(segments) == 1:
                raise
            raise InvalidName("file", f"in {shown}: {error.message}") from None
    return name


def file_name_key(name: str) -> str:
    """What two file names of one version must not share: the name in Unicode NFKC,
    case-folded (``Setup.EXE``, ``setup.exe`` and the full-width ``ｓｅｔｕｐ.exe`` are one)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def clashing_file_name(name: str, stored: Iterable[str]) -> str | None:
    """The stored name ``name`` clashes with (another name with the same
    :func:`file_name_key`), or ``None``. The same name is no clash: it is that file."""
    key = file_name_key(name)
    for other in stored:
        if other != name and file_name_key(other) == key:
            return other
    return None
