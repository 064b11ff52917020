"""The body timeout setting (the behaviour itself: tests/e2e/test_server_process.py)."""

from __future__ import annotations

import pytest

from repo_server.settings import SettingsError, load_settings


def test_the_body_timeout_defaults_to_30_seconds_and_is_read_from_the_environment() -> None:
    assert load_settings({}).body_timeout == 30
    assert load_settings({"DEPOT_BODY_TIMEOUT": "5"}).body_timeout == 5


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_body_timeout_below_one_second_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="body_timeout must be at least 1 second"):
        load_settings({"DEPOT_BODY_TIMEOUT": value})
