"""The sign-in lockout rule: a sliding window of buckets, and when it lets a subject in."""

from __future__ import annotations

from policies.sign_in import BUCKETS, Lockout, lockout, window_buckets


def test_the_window_is_the_current_bucket_and_the_ones_before_it() -> None:
    # 900 s in 10 buckets of 90 s: at t = 1000 the current bucket is 11 (990..1080).
    assert window_buckets(1000.0, 900) == list(range(2, 12))
    assert len(window_buckets(5.0, 60)) == BUCKETS


def test_fewer_failures_than_the_limit_do_not_lock() -> None:
    assert lockout([0] * 9 + [4], 1000.0, 900, 5) == Lockout(False)


def test_the_limit_locks_until_enough_old_buckets_leave_the_window() -> None:
    # Five failures, all in the current bucket (990..1080): they leave at 990 + 900.
    assert lockout([0] * 9 + [5], 1000.0, 900, 5) == Lockout(True, 890)
    # Two in the oldest bucket (number 2), three in the current one: the three alone are
    # under the limit, so the lockout ends when bucket 2 leaves, as bucket 12 begins (1080).
    assert lockout([2] + [0] * 8 + [3], 1000.0, 900, 5) == Lockout(True, 80)


def test_retry_after_is_at_least_one_second() -> None:
    # Bucket 2 leaves at exactly 1080; a moment before, the wait rounds up to 1.
    assert lockout([5] + [0] * 9, 1079.9, 900, 5) == Lockout(True, 1)
