"""Reading the checkpoints a witness kept, for ``depot-server audit verify --witness``.

A witness's folder (written by ``depot witness``, docs/trust.md "Witnesses") keeps every
checkpoint it cosigned as ``checkpoints/<size>.note``, a C2SP signed note; a single file
given instead is one such note. Nothing read here is trusted: the replay checks the log
key's signature on each note before comparing it with the log.
"""

from __future__ import annotations

from pathlib import Path

#: A checkpoint note is small; anything larger is not one.
MAX_NOTE_FILE = 1 << 16


def read_witnessed(path: Path) -> list[tuple[str, bytes]]:
    """``(file name, note bytes)`` of every checkpoint under ``path`` (a folder or a file)."""
    if path.is_dir():
        folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        files = sorted(folder.glob("*.note"), key=lambda p: (len(p.name), p.name))
    else:
        files = [path]
    return [(str(p), p.read_bytes()[: MAX_NOTE_FILE + 1]) for p in files]
