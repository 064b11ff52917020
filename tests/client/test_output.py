"""What the client prints of server-supplied text: control and bidi characters escaped,
never written raw to a terminal or a log."""

from __future__ import annotations

import json

import pytest
from rich.table import Table

from client import output
from client.errors import ClientError
from client.output import Output, json_text, printable

HOSTILE = "ok\x1b[2J\x07\u202egnp\u2066x\u2069\x9b\x00\x7f\ttab\nnext"
SHOWN = "ok\\x1b[2J\\x07\\u202egnp\\u2066x\\u2069\\x9b\\x00\\x7f\\x09tab\nnext"


def test_printable_escapes_control_and_bidi_characters_and_keeps_line_breaks() -> None:
    assert printable(HOSTILE) == SHOWN
    assert printable("plain text, Zürich") == "plain text, Zürich"


def test_json_text_is_the_same_data_without_raw_characters() -> None:
    text = json_text({"reason": HOSTILE}, indent=2)
    assert json.loads(text) == {"reason": HOSTILE}
    for raw in ("\x1b", "\u202e", "\u2066", "\x9b", "\x7f", "\x00"):
        assert raw not in text


def test_every_way_of_printing_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output()
    table = Table("what", "why")
    table.add_row("[bold]x[/]", HOSTILE)
    out.emit([], table)  # not a terminal: plain columns
    out.emit([], text=f"reason: {HOSTILE}")
    out.note(HOSTILE)
    out.warn(HOSTILE)
    out.error(ClientError(HOSTILE, hint=HOSTILE))
    Output(as_json=True).emit({"reason": HOSTILE})
    captured = capsys.readouterr()
    for stream in (captured.out, captured.err):
        for raw in ("\x1b", "\x07", "\u202e", "\u2066", "\x9b", "\x00", "\x7f"):
            assert raw not in stream, (raw, stream)
    assert "\\x1b[2J" in captured.out and "\\u202egnp" in captured.err


def test_a_terminal_table_is_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    console = Console(force_terminal=True, width=200, record=True)
    monkeypatch.setattr(output, "console", console)
    table = Table("why")
    table.add_row(HOSTILE)
    Output().emit([], table)
    text = console.export_text()
    assert "\\x1b[2J" in text and "\u202e" not in text and "\x1b" not in text
