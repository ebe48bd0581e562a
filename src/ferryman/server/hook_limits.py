"""Rate limit of the promotion hook: at most ``limit`` requests per ``interval`` per key.

The original pipeline-controller allowed 20 requests per 30 s per client address on its hooks
(``--promotion-hook-rate-limit``, ``--promotion-hook-rate-limit-interval``) and answered 429 with
``Retry-After`` beyond that. Ferryman keeps the flags and the fixed window, but keys the count by
(client address, namespace, pipeline, environment): in a cluster every Flux event comes from the
one notification-controller pod, whose events for one pipeline must not use up another's
allowance. The client address is the TCP peer; ``X-Real-IP``/``X-Forwarded-For`` are not read
(a client would set them to escape its limit). ``limit`` 0 turns the limit off.

``FixedWindows`` is the counting (pure, clock passed in); ``HookRateLimit`` the ASGI middleware
that applies it to ``POST /promotion/...`` and nothing else. Memory is bounded: expired windows
are dropped as they are met, and at ``MAX_KEYS`` the oldest windows go first.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from ferryman.server import errors

DEFAULT_LIMIT: Final = 20  # the original's DefaultRateLimitCount
DEFAULT_INTERVAL: Final = 30.0  # seconds, the original's DefaultRateLimitInterval
MAX_KEYS: Final = 100_000
PREFIX: Final = "/promotion/"


@dataclass
class _Window:
    opened: float
    hits: int


class FixedWindows:
    """Counts hits per key in windows of ``interval`` seconds opened by a key's first hit."""

    def __init__(self, limit: int, interval: float, *, max_keys: int = MAX_KEYS) -> None:
        self.limit = limit
        self.interval = interval
        self.max_keys = max_keys
        self._windows: OrderedDict[Hashable, _Window] = OrderedDict()  # oldest window first

    def hit(self, key: Hashable, now: float) -> float | None:
        """Count one request: ``None`` when allowed, else the seconds until its window closes."""
        self._expire(now)
        window = self._windows.get(key)
        if window is None:
            while len(self._windows) >= self.max_keys:
                self._windows.popitem(last=False)
            window = self._windows[key] = _Window(now, 0)
        window.hits += 1
        if window.hits <= self.limit:
            return None
        return max(window.opened + self.interval - now, 0.0)

    def _expire(self, now: float) -> None:
        while self._windows:
            key, oldest = next(iter(self._windows.items()))
            if oldest.opened + self.interval > now:
                return
            del self._windows[key]

    def __len__(self) -> int:
        return len(self._windows)


def key_of(scope: Scope) -> tuple[str, ...] | None:
    """(client address, namespace, pipeline, environment) of a hook request, else ``None``."""
    path: str = scope.get("path", "")
    if scope["type"] != "http" or scope.get("method") != "POST" or not path.startswith(PREFIX):
        return None
    client = scope.get("client")
    address = str(client[0]) if client else ""
    return (address, *path[len(PREFIX) :].split("/", 2))


class HookRateLimit:
    """429 with ``Retry-After`` past ``limit`` hook requests per ``interval`` and key."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int = DEFAULT_LIMIT,
        interval: float = DEFAULT_INTERVAL,
        now: Callable[[], float],
        throttled: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self.windows = FixedWindows(limit, interval)
        self.now = now
        self.throttled = throttled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = key_of(scope) if self.windows.limit > 0 else None
        wait = self.windows.hit(key, self.now()) if key is not None else None
        if wait is None:
            await self.app(scope, receive, send)
            return
        self.throttled()
        seconds = max(math.ceil(wait), 1)
        response = errors.status_response(
            429,
            f"too many promotion hook requests; at most {self.windows.limit} per "
            f"{self.windows.interval:g}s for this client and pipeline environment",
            reason="TooManyRequests",
            headers={"Retry-After": str(seconds)},
        )
        await response(scope, receive, send)
