"""Running the app under gunicorn (threaded workers) — the embedded default and production.

Several worker processes, each with several threads: a large upload occupies one thread
and every other request keeps being answered. Files on a local folder are sent with
``sendfile``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from repo_server.settings import Settings


class DepotServer(BaseApplication):
    """A gunicorn application that builds the Depot app in each worker."""

    def __init__(self, settings: Settings, options: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.options = {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.workers,
            "worker_class": "gthread",
            "threads": settings.threads,
            # A worker is only restarted if it stops answering its heartbeat; gthread
            # workers keep beating while a long upload streams.
            "timeout": 120,
            "graceful_timeout": 30,
            "keepalive": 5,
            # In JSON mode the app writes one line per request itself (with its id).
            "accesslog": None if settings.log_format == "json" else "-",
            "errorlog": "-",
            "loglevel": settings.log_level,
            "access_log_format": '%(h)s "%(r)s" %(s)s %(B)s %(M)sms',
            "proc_name": "depot-server",
            # gunicorn's runtime control socket would live in the home folder; not needed.
            "control_socket_disable": True,
            "child_exit": _forget_worker_metrics,
            **(options or {}),
        }
        _metrics_folder(settings)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from repo_server.app import create_app

        return create_app(self.settings)


def _metrics_folder(settings: Settings) -> None:
    """Give the workers one folder for their metrics (prometheus_client's multiprocess
    mode), emptied at each start, unless the operator named one."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = Path(tempfile.mkdtemp(prefix="depot-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _forget_worker_metrics(server: Any, worker: Any) -> None:
    """A worker that ended keeps its counters, but not its live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
