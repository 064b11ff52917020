"""Printing for people (tables, progress bars) and for machines (``--json``).

rich is imported when something is printed through it, not when the module is: a quiet
``depot -q pull`` or a ``--json`` call that prints only JSON never loads it (a tenth of a
second of every start on these machines). ``console`` and ``err_console`` are made on
first use (module attributes, PEP 562).
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from client.errors import ClientError
from policies.names import UNSAFE_CHARACTERS

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from rich.table import Table

#: What a terminal would obey in server-supplied text (see :func:`printable`); a line
#: break is kept, as the text's own line.
_UNSAFE = re.compile(f"(?![\n])[{UNSAFE_CHARACTERS}]")
#: The same characters that ``json.dumps`` leaves as they are (it escapes U+0000-U+001F).
_UNSAFE_IN_JSON = re.compile(f"(?![\x00-\x1f])[{UNSAFE_CHARACTERS}]")


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control and bidi character (ESC, CSI, NUL, BEL, U+202E, ...;
    :data:`policies.names.UNSAFE_CHARACTERS`) written as an escape (``\\x1b``,
    ``\\u202e``): what people typed is shown, never obeyed by the terminal. Line breaks
    stay. Every line the client prints goes through it (:class:`Output`)."""
    return _UNSAFE.sub(_escaped, text)


def json_text(data: Any, **options: Any) -> str:
    """``data`` as JSON whose text holds no control or bidi character: the same data
    once decoded (they are written as ``\\uXXXX`` escapes)."""
    text = json.dumps(data, ensure_ascii=False, **options)
    return _UNSAFE_IN_JSON.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def printable_table(table: Table) -> Table:
    """``table`` with its text cells :func:`printable` (in place)."""
    for column in table.columns:
        # Rich keeps a column's cells in this dataclass field; there is no public setter.
        column._cells = [printable(c) if isinstance(c, str) else c for c in column._cells]
    return table


@functools.cache
def _made(stderr: bool) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _console(stderr: bool) -> Console:
    """The console of stderr or stdout; one set as the module's attribute (a test's)
    comes first."""
    given: Console | None = globals().get("err_console" if stderr else "console")
    return given if given is not None else _made(stderr)


def __getattr__(name: str) -> Any:
    """``console`` (stdout) and ``err_console`` (stderr), made on first use."""
    if name == "console":
        return _made(False)
    if name == "err_console":
        return _made(True)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class Output:
    """How this invocation prints: JSON or human, quiet or not."""

    as_json: bool = False
    quiet: bool = False

    def emit(
        self,
        data: Any,
        table: Table | None = None,
        text: str | None = None,
        *,
        plain: bool = False,
    ) -> None:
        """Print ``data`` as JSON with --json; otherwise the table or the text.

        ``plain``: the text is shown as it is, never read as rich markup or emoji codes
        (file names may hold ``[`` or ``:``), and rich is not loaded for it."""
        if self.as_json:
            sys.stdout.write(json_text(data, indent=2) + "\n")
            return
        if plain and table is None and text is not None:
            sys.stdout.write(printable(text) + "\n")
            return
        console = _console(False)
        if table is not None and not console.is_terminal:
            # A pipe or a CI log: every cell whole, in plain columns (never cut to "…").
            lines = plain_table(printable_table(table))
            sys.stdout.write("".join(line + "\n" for line in lines))
        elif table is not None:
            console.print(printable_table(table), soft_wrap=False)
        elif text is not None:
            console.print(printable(text))

    def note(self, text: str) -> None:
        """A line for people (stderr), not shown with --json or --quiet."""
        if not (self.as_json or self.quiet):
            _console(True).print(printable(text))

    def note_plain(self, text: str) -> None:
        """:meth:`note` without markup: the text as it is (a file name may hold ``[``)."""
        if not (self.as_json or self.quiet):
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def warn(self, text: str) -> None:
        """A warning for people: always on stderr, even with --json."""
        _console(True).print(f"[bold yellow]warning:[/] {printable(text)}", highlight=False)

    def error(self, error: ClientError) -> None:
        """Report a failure: on stderr always, and as JSON on stdout with --json."""
        if self.as_json:
            sys.stdout.write(
                json_text(
                    {
                        "error": error.code,
                        "message": error.message,
                        "exit_code": int(error.exit_code),
                    }
                )
                + "\n"
            )
        err_console = _console(True)
        err_console.print(f"[bold red]error:[/] {printable(error.message)}")
        if error.hint:
            err_console.print(f"[dim]hint:[/] {printable(error.hint)}")

    @contextmanager
    def progress(self) -> Iterator[Progress]:
        """A progress display for transfers (silent with --json or --quiet)."""
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        bars = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(binary_units=True),
            _speed_column(),
            TimeRemainingColumn(),
            console=_console(True),
            disable=self.as_json or self.quiet,
            transient=False,
        )
        with bars:
            yield bars


def _speed_column() -> Any:
    """A column of the transfer speed; the average once done, and nothing rather than
    "0 bytes/s" before anything was measured (a small file sent at once)."""
    from rich.filesize import decimal
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class SpeedColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            if not speed and task.finished and task.elapsed:
                speed = task.completed / task.elapsed
            if not speed or speed < 1:
                return Text("")
            return Text(f"{decimal(int(speed))}/s", style="progress.data.speed")

    return SpeedColumn()


def plain_table(table: Table) -> list[str]:
    """``table`` as lines of plain text: a header, then one line per row, the columns
    aligned with two spaces, every cell whole (markup rendered to its text)."""
    from rich.text import Text

    columns = [
        [Text.from_markup(str(column.header)).plain]
        + [Text.from_markup(cell).plain if isinstance(cell, str) else str(cell)
           for cell in column.cells]
        for column in table.columns
    ]  # fmt: skip
    if not columns:
        return []
    widths = [max(len(cell) for cell in column) for column in columns[:-1]]
    lines = []
    for row in zip(*columns, strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


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
