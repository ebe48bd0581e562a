"""Control characters: escaped for terminals, dropped from Events; everything else untouched."""

from __future__ import annotations

import pytest

from ferryman.domain import controls


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("6.1.0", "6.1.0"),
        ("naïve ünïcode ✓", "naïve ünïcode ✓"),
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"),
        ("line\nforged\rover", "line\\x0aforged\\x0dover"),
        ("tab\there", "tab\\x09here"),
        ("del\x7f c1\x85 csi\x9b", "del\\x7f c1\\x85 csi\\x9b"),
        ("bidi\u202etxt.exe\u2066", "bidi\\u202etxt.exe\\u2066"),
        ("sep\u2028para\u2029mark\u200f\u061c", "sep\\u2028para\\u2029mark\\u200f\\u061c"),
    ],
    ids=["plain", "unicode", "csi", "osc", "newline-cr", "tab", "del-c1", "bidi", "separators"],
)
def test_printable_escapes_every_control_character(raw: str, shown: str) -> None:
    """Terminal output: each control character becomes visible, inert text."""
    assert controls.printable(raw) == shown


def test_stripped_drops_controls_and_turns_breaks_into_spaces() -> None:
    """Event messages: line breaks and tabs become spaces, other controls disappear."""
    assert controls.stripped("ok\x1b]0;t\x07\r\nnext\tcol\u202e") == "ok]0;t  next col"
    assert controls.stripped("plain text") == "plain text"
