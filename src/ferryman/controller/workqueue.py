"""A work queue of keys, the way controller-runtime's works.

Invariants: a key is queued at most once (adding it again keeps the earliest due time); a key is
never handed to two workers at once (adding a key that is being processed marks it dirty and it is
queued again when ``done``); ``retry`` delays a key with per-key exponential backoff and jitter,
1 s doubling to 5 min, reset by ``forget`` after a success.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

BASE_DELAY = 1.0
MAX_DELAY = 300.0


class WorkQueue(Generic[K]):
    """De-duplicating delayed queue with per-key backoff (single event loop)."""

    def __init__(self, *, rng: random.Random | None = None, max_length: int = 100_000) -> None:
        self._heap: list[tuple[float, int, K]] = []
        self._due: dict[K, float] = {}
        self._processing: set[K] = set()
        self._dirty: dict[K, float] = {}
        self._failures: dict[K, int] = {}
        self._counter = itertools.count()
        self._wakeup = asyncio.Event()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._max_length = max_length
        self._shutdown = False
        self.added_at: dict[K, float] = {}

    def __len__(self) -> int:
        return len(self._due)

    def add(self, key: K, delay: float = 0.0) -> None:
        """Queue ``key`` to run after ``delay`` seconds (or sooner if it is already due sooner)."""
        if self._shutdown:
            return
        due = time.monotonic() + max(delay, 0.0)
        if key in self._processing:
            self._dirty[key] = min(due, self._dirty.get(key, due))
            return
        current = self._due.get(key)
        if current is not None and current <= due:
            return
        if current is None and len(self._due) >= self._max_length:
            return  # bounded: a resync will bring the key back
        self._due[key] = due
        self.added_at.setdefault(key, time.monotonic())
        heapq.heappush(self._heap, (due, next(self._counter), key))
        self._wakeup.set()

    def retry(self, key: K) -> float:
        """Queue ``key`` again after its backoff delay; returns the delay chosen."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay: float = min(BASE_DELAY * 2.0**failures, MAX_DELAY)
        delay *= 0.8 + 0.4 * self._rng.random()
        self.add(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """Reset ``key``'s backoff after a success."""
        self._failures.pop(key, None)

    async def get(self) -> K:
        """Wait for the next due key and mark it as processing."""
        while True:
            if self._shutdown:
                raise asyncio.CancelledError
            now = time.monotonic()
            while self._heap:
                due, _, key = self._heap[0]
                if self._due.get(key) != due:
                    heapq.heappop(self._heap)  # stale entry: re-added with an earlier time
                    continue
                if due > now:
                    break
                heapq.heappop(self._heap)
                del self._due[key]
                self._processing.add(key)
                return key
            timeout = self._heap[0][0] - now if self._heap else None
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except TimeoutError:
                continue

    def done(self, key: K) -> None:
        """Mark ``key`` finished; a key added meanwhile is queued now."""
        self._processing.discard(key)
        self.added_at.pop(key, None)
        if key in self._dirty:
            due = self._dirty.pop(key)
            self.add(key, max(due - time.monotonic(), 0.0))

    def shutdown(self) -> None:
        """Stop handing out keys; waiting ``get`` calls end."""
        self._shutdown = True
        self._wakeup.set()

    @property
    def processing(self) -> int:
        """Keys being processed now."""
        return len(self._processing)
