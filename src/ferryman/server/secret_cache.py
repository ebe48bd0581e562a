"""Webhook HMAC keys: the Secrets Pipelines name, read with ``get`` and kept a short while.

Without a cache every request to ``/promotion/...`` — signed or not — cost the API server a read
of the Secret, so anyone reaching the port could make the controller load its own API server.
With it, a Secret is read once and then again at most every ``REFRESH_AFTER`` seconds while
requests keep naming it, whatever the request rate:

- younger than ``REFRESH_AFTER`` (30 s): served, no API request;
- between ``REFRESH_AFTER`` and ``EXPIRE_AFTER`` (60 s): served, and one read is started in the
  background, so the request never waits and the next ones see the fresh key;
- older than ``EXPIRE_AFTER``: the request waits for a fresh read (a key is never trusted more
  than 60 s after it was read; an idle entry is not refreshed at all).

A Secret that is missing or unusable (``PermanentError``) is cached the same way, so requests for
a pipeline whose Secret is gone cost no read per request either; an unreachable API server
(``TemporaryError``) is not cached (the webhook answers 503 and Flux retries).

Why no watch: the controller reads Secrets with ``get`` only, cluster-wide (docs/install.md); a
watch would need ``list``/``watch`` on every Secret of the cluster. A rotated key takes effect
within ``REFRESH_AFTER`` of the first request after rotation, the old key stops working at most
``EXPIRE_AFTER`` after it was read — and an event refused meanwhile costs nothing, since the
controller sees the change it announces through its own watches.

Only Secrets that a cached Pipeline names are ever read (the caller resolves the name from the
Pipeline), and ``MAX_ENTRIES`` bounds the memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Final

from ferryman.domain import errors as domain_errors
from ferryman.ports import promotion
from ferryman.server import ttl_cache

log = logging.getLogger(__name__)

REFRESH_AFTER: Final = 30.0
EXPIRE_AFTER: Final = 60.0
MAX_ENTRIES: Final = 1024

Key = tuple[str, str]
Found = dict[str, bytes] | domain_errors.PermanentError


class CachedSecrets:
    """``ports.promotion.SecretReader`` over a bounded, briefly kept cache (module docstring)."""

    def __init__(
        self,
        inner: promotion.SecretReader,
        *,
        refresh_after: float = REFRESH_AFTER,
        expire_after: float = EXPIRE_AFTER,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if refresh_after > expire_after:
            raise ValueError("refresh_after must not exceed expire_after")
        self._inner = inner
        self._refresh_after = refresh_after
        self._expire_after = expire_after
        self.cache: ttl_cache.TtlCache[Key, Found] = ttl_cache.TtlCache(
            max_entries=max_entries, clock=clock
        )
        self._background: dict[Key, asyncio.Task[Found]] = {}

    async def read(self, namespace: str, name: str) -> dict[str, bytes]:
        key = (namespace, name)
        entry = self.cache.entry(key)
        if entry is None:
            found = await self.cache.refresh(key, lambda: self._fetch(key), self._ttl)
        else:
            found = entry.value
            stale = self.cache.now() - entry.stored >= self._refresh_after
            if stale and key not in self._background and not self.cache.loading(key):
                self._refresh_soon(key)
        if isinstance(found, domain_errors.PermanentError):
            raise found
        return found

    def _ttl(self, found: Found) -> float:
        del found
        return self._expire_after

    async def _fetch(self, key: Key) -> Found:
        try:
            return await self._inner.read(*key)
        except domain_errors.PermanentError as exc:
            return exc

    def _refresh_soon(self, key: Key) -> None:
        task = asyncio.ensure_future(self.cache.refresh(key, lambda: self._fetch(key), self._ttl))
        self._background[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))

    def _finished(self, key: Key, task: asyncio.Task[Found]) -> None:
        self._background.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            # The entry stays until it expires; the next request after that reads again.
            log.debug("Refreshing a webhook key Secret failed error=%s", task.exception())

    async def close(self) -> None:
        """Cancel refreshes in flight."""
        tasks = list(self._background.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
