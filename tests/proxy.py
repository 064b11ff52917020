"""A man in the middle for the trust tests: an HTTP proxy on 127.0.0.1 that forwards every
request to a real Depot server and lets a test rewrite the answers (status, headers,
body) before the client sees them, as an attacker on the path or a compromised server's
front end would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import urllib3

_HOP = {"connection", "transfer-encoding", "content-length", "keep-alive", "host"}


@dataclass
class Answer:
    """One answer on its way back to the client; a rewrite changes it in place."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes


Rewrite = Callable[[Answer], None]


@dataclass
class Proxy:
    """The running proxy: ``url`` to point the client at, ``rewrites`` applied in order."""

    url: str
    upstream: str
    rewrites: list[Rewrite] = field(default_factory=list)
    #: Every (method, path) seen, in order.
    seen: list[tuple[str, str]] = field(default_factory=list)


@contextmanager
def rewriting_proxy(upstream: str) -> Iterator[Proxy]:
    """Run a proxy in front of ``upstream`` until the block ends."""
    pool = urllib3.PoolManager()
    state = Proxy("", upstream.rstrip("/"))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            upstream_answer = pool.request(
                self.command,
                state.upstream + self.path,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                decode_content=False,
            )
            answer = Answer(
                self.command,
                self.path,
                upstream_answer.status,
                {k: v for k, v in upstream_answer.headers.items() if k.lower() not in _HOP},
                upstream_answer.data,
            )
            state.seen.append((self.command, self.path))
            for rewrite in state.rewrites:
                rewrite(answer)
            self.send_response(answer.status)
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
