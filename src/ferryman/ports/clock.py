"""The clock port: the only way services learn the time (tests inject a fake one)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...
