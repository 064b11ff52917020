"""The request hooks of the app: a request id, one log line and the metrics per request,
the ``/metrics`` scrape, and the liveness and readiness endpoints."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Callable

import structlog
from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST

from repo_server.core import Depot
from repo_server.observability import metrics
from repo_server.observability.logs import configure

#: A request id a client or proxy may send (kept as sent): short, printable, no spaces.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

request_log = structlog.get_logger("depot.request")
bp = Blueprint("observability", __name__)

ReadinessCheck = Callable[[], tuple[bool, list[dict[str, object]]]]


def install(app: Flask, readiness: ReadinessCheck) -> None:
    """Add the hooks and routes to ``app`` (``readiness`` answers ``/health/ready``)."""
    depot: Depot = app.extensions["depot"]
    configure(depot.settings.log_format, depot.settings.log_level)
    app.extensions["depot.readiness"] = readiness
    depot.notify.mailer.count = metrics.count_mail
    depot.signing.count_status = metrics.count_status
    depot.plugins.count_failure = metrics.count_plugin_failure
    if depot.auth.directory is not None:
        depot.auth.directory.directory.timed = metrics.time_directory
        depot.auth.directory.directory.failed = metrics.count_directory_error
    app.before_request(_begin)
    app.after_request(_end)
    app.register_blueprint(bp)


def _begin() -> None:
    sent = request.headers.get("X-Request-Id", "")
    g.request_id = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        request_id=g.request_id, method=request.method, path=request.path
    )


def _end(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # an answer made before our hook ran (none today)
        return response
    response.headers["X-Request-Id"] = g.request_id
    route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
    received = request.content_length or 0
    sent = response.content_length or 0
    status = response.status_code
    metrics.observe(route, request.method, status, started, received, sent)
    code = g.get("error_code")
    if status >= 400 and code:
        metrics.ERRORS.labels(route, code).inc()
    principal = g.get("principal")
    user = getattr(principal, "username", None) or g.get("page_user") or "-"
    view_args = request.view_args or {}
    fields: dict[str, object] = {
        "user": user,
        "group": view_args.get("group"),
        "route": route,
        "status": status,
        "bytes_in": received,
        "bytes_out": sent,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "client": request.remote_addr,
    }
    if code:
        fields["error"] = code
    (request_log.error if status >= 500 else request_log.info)("request", **fields)
    structlog.contextvars.clear_contextvars()
    return response


@bp.get("/metrics")
def scrape() -> Response:
    """The Prometheus exposition, for the token or the allowed addresses only."""
    depot: Depot = current_app.extensions["depot"]
    settings = depot.settings
    given = request.headers.get("Authorization", "")
    token_ok = bool(settings.metrics_token) and hmac.compare_digest(
        given.encode(), f"Bearer {settings.metrics_token}".encode()
    )
    if not token_ok and not _allowed(request.remote_addr or "", settings.metrics_networks):
        logging.getLogger("depot.metrics").warning("metrics refused to %s", request.remote_addr)
        return Response(
            "metrics are for the monitoring system only\n", status=403, mimetype="text/plain"
        )
    return Response(metrics.exposition(depot), mimetype=CONTENT_TYPE_LATEST)


def _allowed(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
