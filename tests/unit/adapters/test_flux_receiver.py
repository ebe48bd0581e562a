"""Posting events to notification-controller as fluxcd/pkg's recorder does (a real local server)."""

from __future__ import annotations

import httpx
import pytest
from tests import fixtures
from tests.fakes import notification_controller as nc

from ferryman.adapters import flux_receiver
from ferryman.domain import errors

BODY = fixtures.raw("flux/events/pipeline-promote.json")


class Sleeps:
    """Records the backoff instead of waiting it out."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def post(receiver: nc.EventReceiver, sleeps: Sleeps | None = None) -> None:
    with nc.running(receiver) as url:
        async with httpx.AsyncClient() as client:
            await flux_receiver.FluxEventReceiver(client, url, sleep=sleeps or Sleeps()).post(BODY)


async def test_the_event_arrives_as_json_with_the_exact_bytes() -> None:
    """One POST, Content-Type application/json, the body unchanged, nothing the receiver minds."""
    receiver = nc.EventReceiver()
    await post(receiver)
    [request] = receiver.received
    assert (request.method, request.status, request.body) == ("POST", 202, BODY)
    assert request.headers["content-type"] == "application/json"
    assert receiver.problems == []


async def test_connection_errors_and_5xx_are_retried_with_backoff_on_the_same_bytes() -> None:
    """A dropped connection, 500 and 503 are retried 1 s, 2 s, 4 s apart; then it is delivered."""
    receiver = nc.EventReceiver()
    receiver.fail_with = [0, 500, 503]
    sleeps = Sleeps()
    await post(receiver, sleeps)
    assert [r.status for r in receiver.received] == [0, 500, 503, 202]
    assert {r.body for r in receiver.received} == {BODY}
    assert sleeps.waits == [1.0, 2.0, 4.0]


async def test_a_duplicate_is_delivered() -> None:
    """429 is notification-controller's duplicate filter: the event is already there."""
    receiver = nc.EventReceiver()
    await post(receiver)
    await post(receiver)
    assert [r.status for r in receiver.received] == [202, 429]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 501])
async def test_other_client_errors_are_permanent(status: int) -> None:
    """Retrying cannot help a request the receiver refuses."""
    receiver = nc.EventReceiver()
    receiver.fail_with = [status]
    with pytest.raises(errors.PermanentError, match=f"HTTP {status}") as caught:
        await post(receiver)
    assert caught.value.reason == "EventRejected"
    assert len(receiver.received) == 1


async def test_an_outage_longer_than_the_retries_is_temporary() -> None:
    """Five attempts (four retries, waits capped at 30 s); then a temporary error naming it."""
    receiver = nc.EventReceiver()
    receiver.fail_with = [502] * 5
    sleeps = Sleeps()
    with pytest.raises(errors.TemporaryError, match="after 5 attempts: HTTP 502"):
        await post(receiver, sleeps)
    assert sleeps.waits == [1.0, 2.0, 4.0, 8.0]


async def test_a_503_retry_after_is_honoured() -> None:
    """``Retry-After`` in seconds replaces the backoff (capped at 30 s)."""
    sleeps = Sleeps()
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.content)
        if len(calls) == 1:
            return httpx.Response(503, headers={"Retry-After": "7"})
        if len(calls) == 2:
            return httpx.Response(503, headers={"Retry-After": "120"})
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        receiver = flux_receiver.FluxEventReceiver(client, "http://nc.test/", sleep=sleeps)
        await receiver.post(BODY)
    assert sleeps.waits == [7.0, 30.0]
    assert calls == [BODY] * 3


async def test_a_refused_connection_is_temporary() -> None:
    """Nothing listens: connection errors all the way, then a temporary error."""
    with nc.running(nc.EventReceiver()) as url:
        pass  # the port is free again
    async with httpx.AsyncClient() as client:
        receiver = flux_receiver.FluxEventReceiver(client, url, sleep=Sleeps())
        with pytest.raises(errors.TemporaryError, match="ConnectError"):
            await receiver.post(BODY)
