"""Prometheus metrics of the server (prometheus_client).

Requests by route, method and status with their duration; bytes received and sent; error
answers by route and error code (uploads refused, by reason, are the upload route's); status
documents signed; plugin hook failures; directory (LDAP) request times and errors; and,
read from the database when scraped, the size of the transparency log, the age of its
newest checkpoint, and the lifecycle requests by kind and state.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder
(``depot-server run`` does): every worker writes its counters there and ``/metrics``
adds them up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from repo_server.core import Depot

#: The registry our request metrics live in (one per process).
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "depot_http_requests",
    "HTTP requests answered, by route, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "depot_http_request_duration_seconds",
    "Time to answer an HTTP request (until the answer's body starts), by route.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
RECEIVED = Counter(
    "depot_http_received_bytes",
    "Bytes of request bodies received, by route.",
    ["route"],
    registry=REGISTRY,
)
SENT = Counter(
    "depot_http_sent_bytes",
    "Bytes of answer bodies sent, by route.",
    ["route"],
    registry=REGISTRY,
)
MAIL = Counter(
    "depot_mail_messages",
    "Notification mails handed to the relay (sent) or lost to a relay failure (failed).",
    ["outcome"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "depot_http_errors",
    "Error answers by route and error code (the upload route's are refused uploads).",
    ["route", "code"],
    registry=REGISTRY,
)
SLOW_CLIENTS = Counter(
    "depot_http_slow_clients",
    "Connections ended by the server before a request: headers late (header_timeout), "
    "nothing sent (idle), headers too large (headers_too_large).",
    ["reason"],
    registry=REGISTRY,
)
STATUSES_SIGNED = Counter(
    "depot_status_documents_signed",
    "Status documents signed, by the state they state (checked_in, retired, quarantined).",
    ["state"],
    registry=REGISTRY,
)
PLUGIN_FAILURES = Counter(
    "depot_plugin_hook_failures",
    "Plugin hooks that raised, by plugin and hook (each is logged and audited).",
    ["plugin", "hook"],
    registry=REGISTRY,
)
DIRECTORY_DURATION = Histogram(
    "depot_directory_request_duration_seconds",
    "Time of one directory (LDAP) request (a sign-in, a lookup) over every server it "
    "tried, by outcome: ok, refused (a wrong password, an unknown or disabled person), "
    "unavailable (no server answered).",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
DIRECTORY_ERRORS = Counter(
    "depot_directory_errors",
    "Directory servers that did not answer or stopped answering, by server.",
    ["server"],
    registry=REGISTRY,
)


class StateCollector(Collector):
    """Gauges read from the database of one server when scraped."""

    def __init__(self, depot: Depot) -> None:
        self.depot = depot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("depot_database_up", "Whether the database answered.")
        try:
            size, newest = self.depot.trust.log_state()
            counts = self.depot.requests.counts()
        except sa.exc.SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        log = GaugeMetricFamily("depot_log_size", "Records in the transparency log.")
        log.add_metric([], size)
        yield log
        age = GaugeMetricFamily(
            "depot_checkpoint_age_seconds",
            "Seconds since the newest signed checkpoint of the log (-1: none yet).",
        )
        now = self.depot.clock.now()
        age.add_metric([], (now - newest).total_seconds() if newest else -1)
        yield age
        requests = GaugeMetricFamily(
            "depot_lifecycle_requests",
            "Lifecycle requests (check-in, check-out, upgrade, acceptance) by kind and state.",
            labels=["kind", "state"],
        )
        for kind, state, count in counts:
            requests.add_metric([kind, state], count)
        yield requests


def exposition(depot: Depot) -> bytes:
    """The text a scrape gets: request metrics (of every worker) and the state gauges."""
    requests = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        requests = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests)  # type: ignore[no-untyped-call]
    state = CollectorRegistry()
    state.register(StateCollector(depot))
    return generate_latest(requests) + generate_latest(state)


def observe(route: str, method: str, status: int, started: float, received: int, sent: int) -> None:
    """Count one answered request."""
    REQUESTS.labels(route, method, str(status)).inc()
    DURATION.labels(route, method).observe(time.perf_counter() - started)
    if received:
        RECEIVED.labels(route).inc(received)
    if sent:
        SENT.labels(route).inc(sent)


def count_status(state: str) -> None:
    """Count one status document signed (the signing service calls it)."""
    STATUSES_SIGNED.labels(state).inc()


def count_plugin_failure(plugin: str, hook: str) -> None:
    """Count one plugin hook that raised (the plugin host calls it)."""
    PLUGIN_FAILURES.labels(plugin, hook).inc()


def time_directory(outcome: str, seconds: float) -> None:
    """Record one directory request's time and outcome (the directory calls it)."""
    DIRECTORY_DURATION.labels(outcome).observe(seconds)


def count_directory_error(server: str) -> None:
    """Count a directory server that did not answer (the directory calls it)."""
    DIRECTORY_ERRORS.labels(server).inc()


def count_mail(outcome: str, count: int) -> None:
    """Count ``count`` mails ``sent`` or ``failed`` (the mailer calls it)."""
    MAIL.labels(outcome).inc(count)
