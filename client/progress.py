"""What a transfer of many files shows while it runs: on a terminal one bar for the whole
transfer and one for each file in flight, and a line for each file done; in a log (no
terminal) only the plain lines, one per file, as each finishes. Safe to call from the
threads of ``--threads``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from client.output import Output, _console

if TYPE_CHECKING:  # pragma: no cover
    from rich.progress import Progress


class Board:
    """The display of one transfer (``verb``: ``push``, ``pull``, ``hash``)."""

    def __init__(self, output: Output, verb: str, total: int, count: int) -> None:
        self.output = output
        # Quiet or JSON: no bars, and rich is not even loaded.
        self.live = not (output.as_json or output.quiet) and _console(True).is_terminal
        self.verb = verb
        self.total = total
        self.count = count
        self.lock = threading.Lock()
        self._bars: Progress | None = None

    def __enter__(self) -> Board:
        if self.live:
            self._manager = self.output.progress()
            self._bars = self._manager.__enter__()
            self._overall = self._bars.add_task(
                f"{self.verb} {self.count} file(s)", total=self.total
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bars is not None:
            self._manager.__exit__(kind, error, trace)

    @contextmanager
    def file(self, name: str, size: int) -> Iterator[Callable[[int], None]]:
        """A progress callback (bytes moved) for the file ``name`` while it moves."""
        bars = self._bars
        if bars is None:
            yield lambda n: None
            return
        task = bars.add_task(f"  {name}", total=size)

        def moved(n: int) -> None:
            bars.advance(task, n)
            bars.advance(self._overall, n)

        try:
            yield moved
        finally:
            bars.remove_task(task)

    def line(self, text: str) -> None:
        """One finished file: above the bars on a terminal, a plain line in a log."""
        if self._bars is not None:
            self._bars.console.print(text, markup=False, highlight=False)
        else:
            with self.lock:
                self.output.note_plain(text)
