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
    directory: Path = field(default_factory=config_dir)
    _config: ClientConfig | None = None

    @property
    def config(self) -> ClientConfig:
        """The saved configuration with the environment applied (and ``--server``)."""
        if self._config is None:
            config = load_config(self.directory).with_environment()
            if self.server_option:
                from dataclasses import replace

                config = replace(config, server=self.server_option)
            self._config = config
        return self._config

    def api(self, *, signed_in: bool = True) -> Api:
        """An API client for the configured server (and token)."""
        config = self.config
        if signed_in and not config.token:
            raise ClientError(
                "not signed in",
                Exit.AUTH,
                "unauthorized",
                "run `depot login` (or set DEPOT_TOKEN for a pipeline)",
            )
        return Api(config.server, config.token if signed_in else "")


pass_context = click.make_pass_decorator(Context)
