"""A bounded cache whose entries expire: least recently used first out, every entry with its own
time to live, and one lookup in flight per key.

The server's caches of API answers (``auth_cache``, ``secret_cache``) are built on it. Bounded,
because the keys come from requests: a flood of distinct keys evicts old entries instead of
growing memory. Single flight, because a burst of requests for one key (N browser tabs of one
user, a Flux retry storm) must cost one API request, not N. Failures are never cached: the
waiting callers all see the one exception.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Entry(Generic[V]):
    """A cached value, when it was stored and when it expires (monotonic seconds)."""

    value: V
    stored: float
    expires: float


class TtlCache(Generic[K, V]):
    """See the module docstring. Single event loop; not thread-safe."""

    def __init__(self, *, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, Entry[V]] = OrderedDict()
        self._inflight: dict[K, asyncio.Future[V]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def now(self) -> float:
        """The cache's clock."""
        return self._clock()

    def entry(self, key: K) -> Entry[V] | None:
        """The live entry for ``key`` (``None`` when absent or expired)."""
        found = self._entries.get(key)
        if found is None:
            return None
        if found.expires <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return found

    def put(self, key: K, value: V, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds, evicting the least recently used past the bound."""
        now = self._clock()
        self._entries[key] = Entry(value, now, now + ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def loading(self, key: K) -> bool:
        """Whether a fetch of ``key`` is in flight."""
        return key in self._inflight

    def forget(self, key: K) -> None:
        """Drop ``key``'s entry."""
        self._entries.pop(key, None)

    async def load(self, key: K, fetch: Callable[[], Awaitable[V]], ttl: Callable[[V], float]) -> V:
        """The cached value, or ``fetch()``'s (stored for ``ttl(value)`` seconds), fetched once
        however many callers ask for ``key`` meanwhile."""
        found = self.entry(key)
        if found is not None:
            self.hits += 1
            return found.value
        return await self.refresh(key, fetch, ttl)

    async def refresh(
        self, key: K, fetch: Callable[[], Awaitable[V]], ttl: Callable[[V], float]
    ) -> V:
        """``fetch()`` now (joining a fetch of ``key`` already in flight) and store its value."""
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await fetch()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        else:
            self.put(key, value, ttl(value))
            future.set_result(value)
            return value
        finally:
            del self._inflight[key]
