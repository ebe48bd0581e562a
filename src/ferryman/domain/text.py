"""Bounded strings: every error and message Ferryman writes into status has a ceiling."""

from __future__ import annotations

from ferryman.api import status

ELLIPSIS = "…"


def bounded(value: str, limit: int = status.MAX_ERROR_LENGTH) -> str:
    """``value`` cut to at most ``limit`` characters, marked with an ellipsis when cut."""
    if len(value) <= limit:
        return value
    return value[: limit - len(ELLIPSIS)] + ELLIPSIS
