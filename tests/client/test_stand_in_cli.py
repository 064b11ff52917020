"""What `depot stand-in add` makes of the times people write."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from client.commands.notify import parse_moment
from client.errors import InputError

NOW = datetime(2026, 12, 3, 6, 30, tzinfo=UTC)


def test_durations_days_and_times() -> None:
    assert parse_moment("7d", now=NOW) == "2026-12-10T06:30:00Z"
    assert parse_moment("12h", now=NOW) == "2026-12-03T18:30:00Z"
    assert parse_moment("2026-12-20", now=NOW) == "2026-12-20T00:00:00Z"
    assert parse_moment("2026-12-20", now=NOW, end_of_day=True) == "2026-12-21T00:00:00Z"
    assert parse_moment("2024-02-29", end_of_day=True) == "2024-03-01T00:00:00Z"
    assert parse_moment("2026-12-20T18:00:00+08:00") == "2026-12-20T18:00:00+08:00"


@pytest.mark.parametrize(
    "text", ["", "soon", "3w", "2026-02-30", "2026-13-01", "2026-12-20T18:00:00", "-3d"]
)
def test_what_it_cannot_read_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError):
        parse_moment(text, now=NOW)
