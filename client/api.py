"""The HTTP side of the client: one urllib3 pool for JSON calls and byte transfers.

urllib3 reads a local stream at about 2 GiB/s here (httpx at about 390 MiB/s), so the
same client serves both. Every error the server sends (``{"error", "message"}``)
becomes a :class:`~client.errors.ClientError` with the matching exit code.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from client.errors import AnswerError, ClientError, Exit, InputError, exit_for
from client.refs import Ref

USER_AGENT = "depot-cli/0.1"
BLOCK = 1 << 20


def seg(value: str) -> str:
    """One URL path segment, with everything but unreserved characters escaped."""
    return quote(value, safe="")


def version_path(ref: Ref) -> str:
    """``/api/v1/groups/G/products/P/versions/V``."""
    assert ref.product and ref.version
    return (
        f"/api/v1/groups/{seg(ref.group)}/products/{seg(ref.product)}/versions/{seg(ref.version)}"
    )


class Api:
    """Calls to one Depot server with one set of credentials."""

    def __init__(
        self, server: str, token: str = "", *, timeout: float = 60.0, connections: int = 4
    ) -> None:
        if not server:
            raise InputError(
                "no server configured",
                hint="run `depot login --server URL` or set DEPOT_URL",
            )
        if not server.startswith(("http://", "https://")):
            raise InputError(f"server URL {server!r} must start with http:// or https://")
        self.server = server.rstrip("/")
        self.token = token
        #: GETs started ahead of need (:meth:`ahead`), each answered once.
        self._ahead: dict[str, Future[Any]] = {}
        self._ahead_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self.pool = urllib3.PoolManager(
            num_pools=4,
            # One more connection for each GET started ahead (see `ahead`).
            maxsize=max(4, connections) + 4,
            blocksize=BLOCK,
            timeout=urllib3.Timeout(connect=10.0, read=timeout),
            retries=False,
        )

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Default headers: user agent and credentials."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The full URL of an API path."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return self.server + path + (("?" + urlencode(query)) if query else "")

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: bytes | BinaryIO | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        ok: tuple[int, ...] = (200, 201),
    ) -> urllib3.BaseHTTPResponse:
        """Send one request; raise ``ClientError`` unless the status is in ``ok``."""
        idempotent = method in ("GET", "HEAD")
        retries = (
            urllib3.Retry(
                total=3,
                connect=3,
                read=2,
                backoff_factor=0.3,
                status=0,
                redirect=0,
                allowed_methods=None,
                # A 503's Retry-After is for the person or pipeline to act on (the error
                # says when); waiting inside one command would only look like a hang.
                respect_retry_after_header=False,
            )
            if idempotent
            else False
        )
        try:
            response = self.pool.request(
                method,
                self.url(path, params),
                body=body,
                headers=self.headers(headers),
                preload_content=not stream,
                retries=retries,
                redirect=False,
            )
        except Urllib3Error as error:
            raise ClientError(
                f"cannot reach the server at {self.server}: {_reason(error)}", Exit.UNAVAILABLE
            ) from None
        if response.status not in ok:
            raise self.error(response)
        return response

    def error(self, response: urllib3.BaseHTTPResponse) -> ClientError:
        """The ``ClientError`` for a failed response."""
        try:
            raw = response.data if response.data is not None else response.read(65536)
        except Urllib3Error:
            raw = b""
        code, message = "http_error", f"HTTP {response.status}"
        try:
            body = json.loads(raw)
            code = str(body.get("error", code))
            message = str(body.get("message", message))
            if body.get("rule"):
                message += f" (rule {body['rule']})"
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            pass  # not the server's error body: the status says enough
        hint = ""
        if response.status == 401:
            hint = "sign in with `depot login` (or check DEPOT_TOKEN)"
        elif response.status == 503:
            wait = response.headers.get("Retry-After", "")
            hint = f"try again in {wait} s" if wait.isdigit() else "try again later"
        return ClientError(message, exit_for(response.status, code), code, hint)

    def json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        """A JSON call: send ``body`` as JSON (if given), return the decoded answer."""
        data = None
        headers = dict(kwargs.pop("headers", {}) or {})
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        response = self.send(method, path, body=data, headers=headers, **kwargs)
        try:
            return json.loads(response.data) if response.data else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AnswerError(
                f"the server answered {path} with something that is not JSON"
            ) from None

    def get(self, path: str, **params: Any) -> Any:
        """GET a JSON document (the answer of a GET started by :meth:`ahead`, if any)."""
        with self._ahead_lock:
            early = self._ahead.pop(self.url(path, params), None)
        if early is not None:
            return early.result()
        return self.json("GET", path, params=params)

    def drop_ahead(self) -> None:
        """Forget every answer fetched ahead and not used yet: the next ``get`` of each
        asks the server again (after a rotation, what was fetched before it is stale)."""
        with self._ahead_lock:
            self._ahead.clear()

    def ahead(self, path: str, **params: Any) -> None:
        """Start ``GET path`` now, on a connection of its own, for a :meth:`get` of the
        same path and parameters later: a command that needs several documents in a row
        (a verified pull) waits for one round trip instead of one per document.

        Only for reads that have no effect beyond answering; each answer (or error) is
        used once, by the next such ``get`` — a later one asks the server again."""
        key = self.url(path, params)
        with self._ahead_lock:
            if key in self._ahead:
                return
            if self._executor is None:
                self._executor = ThreadPoolExecutor(4, thread_name_prefix="depot-ahead")
            self._ahead[key] = self._executor.submit(self.json, "GET", path, params=params)


def _reason(error: Exception) -> str:
    reason = getattr(error, "reason", None) or error
    text = str(reason)
    if "Connection refused" in text:
        return "connection refused (is the server running?)"
    return text.split(": ", 1)[-1] if "object at 0x" in text else text
