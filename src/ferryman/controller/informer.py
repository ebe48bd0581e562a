"""An informer: a cache of one kind in one namespace of one cluster, kept by list + watch.

It lists, then watches from the list's resourceVersion; a 410 (``Expired``) makes it relist, a
broken connection makes it resume from the last version seen after a backoff (1 s doubling to
30 s). Each change calls ``on_change(old, new)`` (``new`` is ``None`` for a deletion); a relist
reports what changed while the watch was down, so nothing is missed. An optional ``transform``
trims each object before it is cached (like controller-runtime's cache transforms), so caches of
large objects hold only what the controller reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ferryman.ports import kubernetes as k8s

log = logging.getLogger(__name__)

Key = tuple[str, str]
Handler = Callable[[k8s.JSON | None, k8s.JSON | None], None]


def key_of(obj: k8s.JSON) -> Key:
    """(namespace, name) of an object."""
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


class Informer:
    """List + watch one source into a cache, calling a handler for each change."""

    def __init__(
        self,
        name: str,
        source: k8s.ResourceSource,
        on_change: Handler,
        *,
        transform: Callable[[k8s.JSON], k8s.JSON] | None = None,
    ) -> None:
        self.name = name
        self._source = source
        self._on_change = on_change
        self._transform = transform or (lambda obj: obj)
        self._cache: dict[Key, k8s.JSON] = {}
        self.synced = asyncio.Event()
        self.last_error = ""
        self.relists = 0

    def get(self, namespace: str, name: str) -> k8s.JSON | None:
        """The cached object, or ``None``."""
        return self._cache.get((namespace, name))

    def items(self) -> list[k8s.JSON]:
        """Every cached object."""
        return list(self._cache.values())

    def _relist(self, items: list[k8s.JSON]) -> None:
        fresh = {key_of(obj): self._transform(obj) for obj in items}
        old = self._cache
        self._cache = fresh
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None or _rv(before) != _rv(obj):
                self._on_change(before, obj)
        for key, obj in old.items():
            if key not in fresh:
                self._on_change(obj, None)

    def _apply(self, event: k8s.WatchEvent) -> str:
        obj = self._transform(event.object)
        if event.type == "BOOKMARK":
            return _rv(obj)
        key = key_of(obj)
        before = self._cache.get(key)
        if event.type == "DELETED":
            self._cache.pop(key, None)
            self._on_change(before, None)
        else:
            self._cache[key] = obj
            if before is None or _rv(before) != _rv(obj):
                self._on_change(before, obj)
        return _rv(obj)

    async def run(self) -> None:
        """Keep the cache in step until cancelled."""
        version = ""
        delay = 1.0
        while True:
            try:
                if not version:
                    items, version = await self._source.list()
                    self.relists += 1
                    self._relist(items)
                    del items  # the untrimmed list would stay alive for the whole watch
                    self.synced.set()
                async for event in self._source.watch(version):
                    version = self._apply(event) or version
                    delay = 1.0
            except k8s.Expired:
                version = ""
                continue
            except k8s.KubernetesError as exc:
                if str(exc) != self.last_error:
                    log.warning("Watch failed informer=%s error=%s", self.name, exc)
                self.last_error = str(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                if isinstance(exc, k8s.NotFound):
                    version = ""


def _rv(obj: k8s.JSON) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))
