"""Sign-in lockout: how recent failed sign-ins lock an account or an address out, and
for how long. Pure: the caller passes the counts and the time.

Failures are counted in ``BUCKETS`` buckets per window (a sliding window of fixed
buckets): at time ``now`` the buckets :func:`window_buckets` names are the window, oldest
first. They cover the last ``window`` seconds and up to one bucket more, so the sum never
undercounts the failures of the last ``window`` seconds: a subject with ``limit`` failures
in any ``window`` seconds is locked out, and is let in again when enough old buckets have
left the window for the sum to drop below ``limit``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Buckets per window: the lockout ends at most ``window / BUCKETS`` later than exactly.
BUCKETS = 10


@dataclass(frozen=True)
class Lockout:
    """Whether a subject is locked out now, and how many seconds until it may try again."""

    locked: bool
    retry_after: int = 0


def window_buckets(now: float, window: int, buckets: int = BUCKETS) -> list[int]:
    """The bucket numbers that make up the window ending at ``now``, oldest first.

    Bucket ``n`` holds the failures of ``[n * span, (n + 1) * span)`` with ``span =
    window / buckets`` (seconds since the epoch)."""
    span = window / buckets
    current = math.floor(now / span)
    return list(range(current - buckets + 1, current + 1))


def lockout(
    counts: Sequence[int], now: float, window: int, limit: int, buckets: int = BUCKETS
) -> Lockout:
    """The lockout of a subject whose buckets (those of :func:`window_buckets`, oldest
    first) hold ``counts`` failures: locked when they add up to ``limit`` or more.

    ``retry_after`` is the whole number of seconds (at least 1) until enough of the oldest
    buckets have left the window for the rest to hold fewer than ``limit``.
    """
    remaining = sum(counts)
    if remaining < limit:
        return Lockout(False)
    span = window / buckets
    first = window_buckets(now, window, buckets)[0]
    # The first bucket after which the younger ones hold fewer than ``limit`` (the last
    # one always does: a limit is at least 1); it leaves the window when bucket
    # ``+ buckets`` begins.
    offset = next(i for i in range(len(counts)) if sum(counts[i + 1 :]) < limit)
    leaves_at = (first + offset + buckets) * span
    return Lockout(True, max(1, math.ceil(leaves_at - now)))
