"""Running the app under gunicorn (threaded workers) — the embedded default and production.

Several worker processes, each with several threads: a large upload occupies one thread
and every other request keeps being answered. Files on a local folder are sent with
``sendfile``. The server stack is chosen here, and only here: gunicorn with Depot's
worker (worker.py), which waits for a request's headers without a thread and answers a
408 after ``header_timeout`` seconds, up to ``max_connections`` per node. A client that
sends its headers and then stalls its body gets a 408 after ``body_timeout`` seconds
without a byte, instead of holding a worker thread forever.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from werkzeug.exceptions import RequestTimeout

from repo_server.settings import Settings
from repo_server.worker import DepotWorker


class DepotServer(BaseApplication):
    """A gunicorn application that builds the Depot app in each worker."""

    def __init__(self, settings: Settings, options: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.options = {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.workers,
            "worker_class": DepotWorker,
            "threads": settings.threads,
            "worker_connections": settings.max_connections // settings.workers,
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
        DepotWorker.header_timeout = settings.header_timeout
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from repo_server.app import create_app

        return BodyTimeout(create_app(self.settings), self.settings.body_timeout)


class BodyTimeout:
    """WSGI middleware: a request body that stalls for ``seconds`` is answered with a 408.

    gunicorn reads a body from a blocking socket with no timeout, so a client that sends
    its headers and then nothing would hold a worker thread forever. The socket gets a
    timeout while the application runs (a read that waits longer raises), and a read that
    times out becomes werkzeug's ``RequestTimeout``, answered by the app's error handlers
    like any other error; the timeout is lifted before the answer is sent. gunicorn then
    closes the connection: where the next request would start is unknown. The timeout
    bounds each wait for more bytes, not the whole body, so a slow but steady upload of
    any size goes through."""

    def __init__(self, app: Callable[..., Iterable[bytes]], seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        sock = environ.get("gunicorn.socket")
        if sock is None:
            return self.app(environ, start_response)
        sock.settimeout(self.seconds)
        environ["wsgi.input"] = _StallGuard(environ["wsgi.input"], self.seconds)
        try:
            return self.app(environ, start_response)
        finally:
            # The answer is sent as before, without a timeout (a download may pause).
            sock.settimeout(None)


class _StallGuard:
    """A request body whose reads raise ``RequestTimeout`` when the client stalls."""

    def __init__(self, stream: Any, seconds: float) -> None:
        self._stream = stream
        self._seconds = seconds

    def _timed_out(self) -> RequestTimeout:
        return RequestTimeout(f"the request body stalled: no data for {self._seconds:g} seconds")

    def read(self, size: int | None = None) -> bytes:
        try:
            return bytes(self._stream.read(size))
        except TimeoutError:
            raise self._timed_out() from None

    def readline(self, size: int | None = None) -> bytes:
        try:
            return bytes(self._stream.readline(size))
        except TimeoutError:
            raise self._timed_out() from None

    def readlines(self, hint: int | None = None) -> list[bytes]:
        try:
            return list(self._stream.readlines(hint))
        except TimeoutError:
            raise self._timed_out() from None

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


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
