"""Where the client keeps sign-in tokens: per profile and per server origin.

A token is only ever looked up under the normalised origin of the server a command is
about to talk to, so ``depot --server http://other ls`` finds no token for ``other`` and
sends none. Tokens go to the OS keyring when python-keyring has a usable backend, else to
``credentials.json`` beside the config file, mode 0600 (a file that others may read is
made private again before it is used, with a warning). ``DEPOT_CREDENTIALS=file`` forces
the file.

python-keyring is imported only when the keyring is asked: finding its backend imports
every backend it knows and runs compilers and ``ldconfig`` to look for libraries (a few
hundred milliseconds), so a token kept in the file is read without it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from client.errors import ClientError, Exit, InputError

if TYPE_CHECKING:  # pragma: no cover
    from keyring.backend import KeyringBackend

#: The keyring's service name; the entry's user name is ``"<profile> <origin>"``.
KEYRING_SERVICE = "depot"
FILE_NAME = "credentials.json"
_DEFAULT_PORTS = {"http": 80, "https": 443}


_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:[^@/?#]*@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^/:?#\[\]@\s]+)(?::(?P<port>[0-9]{1,5}))?(?:[/?#].*)?"
)


def origin(server: str) -> str:
    """``scheme://host[:port]`` of a server URL, lower-cased, default ports dropped.

    ``InputError`` for anything that is not an http(s) URL with a host.
    """
    found = _URL.fullmatch(server.strip())
    scheme = found.group("scheme").lower() if found else ""
    if found is None or scheme not in _DEFAULT_PORTS:
        raise InputError(f"server URL {server!r} must be http:// or https:// with a host name")
    host = found.group("host").lower()
    port = int(found.group("port")) if found.group("port") else _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise InputError(f"server URL {server!r} has no valid port")
    if port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class TokenStore(Protocol):
    """Tokens by (profile, origin)."""

    #: Where the tokens are, for messages: ``keyring (<backend>)`` or the file's path.
    location: str

    def get(self, profile: str, server_origin: str) -> str:
        """The stored token, or ``""``."""
        ...

    def put(self, profile: str, server_origin: str, token: str) -> None:
        """Store (replace) a token."""
        ...

    def delete(self, profile: str, server_origin: str) -> None:
        """Forget a token (no error when there is none)."""
        ...


def private_file(path: Path) -> None:
    """Make sure ``path`` is readable by its owner only.

    A file owned by someone else is refused (``ClientError``); a file group or world can
    read is set back to 0600 and a warning says its token may have been seen.
    """
    info = path.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ClientError(
            f"{path} belongs to another user; refusing to read credentials from it",
            Exit.FAILURE,
            hint="remove it, or point DEPOT_CONFIG_DIR at a folder of your own",
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o600)
        print(
            f"warning: {path} was readable by others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); made it 0600. Revoke the tokens in it "
            "(`depot token list`, `depot token revoke`) if others may have read them.",
            file=sys.stderr,
        )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class FileStore:
    """``credentials.json``: ``{"<profile>": {"<origin>": "<token>"}}``, mode 0600."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME
        self.location = str(self.path)

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        private_file(self.path)
        try:
            data = json.loads(self.path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ClientError(f"cannot read {self.path}: {error}", Exit.FAILURE) from None
        if not isinstance(data, dict):
            raise ClientError(f"cannot read {self.path}: not a JSON object", Exit.FAILURE)
        return {
            str(profile): {str(k): str(v) for k, v in servers.items()}
            for profile, servers in data.items()
            if isinstance(servers, dict)
        }

    def get(self, profile: str, server_origin: str) -> str:
        return self._load().get(profile, {}).get(server_origin, "")

    def put(self, profile: str, server_origin: str, token: str) -> None:
        data = self._load()
        data.setdefault(profile, {})[server_origin] = token
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def delete(self, profile: str, server_origin: str) -> None:
        data = self._load()
        if data.get(profile, {}).pop(server_origin, None) is None:
            return
        data = {name: servers for name, servers in data.items() if servers}
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")


class KeyringStore:
    """The OS keyring through python-keyring."""

    def __init__(self, backend: object) -> None:
        self.backend = backend
        self.location = f"keyring ({type(backend).__module__}.{type(backend).__name__})"

    def get(self, profile: str, server_origin: str) -> str:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, f"{profile} {server_origin}") or ""

    def put(self, profile: str, server_origin: str, token: str) -> None:
        import keyring

        keyring.set_password(KEYRING_SERVICE, f"{profile} {server_origin}", token)

    def delete(self, profile: str, server_origin: str) -> None:
        import keyring
        from keyring.errors import PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError):
            keyring.delete_password(KEYRING_SERVICE, f"{profile} {server_origin}")


def _usable_keyring() -> KeyringBackend | None:
    """The keyring backend, or ``None`` when there is only the fail/null backend."""
    import keyring
    from keyring.backends import chainer, fail, null
    from keyring.errors import KeyringError

    try:
        backend = keyring.get_keyring()
    except KeyringError:  # a broken backend configuration: use the file
        return None
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


def _choice(environ: Mapping[str, str]) -> str:
    choice = environ.get("DEPOT_CREDENTIALS", "").strip().lower()
    if choice not in ("", "auto", "file", "keyring"):
        raise InputError(f"DEPOT_CREDENTIALS={choice!r}: use auto, keyring or file")
    return choice


def stored_token(
    directory: Path, profile: str, server_origin: str, environ: Mapping[str, str] | None = None
) -> str:
    """The token kept for ``profile`` and ``server_origin``, or ``""``.

    The file is read first: a token is only ever in it when the keyring was not usable
    as it was stored (a token the keyring takes is removed from the file), so the
    keyring is asked only when the file has none — and is not imported otherwise."""
    environ = os.environ if environ is None else environ
    if _choice(environ) != "keyring":
        found = FileStore(directory).get(profile, server_origin)
        if found:
            return found
    return token_store(directory, environ).get(profile, server_origin)


def token_store(directory: Path, environ: Mapping[str, str] | None = None) -> TokenStore:
    """The keyring when usable (and not switched off by ``DEPOT_CREDENTIALS=file``), else
    the 0600 file in ``directory``."""
    environ = os.environ if environ is None else environ
    choice = _choice(environ)
    if choice != "file":
        backend = _usable_keyring()
        if backend is not None:
            return _Fallback(KeyringStore(backend), FileStore(directory))
        if choice == "keyring":
            raise ClientError("DEPOT_CREDENTIALS=keyring, but no OS keyring is available")
    return FileStore(directory)


class _Fallback:
    """The keyring, falling back to the file when the keyring fails (a locked or absent
    D-Bus secret service answers with errors only when used; keyring raises them as
    ``KeyringError``)."""

    def __init__(self, primary: KeyringStore, fallback: FileStore) -> None:
        self.primary = primary
        self.fallback = fallback
        self.location = primary.location

    def get(self, profile: str, server_origin: str) -> str:
        from keyring.errors import KeyringError

        try:
            found = self.primary.get(profile, server_origin)
        except KeyringError:
            found = ""
        return found or self.fallback.get(profile, server_origin)

    def put(self, profile: str, server_origin: str, token: str) -> None:
        from keyring.errors import KeyringError

        try:
            self.primary.put(profile, server_origin, token)
        except KeyringError:
            self.fallback.put(profile, server_origin, token)
            self.location = self.fallback.location
            return
        self.fallback.delete(profile, server_origin)

    def delete(self, profile: str, server_origin: str) -> None:
        from keyring.errors import KeyringError

        with contextlib.suppress(KeyringError):
            self.primary.delete(profile, server_origin)
        self.fallback.delete(profile, server_origin)
