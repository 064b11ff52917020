"""Local passwords: scrypt with a random salt, stored as one self-describing string, and
the rules a new password must pass."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

MIN_PASSWORD_LENGTH = 12
#: Digits, symbols and spaces, cut off either end: ``Password1234!`` is ``password``.
_AROUND = string.digits + string.punctuation + string.whitespace
_R, _P = 8, 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + (1 << 20), dklen=32
    )


def hash_password(password: str, n: int) -> str:
    """A stored form of ``password``: ``scrypt$n$r$p$salt$hash`` (base64 parts)."""
    salt = secrets.token_bytes(16)
    return f"scrypt${n}${_R}${_P}${_b64(salt)}${_b64(_scrypt(password, salt, n, _R, _P))}"


def verify_password(password: str, stored: str | None, n: int) -> bool:
    """True if ``password`` matches ``stored``; takes as long when there is no hash."""
    if not stored:
        _scrypt(password, b"depot-no-such-user", n, _R, _P)  # same cost for unknown users
        return False
    try:
        scheme, n_s, r_s, p_s, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(hash_b64)
        actual = _scrypt(password, base64.b64decode(salt_b64), int(n_s), int(r_s), int(p_s))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class PasswordProblem:
    """Why a new password may not be used: the rule (``password.common``…) and the reason."""

    rule: str
    message: str


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords, lower-cased
    (``common_passwords.txt``, rebuilt by scripts/build_common_passwords.py)."""
    text = files(__package__).joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def _cores(lowered: str) -> set[str]:
    """``lowered`` with up to 8 digits, symbols or spaces cut off either end, every way."""
    lead = len(lowered) - len(lowered.lstrip(_AROUND))
    trail = len(lowered) - len(lowered.rstrip(_AROUND))
    end = len(lowered)
    return {lowered[a : end - b] for a in range(min(lead, 8) + 1) for b in range(min(trail, 8) + 1)}


def _letters_and_digits(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def check_password_strength(password: str, username: str) -> PasswordProblem | None:
    """Why ``password`` may not be a new password of ``username``, or ``None`` if it may.

    NIST SP 800-63B §5.1.1.2: at least ``MIN_PASSWORD_LENGTH`` characters, not on the list
    of common and breached passwords (nor one of them with digits and symbols around it,
    ``Password1234!``), not derived from the user name (contained in it, forwards or
    backwards, ignoring case and punctuation), not one character repeated.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return PasswordProblem(
            "password.length", f"password must be at least {MIN_PASSWORD_LENGTH} characters long"
        )
    lowered = password.casefold()
    common = common_passwords()
    half = lowered[: len(lowered) // 2]
    if any(core in common for core in _cores(lowered)) or (lowered == half * 2 and half in common):
        return PasswordProblem(
            "password.common",
            "password is a common or breached password (or one with digits or symbols "
            "added); choose a longer passphrase of your own",
        )
    name = _letters_and_digits(username)
    flat = _letters_and_digits(password)
    if username and (
        username.casefold() in lowered or (len(name) >= 3 and (name in flat or name[::-1] in flat))
    ):
        return PasswordProblem(
            "password.user_name", "password must not contain or be derived from the user name"
        )
    if len(set(password)) < 5:
        return PasswordProblem("password.repetitive", "password is too repetitive")
    return None


def generate_password() -> str:
    """A random password for a new account, shown once (about 120 bits)."""
    return secrets.token_urlsafe(15)
