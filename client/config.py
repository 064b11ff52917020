"""The client's configuration file: the server, the user name and the sign-in token.

It lives at ``$DEPOT_CONFIG_DIR/config.toml`` (default ``~/.config/depot``), readable by
its owner only (mode 0600). ``DEPOT_URL`` and ``DEPOT_TOKEN`` override it, which is how
CI pipelines use a group token without any file.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from client.errors import ClientError, Exit


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the client keeps its files."""
    environ = os.environ if environ is None else environ
    if environ.get("DEPOT_CONFIG_DIR"):
        return Path(environ["DEPOT_CONFIG_DIR"])
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "depot"


@dataclass(frozen=True)
class ClientConfig:
    """What the client knows about where and as whom to connect."""

    server: str = ""
    username: str = ""
    token: str = ""
    path: Path | None = None

    def with_environment(self, environ: Mapping[str, str] | None = None) -> ClientConfig:
        """This configuration with ``DEPOT_URL``/``DEPOT_TOKEN`` applied on top."""
        environ = os.environ if environ is None else environ
        config = self
        if environ.get("DEPOT_URL"):
            config = replace(config, server=environ["DEPOT_URL"])
        if environ.get("DEPOT_TOKEN"):
            config = replace(config, token=environ["DEPOT_TOKEN"], username="")
        return config


def load_config(directory: Path | None = None) -> ClientConfig:
    """The saved configuration (empty when there is none)."""
    path = (directory or config_dir()) / "config.toml"
    if not path.exists():
        return ClientConfig(path=path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ClientError(f"cannot read {path}: {error}", Exit.FAILURE) from error
    return ClientConfig(
        server=str(data.get("server", "")),
        username=str(data.get("username", "")),
        token=str(data.get("token", "")),
        path=path,
    )


def save_config(config: ClientConfig, directory: Path | None = None) -> Path:
    """Write ``config`` atomically with mode 0600 and return its path."""
    folder = directory or (config.path.parent if config.path else config_dir())
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "config.toml"
    lines = [
        "# Written by `depot login`. Keep it private: it holds your sign-in token.",
        *(
            f"{key} = {json.dumps(value)}"
            for key, value in (
                ("server", config.server),
                ("username", config.username),
                ("token", config.token),
            )
            if value
        ),
    ]
    tmp = folder / f".config.toml.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path
