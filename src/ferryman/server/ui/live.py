"""Live pages by server-sent events, fed from the controller's Pipeline informers.

``GET /events/pipelines`` (the list) and ``GET /events/pipelines/<ns>/<name>`` (one pipeline's
page) answer ``text/event-stream``. A stream sends the page's live region at once, then again
whenever the informer reports a change to what it shows (a status write lands in the cache within
milliseconds of the API server's answer), so no browser polls and no connected client costs an
API request: the Pipeline comes from the cache, the caller's identity and permissions from the
auth caches (``server.auth_cache``).

- Events: ``update`` (``data``: the region's HTML, escaped by Jinja2 like every page; every line
  of it prefixed, so no text of a Pipeline can end the event early), ``signin`` (the session
  ended: the page goes to the sign-in form), ``reload`` (the pipeline is gone or no longer
  readable: the page reloads and shows why). A comment line every ``HEARTBEAT`` seconds keeps
  proxies from closing an idle stream.
- Sign-out and revocation: before every event and heartbeat the stream opens the session again
  (expiry, the shared sign-out list) and identifies its token (TokenReview, cached): a signed-out
  session's stream ends within ``HEARTBEAT`` seconds, on every replica.
- Bounds: streams have their own pool (``families.STREAM``: 512 at once, then 503 and the page
  polls instead); streams render one at a time, each yielding to the event loop afterwards (a
  change seen by many open pages does not hold page views up behind all of their renders); a
  stream renders at most every ``MIN_INTERVAL`` seconds (bursts of changes are coalesced into
  the latest state) and ends after ``MAX_STREAM`` seconds (the browser reconnects
  after ``RETRY_MILLISECONDS``, authenticating again); all streams end when the server stops.
- Fallback: ``static/live.js`` polls the page's fragment (``/fragments/...``, also served from the
  caches) when the browser has no ``EventSource`` or the stream cannot be kept open.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Final, Protocol

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ferryman.ports import auth
from ferryman.ports import kubernetes as k8s
from ferryman.server import errors, params
from ferryman.server.deps import Deps

HEARTBEAT: Final = 15.0
MIN_INTERVAL: Final = 0.2
MAX_STREAM: Final = 600.0
RETRY_MILLISECONDS: Final = 2000
_LINE_BREAKS: Final = re.compile(r"\r\n|\r|\n")  # every line terminator of the SSE format

Handler = Callable[[Request], Awaitable[Response]]
Key = tuple[str, str] | None  # one pipeline, or None for the list


class Pages(Protocol):
    """What a stream needs of the UI (``routes.Ui``)."""

    deps: Deps

    async def load(self, request: Request) -> None:
        """Open the request's session (into ``request.state``)."""
        ...

    async def identity(self, request: Request) -> auth.Identity | None:
        """The signed-in user, ``None`` when signed out."""
        ...

    async def live_html(self, request: Request, identity: auth.Identity, key: Key) -> str:
        """The live region's HTML (``errors.HttpError`` when it may not or cannot be shown)."""
        ...


def message(event: str, data: str = "") -> str:
    """One server-sent event; each line of ``data`` becomes its own ``data:`` field."""
    lines = "".join(f"data: {line}\n" for line in _LINE_BREAKS.split(data))
    return f"event: {event}\n{lines}\n"


class Subscriber:
    """One open stream's wake-up call."""

    def __init__(self, key: Key) -> None:
        self.key = key
        self.changed = asyncio.Event()
        self.closed = False

    async def wait(self, seconds: float) -> bool:
        """Whether something changed (False: ``seconds`` passed first); clears the flag."""
        try:
            await asyncio.wait_for(self.changed.wait(), max(seconds, 0.0))
        except TimeoutError:
            return False
        self.changed.clear()
        return True

    def close(self) -> None:
        """End the stream at its next step."""
        self.closed = True
        self.changed.set()


class Feed:
    """Fans the Pipeline cache's change notifications out to the open streams."""

    def __init__(self, cache: k8s.PipelineCache) -> None:
        self._cache = cache
        self._streams: dict[Key, set[Subscriber]] = {}
        self._unsubscribe: Callable[[], None] | None = None
        # One stream renders at a time, and yields to the event loop after each render, so a
        # change that wakes every open page does not hold page views up behind all the renders.
        self.rendering = asyncio.Lock()

    def __len__(self) -> int:
        return sum(len(streams) for streams in self._streams.values())

    def open(self, key: Key) -> Subscriber:
        """A subscriber woken by changes of ``key`` (``None``: of any pipeline)."""
        if self._unsubscribe is None:
            self._unsubscribe = self._cache.subscribe(self._changed)
        subscriber = Subscriber(key)
        self._streams.setdefault(key, set()).add(subscriber)
        return subscriber

    def release(self, subscriber: Subscriber) -> None:
        """Forget a stream that ended."""
        subscriber.close()
        streams = self._streams.get(subscriber.key)
        if streams is not None:
            streams.discard(subscriber)
            if not streams:
                del self._streams[subscriber.key]

    def _changed(self, key: k8s.PipelineKey | None) -> None:
        if key is None:  # the server is stopping
            for streams in self._streams.values():
                for subscriber in streams:
                    subscriber.close()
            return
        for subscriber in self._streams.get(key, ()):
            subscriber.changed.set()
        for subscriber in self._streams.get(None, ()):
            subscriber.changed.set()


async def _signed_in(ui: Pages, request: Request) -> auth.Identity | None:
    """The stream's user if their session still holds (``None``: signed out, expired, revoked)."""
    try:
        await ui.load(request)
        return await ui.identity(request)
    except k8s.KubernetesError:
        return None  # fail closed: the page reconnects and shows why


async def _events(
    ui: Pages, feed: Feed, request: Request, subscriber: Subscriber, first: str
) -> AsyncIterator[str]:
    """The stream of one page (see the module docstring)."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + MAX_STREAM
    last = first
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n" + message("update", first)
        while not subscriber.closed:
            woke = await subscriber.wait(min(HEARTBEAT, ends - loop.time()))
            if subscriber.closed or loop.time() >= ends:
                return
            identity = await _signed_in(ui, request)
            if identity is None:
                yield message("signin")
                return
            if not woke:
                yield ": keep-alive\n\n"
                continue
            try:
                async with feed.rendering:
                    html = await ui.live_html(request, identity, subscriber.key)
                    await asyncio.sleep(0)  # requests that arrived meanwhile go first
            except errors.HttpError:
                yield message("reload")
                return
            if html != last:
                yield message("update", html)
                last = html
            await asyncio.sleep(MIN_INTERVAL)  # later changes wait and arrive together
    finally:
        feed.release(subscriber)


def routes(
    ui: Pages, guarded: Callable[[Handler], Handler], headers: Mapping[str, str]
) -> list[Route]:
    """The event-stream routes (none without the controller's Pipeline cache); ``headers``: the
    UI's security headers."""
    if ui.deps.pipelines is None:
        return []
    feed = Feed(ui.deps.pipelines)
    streaming = {**headers, "X-Accel-Buffering": "no"}  # proxies: do not buffer the stream

    async def stream(request: Request, key: Key) -> Response:
        identity = await ui.identity(request)
        if identity is None:
            return Response(status_code=401, headers=dict(headers))
        first = await ui.live_html(request, identity, key)  # 403 and 404 before streaming
        subscriber = feed.open(key)
        return StreamingResponse(
            _events(ui, feed, request, subscriber, first),
            media_type="text/event-stream",
            headers=streaming,
        )

    async def list_stream(request: Request) -> Response:
        return await stream(request, None)

    async def page_stream(request: Request) -> Response:
        return await stream(request, params.pipeline(request.path_params))

    return [
        Route("/events/pipelines", guarded(list_stream), methods=["GET"]),
        Route("/events/pipelines/{namespace}/{name}", guarded(page_stream), methods=["GET"]),
    ]
