"""A manual clock shared by a fake server (another thread) and the code under test."""

from __future__ import annotations

import asyncio
import threading


class FakeClock:
    """Seconds since the epoch that move only when told to (or when someone ``sleep``s)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self) -> float:
        """The current fake time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        with self._lock:
            self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """Pass ``seconds`` of fake time at once and let other tasks run."""
        self.advance(seconds)
        self.slept += seconds
        await asyncio.sleep(0)
