"""The client's configuration file: profiles, each a server and a user name.

It lives at ``$DEPOT_CONFIG_DIR/config.toml`` (default ``~/.config/depot``), mode 0600::

    [profiles.default]
    server = "https://depot.bank.example"
    username = "alice"

Tokens are not in this file: :mod:`client.credentials` keeps them per profile and per
server origin (the OS keyring, else a 0600 file). A config file of the first format
(``server``, ``username`` and ``token`` at the top) is migrated to the ``default``
profile the first time it is read. ``--profile``/``DEPOT_PROFILE`` choose the profile;
``DEPOT_URL`` and ``DEPOT_TOKEN`` override it, which is how CI pipelines use a group token
without any file.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from client.credentials import origin, private_file, stored_token, token_store, write_private
from client.errors import ClientError, Exit, InputError

DEFAULT_PROFILE = "default"
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the client keeps its files."""
    environ = os.environ if environ is None else environ
    if environ.get("DEPOT_CONFIG_DIR"):
        return Path(environ["DEPOT_CONFIG_DIR"])
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "depot"


def check_profile(name: str) -> str:
    """A valid profile name, else ``InputError``."""
    if not PROFILE_NAME.fullmatch(name):
        raise InputError(
            f"invalid profile name {name!r}: letters, digits, '.', '_' and '-', at most 64"
        )
    return name


@dataclass(frozen=True)
class Profile:
    """One saved server and user name."""

    server: str = ""
    username: str = ""


@dataclass(frozen=True)
class ClientConfig:
    """What the client knows about where and as whom to connect.

    ``token`` is the token stored for the origin of ``server`` (or ``DEPOT_TOKEN``); it is
    empty when ``server`` is not the server the profile's token was issued by.
    """

    server: str = ""
    username: str = ""
    token: str = ""
    profile: str = DEFAULT_PROFILE
    path: Path | None = None


def _read(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    private_file(path)
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ClientError(f"cannot read {path}: {error}", Exit.FAILURE) from error


def load_profiles(directory: Path | None = None) -> dict[str, Profile]:
    """The saved profiles (migrating a first-format file, whose token moves to the store)."""
    directory = directory or config_dir()
    path = directory / "config.toml"
    data = _read(path)
    profiles: dict[str, Profile] = {}
    raw = data.get("profiles", {})
    if isinstance(raw, dict):
        for name, value in raw.items():
            if isinstance(value, dict):
                profiles[str(name)] = Profile(
                    str(value.get("server", "")), str(value.get("username", ""))
                )
    if any(key in data for key in ("server", "username", "token")):
        profiles = _migrate(directory, data, profiles)
    return profiles


def _migrate(
    directory: Path, data: Mapping[str, object], profiles: dict[str, Profile]
) -> dict[str, Profile]:
    """Move a first-format file (top-level server, username, token) to ``default``."""
    server, username = str(data.get("server", "")), str(data.get("username", ""))
    token = str(data.get("token", ""))
    if DEFAULT_PROFILE not in profiles:
        profiles[DEFAULT_PROFILE] = Profile(server, username)
    if token and server:
        store = token_store(directory)
        store.put(DEFAULT_PROFILE, origin(server), token)
        print(
            f"note: moved your sign-in token for {origin(server)} from config.toml to "
            f"{store.location}",
            file=sys.stderr,
        )
    save_profiles(profiles, directory)
    return profiles


def save_profiles(profiles: Mapping[str, Profile], directory: Path | None = None) -> Path:
    """Write the profiles atomically with mode 0600 and return the file's path."""
    directory = directory or config_dir()
    path = directory / "config.toml"
    lines = ["# Written by `depot login`. Tokens are kept apart (keyring or credentials.json)."]
    for name in sorted(profiles):
        profile = profiles[name]
        lines.append(f"\n[profiles.{json.dumps(name)}]")
        lines.extend(
            f"{key} = {json.dumps(value)}"
            for key, value in (("server", profile.server), ("username", profile.username))
            if value
        )
    write_private(path, "\n".join(lines) + "\n")
    return path


def load_config(
    directory: Path | None = None,
    *,
    profile: str | None = None,
    server: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """The configuration of one invocation.

    The profile is ``profile`` or ``DEPOT_PROFILE`` or ``default``; the server is
    ``server`` (``--server``/``DEPOT_URL``) or the profile's; the token is ``DEPOT_TOKEN``,
    else the one stored for this profile and the origin of that server — never a token
    issued by another server.
    """
    environ = os.environ if environ is None else environ
    directory = directory or config_dir(environ)
    name = check_profile(profile or environ.get("DEPOT_PROFILE") or DEFAULT_PROFILE)
    saved = load_profiles(directory).get(name, Profile())
    target = server or environ.get("DEPOT_URL") or saved.server
    config = ClientConfig(server=target, profile=name, path=directory / "config.toml")
    if environ.get("DEPOT_TOKEN"):
        return replace(config, token=environ["DEPOT_TOKEN"])
    if not target:
        return config
    same = bool(saved.server) and origin(saved.server) == origin(target)
    token = stored_token(directory, name, origin(target), environ)
    return replace(config, token=token, username=saved.username if same else "")
