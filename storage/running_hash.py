"""A sha256 whose running state can be saved between requests and taken up again.

An upload session receives a file in parts, one HTTP request each, possibly on different
worker processes or nodes and days apart. To check the whole file's digest at commit
without reading the stored bytes back, the server keeps the hash state after each part.
``hashlib`` cannot export its state, so this uses OpenSSL's own SHA-256 (the library
``hashlib`` itself is built on, with its SHA-NI code) through ``ctypes``: its context is
a plain 112-byte structure, saved with each part and restored for the next. ``ctypes``
releases the GIL during each call, as ``hashlib`` does for large buffers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any

#: ``sizeof(SHA256_CTX)`` in OpenSSL 1.1 and 3.x: eight words of state, the bit count,
#: a 64-byte block and two counters.
STATE_SIZE = 112


class RunningHashUnavailable(RuntimeError):
    """OpenSSL's libcrypto could not be loaded, or a saved state is not one of ours."""


@functools.cache
def _libcrypto() -> Any:
    import _hashlib  # noqa: F401 - loads the libcrypto hashlib uses, found first below

    for name in ("libcrypto.so.3", ctypes.util.find_library("crypto"), "libcrypto.so.1.1"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.SHA256_Init.argtypes = [ctypes.c_void_p]
        lib.SHA256_Update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.SHA256_Final.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        return lib
    raise RunningHashUnavailable("OpenSSL's libcrypto is not available")


class RunningSha256:
    """sha256 with ``update``, a non-destructive ``hexdigest`` and a saved ``state``."""

    name = "sha256"

    def __init__(self, state: bytes | None = None) -> None:
        self._lib = _libcrypto()
        self._ctx = ctypes.create_string_buffer(STATE_SIZE)
        if state is None:
            self._lib.SHA256_Init(self._ctx)
        elif len(state) != STATE_SIZE:
            raise RunningHashUnavailable(f"a saved sha256 state is {STATE_SIZE} bytes")
        else:
            ctypes.memmove(self._ctx, state, STATE_SIZE)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Add ``data`` to what has been hashed."""
        view = memoryview(data)
        if not view.nbytes:
            return
        if isinstance(data, bytes) or view.readonly:
            raw = data if isinstance(data, bytes) else view.tobytes()
            self._lib.SHA256_Update(self._ctx, raw, len(raw))
        else:
            buffer = (ctypes.c_char * view.nbytes).from_buffer(view.cast("B"))
            self._lib.SHA256_Update(self._ctx, buffer, view.nbytes)

    @property
    def state(self) -> bytes:
        """The running state, to save and pass to the constructor later."""
        return self._ctx.raw

    def hexdigest(self) -> str:
        """The digest of everything hashed so far; hashing may go on afterwards."""
        copy = ctypes.create_string_buffer(self._ctx.raw, STATE_SIZE)
        out = ctypes.create_string_buffer(32)
        self._lib.SHA256_Final(out, copy)
        return out.raw.hex()
