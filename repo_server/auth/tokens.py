"""The shape of API tokens: ``depot_<public id>_<secret>``.

The public id (16 hex digits) finds the row and is safe to show; only the SHA-256 of the
secret is stored. Secrets are 32 random bytes, so a fast hash is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PREFIX = "depot_"
_TOKEN = re.compile(r"^depot_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


def new_token() -> tuple[str, str, str]:
    """A new token: (the full token to show once, its public id, the hash to store)."""
    public_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{PREFIX}{public_id}_{secret}", public_id, hash_secret(secret)


def hash_secret(secret: str) -> str:
    """The stored form of a token secret."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def parse_token(token: str) -> tuple[str, str] | None:
    """(public id, secret) of a well-formed token, else ``None``."""
    match = _TOKEN.fullmatch(token.strip())
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def robot_name(group: str, public_id: str) -> str:
    """The name a group token acts under (audit records, uploads): ``ci:<group>:<id>``."""
    return f"ci:{group}:{public_id}"
