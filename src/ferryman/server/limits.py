"""Bounds on what one request may cost, per route family: concurrency, body size, body time.

One pure ASGI middleware, ``Limits``, wraps the whole site (UI and API alike). Each route family
(``families``) has its own ``RouteLimits``, so unauthenticated webhook traffic can fill only the
webhook's pool, never the approval API's, the UI's or health's:

- **concurrency**: at most ``concurrency`` requests of a family in flight; more answer 503 with
  ``Retry-After: 1`` at once instead of queueing without bound;
- **body size**: 413 without reading anything when ``Content-Length`` exceeds ``max_body_bytes``;
  a chunked body is counted while the handler streams it and fails with 413 as soon as the count
  passes the cap, so at most cap + one chunk is ever held;
- **body time**: the whole body must arrive within ``body_timeout`` seconds of the request's start
  (408 otherwise). The deadline is for the body as a whole, so trickling a byte now and then does
  not renew it: a slow sender holds a slot for ``body_timeout`` at most.

Header size is bounded by uvicorn's parser; header read time by ``bootstrap.protocol`` (10 s from
a request's first byte), which the composition root gives uvicorn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferryman.server import errors, families


@dataclass(frozen=True)
class RouteLimits:
    """What one request of a family may cost, and how many may run at once."""

    concurrency: int
    max_body_bytes: int
    body_timeout: float  # seconds for the whole body, from the start of the request


WEBHOOK_MAX_BODY: Final = 3 * 1024 * 1024  # what Flux's notification-controller itself accepts
DEFAULT_LIMITS: Final[Mapping[str, RouteLimits]] = MappingProxyType(
    {
        families.WEBHOOK: RouteLimits(
            concurrency=128, max_body_bytes=WEBHOOK_MAX_BODY, body_timeout=10.0
        ),
        families.API: RouteLimits(concurrency=64, max_body_bytes=64 * 1024, body_timeout=10.0),
        families.UI: RouteLimits(concurrency=64, max_body_bytes=16 * 1024, body_timeout=5.0),
        families.HEALTH: RouteLimits(concurrency=16, max_body_bytes=1024, body_timeout=5.0),
        # Open pages' event streams: long-lived, no body; past 512 the page polls instead.
        families.STREAM: RouteLimits(concurrency=512, max_body_bytes=1024, body_timeout=5.0),
    }
)


def total_concurrency(limits: Mapping[str, RouteLimits]) -> int:
    """Requests in flight when every pool is full (uvicorn's backstop is set above it)."""
    return sum(limit.concurrency for limit in limits.values())


class BodyTooLarge(errors.HttpError):
    """The body is larger than the route family accepts."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyTooSlow(errors.HttpError):
    """The body did not arrive within the family's deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body was not sent within {seconds:g} seconds")


class Limits:
    """Per-family pools and body bounds around an ASGI app (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, limits: Mapping[str, RouteLimits] = DEFAULT_LIMITS) -> None:
        self.app = app
        self.limits = dict(limits)
        self.active = dict.fromkeys(self.limits, 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        family = families.family(scope.get("path", ""))
        limit = self.limits[family]
        declared = _content_length(scope)
        if declared is None:
            await _reply(scope, receive, send, errors.HttpError(400, "bad Content-Length header"))
            return
        if declared > limit.max_body_bytes:
            await _reply(scope, receive, send, BodyTooLarge(limit.max_body_bytes))
            return
        if self.active[family] >= limit.concurrency:
            busy = errors.HttpError(
                503, "the server is busy; try again shortly", headers={"Retry-After": "1"}
            )
            await _reply(scope, receive, send, busy)
            return
        self.active[family] += 1
        try:
            await self.app(scope, _bounded(receive, limit), send)
        finally:
            self.active[family] -= 1


def _bounded(receive: Receive, limit: RouteLimits) -> Receive:
    """``receive`` that fails with 413 past the size cap and with 408 past the body deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit.body_timeout
    received = 0
    complete = False  # afterwards receive() only reports a disconnect: no deadline for that

    async def limited() -> Message:
        nonlocal received, complete
        if complete:
            return await receive()
        try:
            # A timeout context, not wait_for: no task per receive (the webhook's hot path).
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise BodyTooSlow(limit.body_timeout) from None
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit.max_body_bytes:
                raise BodyTooLarge(limit.max_body_bytes)
            complete = not message.get("more_body", False)
        else:
            complete = True
        return message

    return limited


def _content_length(scope: Scope) -> int | None:
    """The declared length (-1 when absent), ``None`` when the header is not a number."""
    for key, value in scope["headers"]:
        if key == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit() or len(text) > 18:
                return None
            return int(text)
    return -1


async def _reply(scope: Scope, receive: Receive, send: Send, error: errors.HttpError) -> None:
    response = errors.status_response(
        error.status, error.message, reason=error.reason, headers=error.headers
    )
    await response(scope, receive, send)
