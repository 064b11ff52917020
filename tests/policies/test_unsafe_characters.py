"""Characters a terminal obeys or that reorder what it shows: never in a name."""

from __future__ import annotations

import re

import pytest

from policies.names import (
    SAFE_TEXT_PATTERN,
    check_one_line_name,
    unsafe_character,
)

UNSAFE = ["\x00", "\x07", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9b", "\u061c",
          "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069"]  # fmt: skip


@pytest.mark.parametrize("character", UNSAFE)
def test_control_and_bidi_characters_are_unsafe(character: str) -> None:
    text = f"name{character}x"
    assert unsafe_character(text) == character
    assert re.fullmatch(SAFE_TEXT_PATTERN, text) is None
    with pytest.raises(ValueError, match=f"U\\+{ord(character):04X}"):
        check_one_line_name(text)


@pytest.mark.parametrize("text", ["", "Payments Team", "Zürich – 支付", "a [b] c", "\u200b", "é"])
def test_other_text_is_a_safe_name(text: str) -> None:
    assert unsafe_character(text) is None
    assert re.fullmatch(SAFE_TEXT_PATTERN, text)
    assert check_one_line_name(text) == text
