"""What an operator sees of a running server (`depot-server run`, gunicorn with two
workers): Prometheus metrics, a request id and one JSON log line per request, and
readiness that tells the truth when a part is gone."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Server, serve
from tests.fixtures.helpers import http_get as _get

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["folder+sqlite"])
def json_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(
        request, tmp_path, {"DEPOT_LOG_FORMAT": "json", "DEPOT_METRICS_TOKEN": "scrape-me"}
    )


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _log_lines(server: Server, want: int) -> list[dict[str, Any]]:
    """The JSON lines the server wrote so far (waiting until ``want`` request lines)."""

    def parsed(text: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def enough(text: str) -> bool:
        return sum(1 for line in parsed(text) if line.get("event") == "request") >= want

    return parsed(server.wait_for_output(enough))


def test_metrics_request_ids_and_json_log_lines(json_server: Server) -> None:
    url = json_server.url
    for _ in range(4):  # several requests, answered by either worker
        status, headers, _ = _get(f"{url}/api/v1/health", {"X-Request-Id": "ci-run-42"})
        assert status == 200 and headers["X-Request-Id"] == "ci-run-42"
    status, headers, _ = _get(f"{url}/api/v1/groups/nope")
    assert status == 404
    generated = headers["X-Request-Id"]
    assert len(generated) == 32  # made by the server when the client sent none
    status, headers, _ = _get(f"{url}/api/v1/health", {"X-Request-Id": "bad id\twith space"})
    assert headers["X-Request-Id"] != "bad id\twith space"

    status, headers, body = _get(f"{url}/metrics", {"Authorization": "Bearer scrape-me"})
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    samples = _samples(body.decode())
    health = (
        "depot_http_requests_total",
        (("method", "GET"), ("route", "/api/v1/health"), ("status", "200")),
    )
    assert samples[health] >= 5  # summed over both workers (multiprocess mode)
    errors = {
        dict(labels)["route"]: dict(labels)["code"]
        for name, labels in samples
        if name == "depot_http_errors_total"
    }
    assert errors.get("/api/v1/groups/<group>") == "not_found"
    assert samples[("depot_database_up", ())] == 1
    assert samples[("depot_log_size", ())] >= 1
    assert ("depot_checkpoint_age_seconds", ()) in samples

    lines = [line for line in _log_lines(json_server, 7) if line.get("event") == "request"]
    ours = [line for line in lines if line.get("request_id") == "ci-run-42"]
    assert len(ours) == 4
    line = ours[0]
    assert line["status"] == 200 and line["route"] == "/api/v1/health"
    assert line["level"] == "info" and "timestamp" in line and line["client"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float) and line["user"] == "-"
    assert any(line.get("request_id") == generated and line["status"] == 404 for line in lines)


@pytest.fixture(params=["folder+sqlite"])
def guarded_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server whose /metrics answers only the scrape token, from no address."""
    yield from serve(
        request, tmp_path, {"DEPOT_METRICS_TOKEN": "scrape-me", "DEPOT_METRICS_ALLOW": ""}
    )


def test_metrics_are_for_the_monitoring_system_only(guarded_server: Server) -> None:
    url = guarded_server.url
    assert _get(f"{url}/metrics")[0] == 403
    assert _get(f"{url}/metrics", {"Authorization": "Bearer wrong"})[0] == 403
    assert _get(f"{url}/metrics", {"Authorization": "Bearer scrape-me"})[0] == 200


@pytest.fixture(params=["folder+sqlite"])
def folder_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(request, tmp_path, {})


def test_readiness_fails_when_the_blob_folder_or_a_key_file_is_gone(
    folder_server: Server,
) -> None:
    server = folder_server
    url = server.url
    status, _, body = _get(f"{url}/api/v1/health/ready")
    assert status == 200, body
    report = json.loads(body)
    assert report["ready"] is True
    assert [c["name"] for c in report["checks"]] == [
        "database", "migrations", "blob store", "signing keys", "plugins",
    ]  # fmt: skip

    blobs = server.data_dir / "blobs"
    shutil.move(blobs, server.data_dir / "blobs-moved")
    status, _, body = _get(f"{url}/api/v1/health/ready")
    assert status == 503
    report = json.loads(body)
    assert report["error"] == "unavailable" and report["message"] == "not ready: blob store"
    bad = {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}
    assert list(bad) == ["blob store"] and "does not exist" in bad["blob store"]
    assert not blobs.exists()  # not silently re-created
    assert _get(f"{url}/api/v1/health")[0] == 503
    assert _get(f"{url}/api/v1/health/live")[0] == 200  # the process itself is fine
    shutil.move(server.data_dir / "blobs-moved", blobs)
    assert _get(f"{url}/api/v1/health/ready")[0] == 200

    key = next((server.data_dir / "keys").glob("*.status.pem"))
    key.rename(key.with_suffix(".gone"))
    status, _, body = _get(f"{url}/api/v1/health/ready")
    bad = {c["name"]: c["detail"] for c in json.loads(body)["checks"] if not c["ok"]}
    assert (
        status == 503 and list(bad) == ["signing keys"] and "does not exist" in bad["signing keys"]
    )
