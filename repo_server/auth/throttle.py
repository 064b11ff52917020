"""Sign-in throttling and lockout, on counters that every app node shares.

Used by :class:`repo_server.auth.services.AuthService` for every password sign-in (the
API's ``/auth/login``, the sign-in page, ``depot passwd``'s current password). Failed
sign-ins are counted per account, per address and, for directory accounts, per directory
person, in the buckets of :mod:`policies.sign_in`; the counters live in a storage of the
`limits` package (``sign_in_limits_storage``: ``memory://`` in one process, ``redis://``
for several app nodes). The buckets are numbered by the server's injectable clock, so the
storage's own expiry only collects old keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from limits.storage import Storage, storage_from_string

from policies.sign_in import Lockout, lockout, window_buckets
from repo_server.clock import Clock
from repo_server.errors import TooManyAttempts, Unavailable
from repo_server.settings import Settings, sign_in_limit

PREFIX = "depot:sign-in"
STORE_DOWN = (
    "sign-in is unavailable: the store of sign-in counters cannot be reached; try again in "
    "a few minutes or tell your administrator"
)


@dataclass(frozen=True)
class Subject:
    """What failed sign-ins are counted against: an account, an address or a directory
    person, with its limit of failures in ``window`` seconds."""

    key: str
    limit: int
    window: int
    #: How the subject is named in messages and the audit trail (``user:alice``).
    target: str


class SignInThrottle:
    """The failure counters of one server (all its app nodes, with a shared storage)."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.clock = clock
        # One installation's counters, apart from any other's in the same Redis: its app
        # nodes share the secret key (their page sessions need it too).
        installation = hashlib.sha256(settings.secret_key.encode()).hexdigest()[:16]
        self.prefix = f"{PREFIX}:{installation}"
        self.storage_url = settings.sign_in_limits_storage
        self.account = sign_in_limit(settings.sign_in_account_limit, "sign_in_account_limit")
        self.address = sign_in_limit(settings.sign_in_address_limit, "sign_in_address_limit")
        self.directory = (settings.ldap_max_failed_binds, settings.ldap_failed_bind_window)

    @cached_property
    def storage(self) -> Storage:
        """The counters' storage, opened at the first sign-in: a ``depot-server`` command
        that signs nobody in neither connects to Redis nor starts ``memory://``'s expiry
        timer (a thread that kept such a command from exiting under a moved clock)."""
        storage = storage_from_string(self.storage_url, wrap_exceptions=True)
        assert isinstance(storage, Storage)  # the settings admit no async+ scheme
        return storage

    # -- the subjects of one attempt -----------------------------------------------------

    def subjects(self, username: str | None, address: str, *, break_glass: bool) -> list[Subject]:
        """What a sign-in as ``username`` (``None``: not a possible name) from ``address``
        is counted against. A break-glass account is locked out only for the address
        that failed, so nobody elsewhere can keep it out (docs/security.md)."""
        address = address[:64]
        found = [Subject(f"address:{address}", *self.address, target=f"address:{address}")]
        if username is not None:
            key = f"account:{username}" + (f"@{address}" if break_glass else "")
            found.append(Subject(key, *self.account, target=f"user:{username}"))
        return found

    def directory_subject(self, username: str) -> Subject:
        """The binds sent to the directory as ``username``."""
        return Subject(f"directory:{username}", *self.directory, target=f"user:{username}")

    # -- counting ------------------------------------------------------------------------

    def _keys(self, subject: Subject) -> list[str]:
        now = self.clock.now().timestamp()
        return [f"{self.prefix}:{subject.key}:{n}" for n in window_buckets(now, subject.window)]

    def _state(self, subject: Subject, counts: list[int]) -> Lockout:
        return lockout(counts, self.clock.now().timestamp(), subject.window, subject.limit)

    def _incr(self, subject: Subject, amount: int = 1) -> list[int]:
        """Add ``amount`` to the current bucket; the counts of all buckets, oldest first."""
        keys = self._keys(subject)
        counts = [self.storage.get(key) for key in keys[:-1]]
        # A bucket's key outlives the window (a little longer than a window of real time).
        counts.append(self.storage.incr(keys[-1], subject.window * 2, amount))
        return counts

    def check(self, subjects: list[Subject]) -> None:
        """``TooManyAttempts`` if any of ``subjects`` is locked out now (the longest wait)."""
        waits = [
            state.retry_after
            for subject in subjects
            if (
                state := self._state(subject, [self.storage.get(k) for k in self._keys(subject)])
            ).locked
        ]
        if waits:
            raise TooManyAttempts(locked_message(max(waits)), retry_after=max(waits))

    def failed(self, subjects: list[Subject]) -> list[tuple[Subject, Lockout]]:
        """Count one failure against each of ``subjects``; those this failure locked out
        (exactly at their limit: one request per lockout, on any node), with the lockout."""
        locked = []
        for subject in subjects:
            counts = self._incr(subject)
            if sum(counts) == subject.limit:
                locked.append((subject, self._state(subject, counts)))
        return locked

    def succeeded(self, subjects: list[Subject]) -> None:
        """Forget the failures of the accounts of a successful sign-in (not the address's)."""
        for subject in subjects:
            if not subject.key.startswith("address:"):
                for key in self._keys(subject):
                    self.storage.clear(key)

    def reserve(self, subject: Subject) -> None:
        """Count a bind before it is sent; ``TooManyAttempts`` (and nothing counted) when
        it would be one more than the limit. Parallel sign-ins cannot overshoot it."""
        counts = self._incr(subject)
        if sum(counts) > subject.limit:
            self._incr(subject, -1)
            counts[-1] -= 1
            state = self._state(subject, counts)
            raise TooManyAttempts(locked_message(state.retry_after), retry_after=state.retry_after)

    def release(self, subject: Subject) -> None:
        """Take back a reservation whose bind never reached the directory."""
        self._incr(subject, -1)


def locked_message(retry_after: int) -> str:
    """What a locked-out caller is told."""
    minutes = max(1, round(retry_after / 60))
    return (
        "too many failed sign-ins for this account or from this address: sign-in is "
        f"locked for {minutes} minute{'s' if minutes > 1 else ''} (try again in "
        f"{retry_after} s); if this was not you, tell your administrator"
    )


def store_down() -> Unavailable:
    """The answer when the counters cannot be reached (nobody but a break-glass account
    signs in unthrottled)."""
    return Unavailable(STORE_DOWN)
