"""What the server shows its operators: Prometheus metrics, one structured log line per
request with its request id, and the health endpoints' readiness checks.

``install(app, readiness)`` is called by the app factory; nothing else of the server
imports this package.
"""

from __future__ import annotations

from repo_server.observability.install import install

__all__ = ["install"]
