"""The server's source of the current time, so tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Returns the current UTC time; the one place the server reads the clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that stands still until moved (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        """Move the clock forward by ``timedelta(**delta)``."""
        self.current += timedelta(**delta)


def iso(moment: datetime | None) -> str | None:
    """``moment`` as RFC 3339 UTC with a ``Z`` (``None`` stays ``None``)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
