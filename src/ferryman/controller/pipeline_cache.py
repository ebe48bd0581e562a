"""The controller's Pipeline informers, offered to readers that must not call the API server.

``InformerPipelines`` is ``ports.kubernetes.PipelineCache`` over the manager's Pipeline
informers: the webhook authenticates against it, the UI renders from it and its live pages are
woken by its change notifications, so none of them costs an API request per HTTP request. A
Pipeline outside the namespaces this controller watches is not in the cache, exactly as it is not
reconciled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ferryman.controller import informer as informer_mod
from ferryman.controller import manager as manager_mod
from ferryman.ports import kubernetes as k8s

SYNC_TIMEOUT = 10.0  # seconds a reader waits for the first list before answering Unavailable


def lookup(runtime: manager_mod.Manager, namespace: str, name: str) -> k8s.JSON | None:
    """The Pipeline ``runtime``'s informers hold now, without waiting (``None`` when absent)."""
    for cache in runtime.pipeline_informers:
        found = cache.get(namespace, name)
        if found is not None:
            return found
    return None


class InformerPipelines:
    """``PipelineCache`` over one manager (see the module docstring)."""

    def __init__(self, runtime: manager_mod.Manager, *, sync_timeout: float = SYNC_TIMEOUT) -> None:
        self._runtime = runtime
        self._sync_timeout = sync_timeout
        self._listeners: dict[int, k8s.PipelineListener] = {}
        self._next = 0
        self._closed = False
        runtime.pipeline_listeners.append(self._changed)

    async def _synced(self) -> None:
        if self._runtime.ready.is_set():
            return
        try:
            await asyncio.wait_for(self._runtime.ready.wait(), self._sync_timeout)
        except TimeoutError:
            raise k8s.Unavailable("the Pipeline cache has not synced yet") from None

    async def get(self, namespace: str, name: str) -> k8s.JSON | None:
        await self._synced()
        return lookup(self._runtime, namespace, name)

    async def list(self, namespace: str | None) -> list[k8s.JSON]:
        await self._synced()
        found = [
            obj
            for cache in self._runtime.pipeline_informers
            for obj in cache.items()
            if namespace is None or informer_mod.key_of(obj)[0] == namespace
        ]
        return sorted(found, key=informer_mod.key_of)

    def subscribe(self, listener: k8s.PipelineListener) -> Callable[[], None]:
        if self._closed:
            listener(None)
            return lambda: None
        self._next += 1
        handle = self._next
        self._listeners[handle] = listener

        def unsubscribe() -> None:
            self._listeners.pop(handle, None)

        return unsubscribe

    def close(self) -> None:
        """Tell every listener the cache is closing (the server is stopping), once."""
        if self._closed:
            return
        self._closed = True
        for listener in list(self._listeners.values()):
            listener(None)
        self._listeners.clear()

    def _changed(self, old: k8s.JSON | None, new: k8s.JSON | None) -> None:
        key = informer_mod.key_of(new or old or {})
        for listener in list(self._listeners.values()):
            listener(key)
