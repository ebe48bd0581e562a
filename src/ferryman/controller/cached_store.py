"""The reconciler's ``PipelineStore``: reads from the informer cache, writes to the API server.

A pass reads the Pipeline it reconciles from the cache that enqueued it, as controller-runtime's
cached client does, so a pass that writes nothing — a converged Pipeline looked at again because a
Flux event arrived, a resync, a follower's cache warm-up — costs no API request. Why this is safe:
every status write carries the resourceVersion that was read, so a pass that decided on a stale
copy fails with 409 instead of writing (and the intent of a promotion is written, with that
precondition, before any side effect). What is done to keep stale reads rare:

- after a 409 on a key, its next read goes to the API server (the reconciler re-reads at once);
- after this process writes a status, its next read of that key returns the written object until
  the cache shows that write or a later change (the watch event may still be in flight), so the
  pass after a write does not decide again on the state before it;
- a key the cache does not hold is read from the API server (it may be newer than the cache).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ferryman.ports import kubernetes as k8s

Lookup = Callable[[str, str], k8s.JSON | None]


def _rv(obj: k8s.JSON) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


@dataclass(frozen=True)
class _Written:
    """A status this process wrote, and the cached versions it replaced."""

    obj: k8s.JSON
    replaced: frozenset[str]


class CachedPipelineStore:
    """``ports.kubernetes.PipelineStore`` (see the module docstring)."""

    def __init__(self, live: k8s.PipelineStore, lookup: Lookup) -> None:
        self._live = live
        self._lookup = lookup
        self._stale: set[tuple[str, str]] = set()
        self._written: dict[tuple[str, str], _Written] = {}
        self.live_reads = 0  # reads that went to the API server (for tests and benchmarks)

    async def get(self, namespace: str, name: str) -> k8s.JSON | None:
        key = (namespace, name)
        cached = self._lookup(namespace, name)
        if key in self._stale or cached is None:
            self._stale.discard(key)
            self._written.pop(key, None)
            self.live_reads += 1
            return await self._live.get(namespace, name)
        written = self._written.get(key)
        if written is not None:
            if _rv(cached) in written.replaced:
                return written.obj  # the watch event of our write is still on its way
            del self._written[key]  # the cache shows our write, or a change after it
        return cached

    async def write_status(self, obj: k8s.JSON, status: k8s.JSON) -> k8s.JSON:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        try:
            stored = await self._live.write_status(obj, status)
        except k8s.Conflict:
            self._stale.add(key)
            raise
        cached = self._lookup(*key)
        replaced = {_rv(obj)} | ({_rv(cached)} if cached is not None else set())
        self._written[key] = _Written(stored, frozenset(replaced - {_rv(stored)}))
        return stored
