"""Watch streams: initial state or resume from a resourceVersion, then live events, as JSON lines.

A stream subscribes to the store *before* reading its backlog; both run on the event loop thread,
so no event can fall between them, and live events at or below the last replayed RV are dropped as
duplicates. Selector transitions follow the apiserver: an object that starts matching arrives as
ADDED, one that stops matching as DELETED. A resume point older than the compacted window answers
with an in-stream 410 ``Expired`` ERROR event, as Kubernetes does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ferryman.embedded.apiserver import errors
from ferryman.embedded.apiserver.listing import ListOptions
from ferryman.embedded.apiserver.objects import ObjectApi
from ferryman.embedded.apiserver.registry import ResourceType
from ferryman.embedded.apiserver.store import Event


class Encoder(Protocol):
    """Encodes one watch event; ``raw``, when given, is ``obj`` already as JSON text."""

    def __call__(self, kind: str, obj: dict[str, Any], raw: str = "") -> bytes: ...


@dataclass(frozen=True)
class WatchOptions:
    """The watch-specific query parameters."""

    resource_version: str = ""
    allow_bookmarks: bool = False
    timeout_seconds: float = 0.0
    send_initial_events: bool = False


class WatchHub:
    """Tracks open streams so fault injection (and shutdown) can end them all at once."""

    def __init__(self, *, bookmark_interval: float = 60.0) -> None:
        self.bookmark_interval = bookmark_interval
        self._queues: set[asyncio.Queue[Event | None]] = set()

    def register(self) -> asyncio.Queue[Event | None]:
        """A new stream's event queue."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queues.add(queue)
        return queue

    def unregister(self, queue: asyncio.Queue[Event | None]) -> None:
        """Forget a finished stream."""
        self._queues.discard(queue)

    def drop_all(self) -> int:
        """End every open stream (clients see the connection close); returns how many."""
        for queue in self._queues:
            queue.put_nowait(None)
        return len(self._queues)


def _status_event(exc: errors.ApiError) -> dict[str, Any]:
    return exc.to_status()


async def stream(
    api: ObjectApi,
    hub: WatchHub,
    rt: ResourceType,
    ns: str | None,
    list_opts: ListOptions,
    opts: WatchOptions,
    encode: Encoder,
) -> AsyncIterator[bytes]:
    """Yield encoded watch events until timeout, client disconnect or a dropped stream."""
    store = api.store
    match = list_opts.predicate(rt)
    queue = hub.register()

    def listener(event: Event) -> None:
        if ns is None or event.obj["metadata"].get("namespace", "") == ns:
            queue.put_nowait(event)

    handle = store.subscribe(rt.gr, listener)
    deadline = time.monotonic() + opts.timeout_seconds if opts.timeout_seconds > 0 else None
    try:
        sent_rv = 0
        initial: list[bytes] = []
        if opts.send_initial_events or opts.resource_version in ("", "0"):
            sent_rv = store.rv
            for stored in store.scan(rt.gr, ns):
                obj = api.view(rt, stored)
                if match is None or match(obj):
                    initial.append(encode("ADDED", obj))
            if opts.send_initial_events and opts.allow_bookmarks:
                initial.append(encode("BOOKMARK", _bookmark(rt, sent_rv, initial_end=True)))
        else:
            try:
                sent_rv = int(opts.resource_version)
                backlog = store.events_since(rt.gr, sent_rv)
            except ValueError:
                yield encode(
                    "ERROR",
                    errors.bad_request(
                        f"invalid resource version: {opts.resource_version}"
                    ).to_status(),
                )
                return
            except errors.ApiError as exc:
                yield encode("ERROR", _status_event(exc))
                return
            for past in backlog:
                if ns is None or past.obj["metadata"].get("namespace", "") == ns:
                    line = _translate(api, rt, past, match, encode)
                    if line is not None:
                        initial.append(line)
                sent_rv = past.rv
        for line in initial:
            yield line
        next_bookmark = time.monotonic() + hub.bookmark_interval
        while True:
            now = time.monotonic()
            wait = next_bookmark - now if opts.allow_bookmarks else None
            if deadline is not None:
                wait = min(wait, deadline - now) if wait is not None else deadline - now
            try:
                event: Event | None = (
                    await asyncio.wait_for(queue.get(), wait)
                    if wait is None or wait > 0
                    else queue.get_nowait()
                )
            except (TimeoutError, asyncio.QueueEmpty):
                if deadline is not None and time.monotonic() >= deadline:
                    return
                if opts.allow_bookmarks and queue.empty():
                    sent_rv = max(sent_rv, store.rv)
                    yield encode("BOOKMARK", _bookmark(rt, sent_rv))
                next_bookmark = time.monotonic() + hub.bookmark_interval
                continue
            if event is None:
                return
            if event.rv <= sent_rv:
                continue
            sent_rv = event.rv
            line = _translate(api, rt, event, match, encode)
            if line is not None:
                yield line
    finally:
        store.unsubscribe(handle)
        hub.unregister(queue)


def _bookmark(rt: ResourceType, rv: int, *, initial_end: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}


def _translate(
    api: ObjectApi,
    rt: ResourceType,
    event: Event,
    match: Callable[[dict[str, Any]], bool] | None,
    encode: Encoder,
) -> bytes | None:
    obj = api.view(rt, event.obj)
    raw = event.data if obj is event.obj else ""  # served as committed: no second encoding
    if match is None:
        return encode(event.type, obj, raw)
    now_matches = match(obj)
    if event.type != "MODIFIED" or event.prev is None:
        return encode(event.type, obj, raw) if now_matches else None
    was_matching = match(api.view(rt, event.prev))
    if now_matches and was_matching:
        return encode("MODIFIED", obj, raw)
    if now_matches:
        return encode("ADDED", obj, raw)
    if was_matching:
        return encode("DELETED", obj, raw)
    return None
