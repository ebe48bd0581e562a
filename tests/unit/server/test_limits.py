"""Request bounds per route family: 413 by Content-Length and while streaming, 408 when the whole
body does not arrive in time (trickling does not renew it), 503 when a family's pool is full while
the other families keep answering."""

from __future__ import annotations

import asyncio
import dataclasses

from starlette.types import Receive, Scope, Send
from tests.unit.server import harness

from ferryman.server import families, limits

URL = "/promotion/default/podinfo/dev"
CAP = 64 * 1024


def webhook(**changes: object) -> dict[str, object]:
    """Harness options with the webhook family's limits changed."""
    chosen = dataclasses.replace(limits.DEFAULT_LIMITS[families.WEBHOOK], **changes)
    return {"limits": {**limits.DEFAULT_LIMITS, families.WEBHOOK: chosen}}


async def test_declared_oversize_body_is_413_without_reading_it() -> None:
    """Content-Length over the cap: 413 before a single body byte is read."""
    h = harness.Harness(options=webhook(max_body_bytes=CAP))
    reply = await h.call("POST", URL, body=b"x" * (CAP + 1))
    assert reply.status == 413
    assert h.read == 0


async def test_chunked_oversize_body_is_413_after_at_most_cap_plus_one_chunk() -> None:
    """A chunked body is counted while streamed; reading stops at the first chunk past the cap."""
    h = harness.Harness(options=webhook(max_body_bytes=CAP))
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

    h = harness.Harness(options=webhook(body_timeout=0.01))
    scope = {"type": "http", "method": "POST", "path": URL, "headers": [], "query_string": b""}
    await h.app(scope, receive, send)
    assert sent[0]["status"] == 408


async def test_a_full_pool_answers_503_while_other_families_answer() -> None:
    """Past its family's limit a request gets 503 at once; the other families are unaffected, and
    capacity frees when a request finishes."""
    release = asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].startswith("/promotion/"):
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    chosen = {
        name: dataclasses.replace(limit, concurrency=2)
        for name, limit in limits.DEFAULT_LIMITS.items()
    }
    guard = limits.Limits(slow, limits=chosen)
    statuses: list[tuple[str, int]] = []

    async def call(path: str) -> None:
        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                statuses.append((path, int(message["status"])))  # type: ignore[call-overload]
                if message["status"] == 503:
                    assert (b"retry-after", b"1") in message["headers"]  # type: ignore[operator]

        await guard({"type": "http", "method": "GET", "path": path, "headers": []}, receive, send)

    running = [asyncio.create_task(call(URL)) for _ in range(2)]
    await asyncio.sleep(0)
    for path in (URL, "/api/v1/pipelines", "/signin", "/healthz"):
        await call(path)
    assert statuses == [(URL, 503), ("/api/v1/pipelines", 200), ("/signin", 200), ("/healthz", 200)]
    release.set()
    await asyncio.gather(*running)
    await call(URL)
    assert statuses[-1] == (URL, 200)
    assert guard.active == dict.fromkeys(families.ALL, 0)


async def test_trickling_does_not_renew_the_body_deadline() -> None:
    """One byte now and then, each well within the deadline, still ends in 408 once the whole
    body has taken longer than the family allows (the review's slow webhook bodies)."""
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        await asyncio.sleep(0.01)
        return {"type": "http.request", "body": b"x", "more_body": True}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    h = harness.Harness(options=webhook(body_timeout=0.1))
    scope = {
        "type": "http",
        "method": "POST",
        "path": URL,
        "headers": [(b"content-length", b"1000")],
        "query_string": b"",
    }
    await h.app(scope, receive, send)
    assert sent[0]["status"] == 408
