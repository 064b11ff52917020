"""Calls to the API of a business module (a plugin the server may or may not run).

A module's routes answer 404 on a server that does not run it, like a name that does not
exist; on a 404 the client asks ``/api/v1/plugins`` which one it was, so that people
read "the quality module is not enabled on this server" instead of "not found".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from client.api import Api
from client.errors import ClientError, Exit

T = TypeVar("T")


class Module:
    """One business module as the client sees it: its plugin name, its API root, and
    what people call it."""

    def __init__(self, plugin: str, root: str, label: str) -> None:
        self.plugin, self.root, self.label = plugin, root, label

    def call(self, api: Api, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """A JSON call to ``root + path`` (``params`` as the query of a GET)."""
        if method == "GET":
            return self.guard(api, lambda: api.get(self.root + path, **params))
        return self.guard(api, lambda: api.json(method, self.root + path, body))

    def guard(self, api: Api, action: Callable[[], T]) -> T:
        """Run ``action`` (a call to the module); a 404 from a server without the
        module becomes a message saying so."""
        try:
            return action()
        except ClientError as error:
            if error.exit_code == Exit.NOT_FOUND and not self.enabled(api):
                raise ClientError(
                    f"the {self.label} module is not enabled on this server",
                    Exit.NOT_FOUND,
                    "not_enabled",
                    f"its administrator enables it with DEPOT_PLUGINS={self.plugin}",
                ) from None
            raise

    def enabled(self, api: Api) -> bool:
        """True when the server says it runs the module."""
        try:
            return self.plugin in api.get("/api/v1/plugins").get("plugins", [])
        except ClientError:  # a server from before plugins could be listed
            return False
