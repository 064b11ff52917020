"""Recently checked API tokens, so that a busy client does not pay for the full check
(the token, the person, their roles, stand-ins: five statements) on every request.

Used by :meth:`repo_server.auth.services.AuthService.authenticate_token`. An entry holds the
principal a token gave, for at most ``token_cache_ms`` (one second at most) on this
process's monotonic clock. A hit still asks the database one question, whether the token
is revoked or its person disabled (:func:`still_usable`), so a revocation made on any node
stops the token at its very next request everywhere. Every write committed by this process
empties the cache, so a change of roles, memberships or stand-ins made here applies at the
next request; one made on another node applies there within ``token_cache_ms``. An entry
is keyed by a digest of the whole token and the caller's address, so a wrong secret or a
new address never hits.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo_server.auth.models import ApiToken, User
from repo_server.auth.principal import Principal

#: Entries kept per process; when full the cache is emptied (a burst of new tokens).
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Checked:
    """What a full check of one token found, and until when it may stand in for one."""

    principal: Principal
    public_id: str
    #: The token's own end (checked on every hit, on the server's clock).
    expires_at: datetime
    #: The entry stands until this moment of the server's clock: ``last_used_at`` needs a
    #: refresh then, or (a directory account) the directory must be asked again.
    used_until: datetime
    #: A person's token (``False``: a group token, which acts for no person).
    personal: bool
    #: ``time.monotonic()`` after which the entry is not used.
    fresh_until: float


class TokenCache:
    """Checked tokens of this process (thread-safe; a lock around a dict)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, Checked] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str, remote_addr: str) -> str:
        """The entry key of ``token`` presented from ``remote_addr``."""
        return hashlib.sha256(f"{token}\n{remote_addr}".encode()).hexdigest()

    def get(self, key: str, now: datetime) -> Checked | None:
        """The fresh entry under ``key``, else ``None`` (a stale one is dropped)."""
        if self.seconds <= 0:
            return None
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if time.monotonic() >= found.fresh_until or now >= found.expires_at:
                del self._entries[key]
                return None
            if now >= found.used_until:
                del self._entries[key]
                return None
            return found

    def put(
        self,
        key: str,
        principal: Principal,
        *,
        public_id: str,
        expires_at: datetime,
        used_until: datetime,
        personal: bool,
    ) -> None:
        """Remember a token that was just checked in full."""
        if self.seconds <= 0:
            return
        entry = Checked(
            principal,
            public_id,
            expires_at,
            used_until,
            personal,
            time.monotonic() + self.seconds,
        )
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = entry

    def clear(self) -> None:
        """Forget every entry (a write committed here: roles may have changed)."""
        with self._lock:
            self._entries.clear()

    def forget(self, public_id: str) -> None:
        """Drop every entry of one token (it was revoked here)."""
        with self._lock:
            for key in [k for k, v in self._entries.items() if v.public_id == public_id]:
                del self._entries[key]


#: Built once: constructing a statement costs more than running it on a warm connection.
_USABLE = (
    sa.select(ApiToken.revoked_at, User.active, User.directory_gone_at)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.public_id == sa.bindparam("public_id"))
)


def still_usable(session: Session, entry: Checked) -> bool:
    """One statement: the token is not revoked and (a person's) its person is active and
    not gone from the directory (another account took their entry)."""
    row = session.execute(_USABLE, {"public_id": entry.public_id}).first()
    if row is None or row.revoked_at is not None:
        return False
    return (bool(row.active) and row.directory_gone_at is None) or not entry.personal
