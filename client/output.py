"""Printing for people (tables, progress bars) and for machines (``--json``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from client.errors import ClientError

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Output:
    """How this invocation prints: JSON or human, quiet or not."""

    as_json: bool = False
    quiet: bool = False

    def emit(self, data: Any, table: Table | None = None, text: str | None = None) -> None:
        """Print ``data`` as JSON with --json; otherwise the table or the text."""
        if self.as_json:
            sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        elif table is not None:
            console.print(table, soft_wrap=False)
        elif text is not None:
            console.print(text)

    def note(self, text: str) -> None:
        """A line for people (stderr), not shown with --json or --quiet."""
        if not (self.as_json or self.quiet):
            err_console.print(text)

    def warn(self, text: str) -> None:
        """A warning for people: always on stderr, even with --json."""
        err_console.print(f"[bold yellow]warning:[/] {text}", highlight=False)

    def error(self, error: ClientError) -> None:
        """Report a failure: on stderr always, and as JSON on stdout with --json."""
        if self.as_json:
            sys.stdout.write(
                json.dumps(
                    {
                        "error": error.code,
                        "message": error.message,
                        "exit_code": int(error.exit_code),
                    }
                )
                + "\n"
            )
        err_console.print(f"[bold red]error:[/] {error.message}")
        if error.hint:
            err_console.print(f"[dim]hint:[/] {error.hint}")

    @contextmanager
    def progress(self) -> Iterator[Progress]:
        """A progress display for transfers (silent with --json or --quiet)."""
        bars = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            disable=self.as_json or self.quiet,
            transient=False,
        )
        with bars:
            yield bars


def advance(bars: Progress, task: TaskID) -> Any:
    """A callback that moves ``task`` forward by a number of bytes."""

    def callback(n: int) -> None:
        bars.advance(task, n)

    return callback


def human_size(size: int) -> str:
    """``1.5 MiB`` and the like."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
