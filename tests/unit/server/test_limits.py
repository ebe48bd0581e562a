"""Request bounds: 413 by Content-Length and while streaming, 408 on a slow body, 503 when busy."""

from __future__ import annotations

import asyncio

from starlette.types import Receive, Scope, Send
from tests.unit.server import harness

from ferryman.server import limits

URL = "/promotion/default/podinfo/dev"
CAP = 64 * 1024


async def test_declared_oversize_body_is_413_without_reading_it() -> None:
    """Content-Length over the cap: 413 before a single body byte is read."""
    h = harness.Harness(options={"max_body_bytes": CAP})
    reply = await h.call("POST", URL, body=b"x" * (CAP + 1))
    assert reply.status == 413
    assert h.read == 0


async def test_chunked_oversize_body_is_413_after_at_most_cap_plus_one_chunk() -> None:
    """A chunked body is counted while streamed; reading stops at the first chunk past the cap."""
    h = harness.Harness(options={"max_body_bytes": CAP})
    chunk = b"y" * 8192
    reply = await h.call("POST", URL, chunks=[chunk] * 200)
    assert reply.status == 413
    assert h.read <= CAP + len(chunk)
    assert h.trigger.enqueued == []


async def test_default_cap_is_three_mebibytes() -> None:
    """The default bound is Flux's own 3 MiB."""
    h = harness.Harness()
    reply = await h.call("POST", URL, body=b"z" * (3 * 1024 * 1024 + 1))
    assert reply.status == 413
    small = await h.call("POST", URL, body=b"z" * 1024)
    assert small.status == 401


async def test_bad_content_length_is_400() -> None:
    """A Content-Length that is not a number is refused."""
    h = harness.Harness()
    reply = await h.call("POST", URL, headers={"content-length": "12abc"}, content_length=False)
    assert reply.status == 400


async def test_slow_body_is_408() -> None:
    """A body that does not arrive within the read timeout ends the request with 408."""
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        await asyncio.sleep(10)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    h = harness.Harness(options={"body_read_timeout": 0.01})
    scope = {"type": "http", "method": "POST", "path": URL, "headers": [], "query_string": b""}
    await h.app(scope, receive, send)
    assert sent[0]["status"] == 408


async def test_saturated_server_answers_503_with_retry_after() -> None:
    """Past the concurrency limit requests get 503 at once; capacity frees when one finishes."""
    release = asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = limits.ConcurrencyLimit(slow, limit=2)
    statuses: list[int] = []

    async def call() -> None:
        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(int(message["status"]))  # type: ignore[call-overload]
                if message["status"] == 503:
                    assert (b"retry-after", b"1") in message["headers"]  # type: ignore[operator]

        await guard({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send)

    running = [asyncio.create_task(call()) for _ in range(2)]
    await asyncio.sleep(0)
    await call()
    assert statuses == [503]
    release.set()
    await asyncio.gather(*running)
    await call()
    assert statuses == [503, 200, 200, 200]
    assert guard.active == 0
