"""Bounds on what one request may cost: body size, body read time, concurrent requests.

Two pure ASGI middlewares, outermost first:

- ``ConcurrencyLimit`` answers 503 with ``Retry-After`` at once when ``limit`` requests are in
  flight, instead of queueing without bound (a burst cannot exhaust memory or starve the
  controller that shares the process).
- ``BodyLimit`` answers 413 without reading anything when ``Content-Length`` exceeds the cap,
  and counts bytes while the handler streams a chunked body, failing with 413 as soon as the
  count passes the cap; so at most cap + one chunk is ever held. Each wait for a body chunk is
  bounded by ``read_timeout`` (408), so a slow sender cannot hold a slot forever.

Header size and header read time are bounded by uvicorn (see ``bootstrap.process.server_config``).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferryman.server import errors

MAX_BODY_BYTES = 3 * 1024 * 1024  # what Flux's notification-controller itself accepts
MAX_CONCURRENCY = 256
BODY_READ_TIMEOUT = 30.0


class BodyTooLarge(errors.HttpError):
    """The body is larger than the server accepts."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyLimit:
    """Reject bodies over ``max_bytes`` (413) and bodies sent too slowly (408)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES, read_timeout: float = 30.0
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is None:
            await _reply(scope, receive, send, errors.HttpError(400, "bad Content-Length header"))
            return
        if declared > self.max_bytes:
            await _reply(scope, receive, send, BodyTooLarge(self.max_bytes))
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                raise errors.HttpError(408, "the request body was not sent in time") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length (-1 when absent), ``None`` when the header is not a number."""
    for key, value in scope["headers"]:
        if key == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit() or len(text) > 18:
                return None
            return int(text)
    return -1


class ConcurrencyLimit:
    """At most ``limit`` requests in flight; more answer 503 with ``Retry-After: 1``."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_CONCURRENCY) -> None:
        self.app = app
        self.limit = limit
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            busy = errors.HttpError(
                503, "the server is busy; try again shortly", headers={"Retry-After": "1"}
            )
            await _reply(scope, receive, send, busy)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


async def _reply(scope: Scope, receive: Receive, send: Send, error: errors.HttpError) -> None:
    response = errors.status_response(
        error.status, error.message, reason=error.reason, headers=error.headers
    )
    await response(scope, receive, send)
