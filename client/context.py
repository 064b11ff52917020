"""What every command gets: configuration, output style and the API client."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from client.api import Api
from client.config import ClientConfig, config_dir, load_config
from client.errors import ClientError, Exit
from client.output import Output


@dataclass
class Context:
    """The state of one ``depot`` invocation."""

    output: Output
    server_option: str | None = None
    profile_option: str | None = None
    directory: Path = field(default_factory=config_dir)
    _config: ClientConfig | None = None

    @property
    def config(self) -> ClientConfig:
        """The saved configuration of the profile, with the environment and ``--server``
        applied; its token is only ever one issued by that server."""
        if self._config is None:
            self._config = load_config(
                self.directory, profile=self.profile_option, server=self.server_option
            )
        return self._config

    def forget(self) -> None:
        """Drop the cached configuration (after ``login`` or ``logout`` changed it)."""
        self._config = None

    def api(self, *, signed_in: bool = True, connections: int = 4) -> Api:
        """An API client for the configured server (and token), keeping up to
        ``connections`` connections open (one per transfer thread)."""
        config = self.config
        if signed_in and not config.token:
            where = f" to {config.server}" if config.server else ""
            raise ClientError(
                f"not signed in{where} (profile {config.profile})",
                Exit.AUTH,
                "unauthorized",
                "run `depot login` (or set DEPOT_TOKEN for a pipeline); a token is only "
                "sent to the server that issued it",
            )
        return Api(config.server, config.token if signed_in else "", connections=connections)


pass_context = click.make_pass_decorator(Context)
