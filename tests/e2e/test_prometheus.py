"""A real Prometheus (Debian's package) scrapes a running server's /metrics with the
scrape token, as a monitoring system would: the target is up, and the request counters of
every worker and the state gauges can be queried."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, free_port, serve
from tests.fixtures.helpers import http_get

pytestmark = pytest.mark.e2e

PROMETHEUS = Path("/usr/bin/prometheus")


@pytest.fixture(params=["folder+sqlite"])
def scraped(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(request, tmp_path, {"DEPOT_METRICS_TOKEN": "scrape-me"})


@pytest.fixture
def prometheus(scraped: Server, tmp_path: Path) -> Iterator[str]:
    """Prometheus scraping ``scraped`` every second; its HTTP API's address."""
    assert PROMETHEUS.exists(), "Debian's prometheus is missing: scripts/ensure-services.sh"
    target = scraped.url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: depot\n    metrics_path: /metrics\n"
        "    authorization:\n      credentials: scrape-me\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [str(PROMETHEUS), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def _query(api: str, expression: str) -> list[dict[str, Any]]:
    url = f"{api}/api/v1/query?query={urllib.parse.quote(expression)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            answer = json.loads(response.read())
    except OSError:
        return []  # not listening yet
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def _eventually(api: str, expression: str) -> list[dict[str, Any]]:
    """The result of ``expression`` once it has one (Prometheus scrapes every second)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if found := _query(api, expression):
            return found
        time.sleep(0.5)
    raise AssertionError(f"Prometheus never had {expression}")


def test_prometheus_scrapes_the_servers_metrics(scraped: Server, prometheus: str) -> None:
    for _ in range(6):
        assert http_get(f"{scraped.url}/api/v1/health")[0] == 200
    assert http_get(f"{scraped.url}/api/v1/groups/nope")[0] in (401, 404)
    [up] = _eventually(prometheus, 'up{job="depot"} == 1')
    assert up["value"][1] == "1"
    health = _eventually(
        prometheus, 'sum(depot_http_requests_total{route="/api/v1/health",status="200"}) >= 6'
    )
    assert float(health[0]["value"][1]) >= 6
    [database] = _eventually(prometheus, "depot_database_up")
    assert database["value"][1] == "1"
    durations = _eventually(prometheus, "depot_http_request_duration_seconds_bucket")
    assert {series["metric"]["le"] for series in durations} >= {"0.005", "1.0", "+Inf"}
    with urllib.request.urlopen(f"{prometheus}/api/v1/targets", timeout=5) as response:
        [target] = json.loads(response.read())["data"]["activeTargets"]
    assert target["health"] == "up" and target["lastError"] == ""
