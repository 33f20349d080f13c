"""Text from outside reaches the terminal with its control characters shown, never obeyed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dcops.cli.views.output import block, inline


def test_escape_sequences_and_forged_lines_are_shown_as_text() -> None:
    purpose = "ok\x1b[2J\x1b[H\napprovals 1/1\rdone\x9b31m\u202eevil"
    shown = inline(purpose)
    assert shown == "ok\\e[2J\\e[H\\napprovals 1/1\\rdone\\x9b31m\\u202eevil"
    assert block("a\n\tb\x1b") == "a\n\tb\\e"


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    for char in inline(text):
        code = ord(char)
        assert code >= 0x20 and not 0x7F <= code <= 0x9F
        assert char not in "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    assert all(c in "\n\t" or ord(c) >= 0x20 for c in block(text))
