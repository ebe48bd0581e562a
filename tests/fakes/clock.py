"""The one manual clock of the tests: a datetime for the controller's ``Clock`` port, epoch
seconds for the Git host adapters' pacing, shared safely with a fake server in another thread."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime


class FakeClock:
    """Time that moves only when told to (or when someone ``sleep``s)."""

    def __init__(self, start: datetime | float | None = None) -> None:
        if start is None:
            start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        self._seconds = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self) -> datetime:
        """The current fake time (``ports.clock.Clock``)."""
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def time(self) -> float:
        """The current fake time in seconds since the epoch (for ``time.time``-like callers)."""
        with self._lock:
            return self._seconds

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        with self._lock:
            self._seconds += seconds

    async def sleep(self, seconds: float) -> None:
        """Pass ``seconds`` of fake time at once and let other tasks run."""
        self.advance(seconds)
        self.slept += seconds
        await asyncio.sleep(0)
