"""The gunicorn worker of ``depot-server run``: gunicorn's threaded worker, with the request
headers read in its event loop instead of in a thread.

gunicorn's ``gthread`` worker hands a new connection to a thread as soon as a byte arrives,
and the thread then blocks until the headers are complete. A client that sends half of its
headers and stops holds that thread for good: as many such clients as a node has threads
(24 on the default 2 × 8, fewer in practice) and the node answers nobody. Here each
connection waits in the worker's poller, without a thread, until its headers are complete
(``\\r\\n\\r\\n``), for at most ``header_timeout`` seconds: then it is answered ``408`` (or,
when it sent nothing, closed). Only a request whose headers are all there gets a thread,
so idle, half-sent and kept-alive connections cost a file descriptor and a few bytes each,
up to the connection limit (gunicorn's ``worker_connections``; a full worker stops
accepting and the connections wait in the listen queue). A stalled body is the app's
``BodyTimeout`` (serve.py). docs/operations.md, "Slow and idle clients", says why this
stack.
"""

from __future__ import annotations

import contextlib
import errno
import json
import selectors
import socket
import time
from collections import deque
from concurrent.futures import Future
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

#: The most header bytes a request may send (gunicorn's own limits are below this).
MAX_HEAD = 1024 * 1024
_END_OF_HEAD = b"\r\n\r\n"


class _Conn(TConn):
    """A connection, with the header bytes read so far and when they are due."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.head = b""
        self.head_deadline = 0.0


class DepotWorker(ThreadWorker):
    """gunicorn's threaded worker, reading each request's headers without a thread."""

    #: Seconds a connection may take to send a request's headers; set by serve.py.
    header_timeout: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connections whose headers are on the way, oldest first (one timeout for all,
        # so appending keeps the deque sorted by deadline).
        self.heading: deque[_Conn] = deque()

    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        self.nr_conns += 1
        conn = _Conn(self.cfg, client, address, listener.getsockname())
        if self.cfg.is_ssl:
            # TLS ends at the proxy in Depot's set-ups; gunicorn's own TLS keeps its path.
            conn.sock.setblocking(True)
            self.enqueue_req(conn)
            return
        self._await_head(conn)

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        """A kept-alive connection starts its next request: its headers are awaited too."""
        if self.cfg.is_ssl:
            super().on_client_socket_readable(conn, client)
            return
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        assert isinstance(conn, _Conn)  # every connection was accepted by accept() below
        self._await_head(conn)

    def finish_request(self, conn: TConn, fs: Future[Any]) -> None:
        """After an answer on a kept-alive connection: when the client already sent part of
        its next request (pipelined), the rest of its headers are awaited here too, not
        in a thread."""
        if isinstance(conn, _Conn) and self._next_head_partial(conn, fs):
            parser: Any = conn.parser
            self._await_head(conn, parser.unreader.take_buffered())
            return
        super().finish_request(conn, fs)

    def _next_head_partial(self, conn: _Conn, fs: Future[Any]) -> bool:
        if not self.alive or fs.cancelled() or fs.exception() is not None:
            return False
        parser: Any = conn.parser
        if fs.result() is not True or conn.is_http2 or parser is None:
            return False
        buffered: bytes = parser.unreader.buf.getvalue()
        return bool(buffered) and _END_OF_HEAD not in buffered

    def _await_head(self, conn: _Conn, head: bytes = b"") -> None:
        conn.sock.setblocking(False)
        conn.head = head
        conn.head_deadline = time.monotonic() + self.header_timeout
        self.heading.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_bytes, conn))

    def _on_head_bytes(self, conn: _Conn, client: socket.socket) -> None:
        try:
            chunk = client.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client went away
            self._drop(conn)
            return
        conn.head += chunk
        if _END_OF_HEAD in conn.head:
            self._forget(conn)
            self._hand_over(conn)
        elif len(conn.head) > MAX_HEAD:
            _count("headers_too_large")
            self._drop(conn, _answer(431, "request_headers_too_large", "the headers are too large"))

    def _hand_over(self, conn: _Conn) -> None:
        """The headers are all there: a thread parses them from what was read, and on."""
        head, conn.head = conn.head, b""
        conn.sock.setblocking(True)
        conn.init()
        conn.parser.unreader.unread(head)  # type: ignore[union-attr]
        conn.data_ready = True
        self.enqueue_req(conn)

    def murder_pending(self) -> None:
        """Called by the worker's loop about once a second: also end the connections
        whose headers are late."""
        super().murder_pending()
        now = time.monotonic()
        while self.heading and self.heading[0].head_deadline <= now:
            conn = self.heading[0]
            if conn.head.strip():
                _count("header_timeout")
                message = (
                    f"the request headers did not arrive within {self.header_timeout:g} seconds"
                )
                self._drop(conn, _answer(408, "request_timeout", message))
            else:
                _count("idle")
                self._drop(conn)

    def _forget(self, conn: _Conn) -> None:
        self.heading.remove(conn)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)

    def _drop(self, conn: _Conn, answer: bytes = b"") -> None:
        self._forget(conn)
        self.nr_conns -= 1
        if answer:
            # A few hundred bytes into a fresh socket buffer: this does not block.
            with contextlib.suppress(OSError):
                conn.sock.send(answer)
        conn.close()


def _count(reason: str) -> None:
    """Count a connection ended for ``reason``. Imported here, in the worker process:
    prometheus_client decides at its import whether it runs in multiprocess mode, and
    the master imports this module before ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    from repo_server.observability.metrics import SLOW_CLIENTS

    SLOW_CLIENTS.labels(reason=reason).inc()


def _answer(status: int, code: str, message: str) -> bytes:
    """A whole HTTP answer with the usual error body, closing the connection."""
    reasons = {408: "Request Timeout", 431: "Request Header Fields Too Large"}
    body = json.dumps({"error": code, "message": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reasons[status]}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body
