"""The reconciler's store: reads from the informer cache, writes to the API server, and never
decides twice on the state before its own write (``controller.cached_store``)."""

from __future__ import annotations

from typing import Any

import pytest

from ferryman.controller import cached_store
from ferryman.ports import kubernetes as k8s


def obj(rv: int, phase: str = "") -> dict[str, Any]:
    """A Pipeline at resourceVersion ``rv``."""
    return {
        "metadata": {"namespace": "default", "name": "podinfo", "resourceVersion": str(rv)},
        "status": {"phase": phase},
    }


class Live:
    """The API server: one object, resourceVersion preconditions, counted reads."""

    def __init__(self, stored: dict[str, Any] | None) -> None:
        self.stored = stored
        self.reads = 0
        self.rv = int(stored["metadata"]["resourceVersion"]) if stored else 0

    async def get(self, namespace: str, name: str) -> k8s.JSON | None:
        del namespace, name
        self.reads += 1
        return self.stored

    async def write_status(self, read: k8s.JSON, status: k8s.JSON) -> k8s.JSON:
        if self.stored is None or read["metadata"]["resourceVersion"] != str(self.rv):
            raise k8s.Conflict("changed")
        self.rv += 1
        self.stored = {**obj(self.rv), "status": status}
        return self.stored


class Cache:
    """The informer: whatever the test says it holds."""

    def __init__(self, held: dict[str, Any] | None) -> None:
        self.held = held

    def __call__(self, namespace: str, name: str) -> k8s.JSON | None:
        del namespace, name
        return self.held


async def test_a_converged_pipeline_is_read_from_the_cache() -> None:
    """Reads cost no API request while the cache holds the Pipeline."""
    live, cache = Live(obj(5)), Cache(obj(5))
    store = cached_store.CachedPipelineStore(live, cache)
    for _ in range(3):
        assert await store.get("default", "podinfo") == obj(5)
    assert (live.reads, store.live_reads) == (0, 0)


async def test_after_a_write_the_written_object_is_read_until_the_cache_shows_it() -> None:
    """The pass after a write sees the write even while its watch event is in flight; once the
    cache has it (or anything after it) the cache is read again."""
    live, cache = Live(obj(5)), Cache(obj(5))
    store = cached_store.CachedPipelineStore(live, cache)
    written = await store.write_status(obj(5), {"phase": "Promoting"})
    assert await store.get("default", "podinfo") == written  # the cache still holds 5
    cache.held = written
    assert await store.get("default", "podinfo") is written
    cache.held = obj(9, "Later")
    assert await store.get("default", "podinfo") == obj(9, "Later")
    assert live.reads == 0


async def test_a_conflict_makes_the_next_read_go_to_the_api_server() -> None:
    """409 on a stale cached copy: the re-read is live, so the retry decides on fresh state."""
    live, cache = Live(obj(7)), Cache(obj(5))
    store = cached_store.CachedPipelineStore(live, cache)
    stale = await store.get("default", "podinfo")
    assert stale is not None
    with pytest.raises(k8s.Conflict):
        await store.write_status(stale, {"phase": "Promoting"})
    assert await store.get("default", "podinfo") == obj(7)
    assert await store.get("default", "podinfo") == obj(5)  # back to the cache afterwards
    assert (live.reads, store.live_reads) == (1, 1)


async def test_a_pipeline_the_cache_does_not_hold_is_read_live() -> None:
    """Absent from the cache (deleted, or not listed yet): ask the API server."""
    live = Live(obj(3))
    store = cached_store.CachedPipelineStore(live, Cache(None))
    assert await store.get("default", "podinfo") == obj(3)
    live.stored = None
    assert await store.get("default", "podinfo") is None
    assert live.reads == 2
