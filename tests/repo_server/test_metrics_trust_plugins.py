"""The metrics an operator alerts on beyond the requests: status documents signed (by
state) and plugin hook failures (by plugin and hook), as a scrape of /metrics shows them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.repo_server.test_lifecycle import V, call, check_in, submit_and_accept
from tests.repo_server.test_plugins import Broken, Quality
from tests.support import World


def scrape(world: World) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of /metrics (the test client comes from 127.0.0.1, which may scrape)."""
    answer = world.client.get("/metrics")
    assert answer.status_code == 200
    found = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_status_documents_signed_are_counted_by_state(lib: World) -> None:
    signed = "depot_status_documents_signed_total"
    before = scrape(lib)
    quality = Quality()
    lib.depot.plugins.register(quality, "quality")
    submit_and_accept(lib)
    check_in(lib)
    quality.stopped["team/app@1.0.0"] = "serious quality issue Q-17 confirmed"
    call(lib, "alice", "GET", V + "/status")
    after = scrape(lib)
    for state in ("checked_in", "quarantined"):
        key = (signed, (("state", state),))
        assert after[key] - before.get(key, 0) == 1, state


def test_plugin_hook_failures_are_counted_by_plugin_and_hook(lib: World) -> None:
    failures = (
        "depot_plugin_hook_failures_total",
        (("hook", "depot_version_blocks"), ("plugin", "broken")),
    )
    before = scrape(lib).get(failures, 0)
    lib.depot.plugins.register(Broken(), "broken")
    assert lib.call("GET", V + "/files/app.tar.gz", lib.tokens["bob"]).status_code == 403
    assert scrape(lib)[failures] - before >= 1
