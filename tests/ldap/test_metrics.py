"""Directory latency and errors in /metrics: every sign-in through the directory is timed
by its outcome, and a directory server that does not answer is counted by its address."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.ldap.conftest import MakeWorld
from tests.ldap.directory import LiveDirectory
from tests.ldap.test_sign_in import login
from tests.repo_server.test_metrics_trust_plugins import scrape
from tests.support import World

DURATION = "depot_directory_request_duration_seconds_count"


def _count(samples: dict, outcome: str) -> float:  # type: ignore[type-arg]
    return float(samples.get((DURATION, (("outcome", outcome),)), 0))


def test_directory_requests_are_timed_by_outcome(world: World, directory: LiveDirectory) -> None:
    before = scrape(world)
    assert login(world, "alice").status_code == 201
    assert login(world, "alice", "not her password").status_code == 401
    directory.pause()
    try:
        assert login(world, "bob").status_code == 503
    finally:
        directory.resume()
    after = scrape(world)
    assert _count(after, "ok") - _count(before, "ok") == 1
    assert _count(after, "refused") - _count(before, "refused") == 1
    assert _count(after, "unavailable") - _count(before, "unavailable") == 1
    errors = ("depot_directory_errors_total", (("server", directory.url),))
    assert after[errors] - before.get(errors, 0) == 1
    # The buckets are those of a histogram a dashboard can take quantiles of.
    families = {f.name for f in text_string_to_metric_families(world.client.get("/metrics").text)}
    assert "depot_directory_request_duration_seconds" in families


def test_a_server_that_fails_over_is_counted(
    make_world: MakeWorld, directory: LiveDirectory
) -> None:
    world = make_world(ldap_url=f"ldap://127.0.0.1:9, {directory.url}")
    errors = ("depot_directory_errors_total", (("server", "ldap://127.0.0.1:9"),))
    before = scrape(world).get(errors, 0)
    assert login(world, "alice").status_code == 201
    assert scrape(world)[errors] - before == 1
