"""Control characters in text that people read: escaped for terminals, dropped from Events.

Comments, revisions, Ready messages and target errors come from users and from other systems'
status (a HelmRelease's message is whatever its chart printed). Printed raw, ESC and OSC
sequences re-colour or rewrite the terminal, set its title, or make a link say one thing and open
another; carriage returns and newlines forge lines; bidi overrides reorder what is shown. So every
such value is passed through ``printable`` before it reaches a terminal (the stored value stays as
it was: escaping is a matter of display), and through ``stripped`` before it becomes an Event
message.

Covered: C0 controls and DEL, C1 controls (``U+0080`` to ``U+009F``, which include the 8-bit CSI),
and the Unicode format characters that change how the rest is shown — bidi marks, embeddings,
overrides and isolates, and the line and paragraph separators.
"""

from __future__ import annotations

import re
from typing import Final

_CONTROLS: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_SPACING: Final = frozenset("\t\n\r")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: str) -> str:
    """``value`` with every control character shown as ``\\xNN``/``\\uNNNN`` (one line, inert)."""
    return _CONTROLS.sub(_escape, value)


def stripped(value: str) -> str:
    """``value`` without control characters; tabs and line breaks become spaces."""
    return _CONTROLS.sub(lambda m: " " if m.group() in _SPACING else "", value)
