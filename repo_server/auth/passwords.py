"""Local passwords: scrypt with a random salt, stored as one self-describing string."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

MIN_PASSWORD_LENGTH = 12
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


def check_password_strength(password: str, username: str) -> str | None:
    """Why ``password`` may not be used, or ``None`` if it may."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters long"
    if username and username.lower() in password.lower():
        return "password must not contain the user name"
    if len(set(password)) < 5:
        return "password is too repetitive"
    return None


def generate_password() -> str:
    """A random password for a new account, shown once (about 120 bits)."""
    return secrets.token_urlsafe(15)
