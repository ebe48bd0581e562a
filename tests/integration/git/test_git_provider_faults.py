"""Provider faults: an outage compressed in time, rate limits, bad credentials, a hanging API.

Time is a ``FakeClock`` shared by the fake APIs and the adapters (``Retry-After`` arithmetic and
pacing), so a five-minute outage passes in milliseconds and no test reads the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from tests.fakes.githosts import base
from tests.fakes.promotions import PROVIDERS, TOKEN, World, make_request

from ferryman.domain import errors


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_a_five_minute_outage_then_the_first_attempt_after_recovery_succeeds(
    make_world: Callable[..., World], kind: str
) -> None:
    """503 for 300 s: every attempt is temporary with the Retry-After hint; then one PR."""
    world = make_world(kind)
    outage_ends = world.clock.time() + 300
    world.fake.faults.append(
        base.Fault(
            status=503,
            body={"message": "Service Unavailable"},
            headers={"Retry-After": "60"},
            until=outage_ends,
        )
    )
    strategy = world.pull_requests()
    request = make_request(world.strategy_spec())
    failures: list[errors.TemporaryError] = []
    while world.clock.time() < outage_ends:
        with pytest.raises(errors.TemporaryError) as raised:
            await strategy.promote(request)
        failures.append(raised.value)
        assert raised.value.delay is not None
        world.clock.advance(raised.value.delay.total_seconds())  # the controller's requeue

    result = await strategy.promote(request)

    assert len(failures) == 5
    assert {f.reason for f in failures} == {"ProviderUnavailable"}
    assert {f.delay for f in failures} == {timedelta(seconds=60)}
    assert "503" in str(failures[0])
    assert world.fake.created == 1
    assert [p.number for p in world.fake.open_pulls()] == [result.number]


async def test_a_rate_limit_answer_pauses_the_token_until_its_reset(
    make_world: Callable[..., World],
) -> None:
    """429 with Retry-After: a temporary error with that delay, no call until it passed."""
    world = make_world("github")
    world.fake.faults.append(
        base.Fault(
            status=429, body={"message": "slow down"}, headers={"Retry-After": "120"}, times=1
        )
    )
    strategy = world.pull_requests()
    request = make_request(world.strategy_spec())

    with pytest.raises(errors.TemporaryError) as first:
        await strategy.promote(request)
    calls = len(world.fake.requests)
    with pytest.raises(errors.TemporaryError) as second:
        await strategy.promote(request)

    assert first.value.reason == second.value.reason == "RateLimited"
    assert first.value.delay == timedelta(seconds=120)
    assert len(world.fake.requests) == calls, "nothing was sent into a known refusal"
    world.clock.advance(120)
    result = await strategy.promote(request)
    assert result.number == 1
    assert world.fake.created == 1


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_a_wrong_token_is_a_permanent_credentials_error(
    make_world: Callable[..., World], kind: str
) -> None:
    """401 means CredentialsInvalid; neither the token sent nor the right one is in the message."""
    world = make_world(kind)
    world.secrets.data["git"] = {**world.secrets.data["git"], "token": b"not-the-token-9f8e"}

    with pytest.raises(errors.PermanentError) as raised:
        await world.pull_requests().promote(make_request(world.strategy_spec()))

    assert raised.value.reason == "CredentialsInvalid"
    assert "401" in str(raised.value)
    assert "not-the-token-9f8e" not in str(raised.value)
    assert TOKEN not in str(raised.value)


async def test_a_hanging_api_call_ends_at_its_timeout(make_world: Callable[..., World]) -> None:
    """A provider that never answers frees the worker after the configured timeout."""
    world = make_world("gitea", timeout=0.3)
    world.fake.faults.append(base.Fault(hang_seconds=30, method="GET"))

    with pytest.raises(errors.TemporaryError) as raised:
        await world.pull_requests().promote(make_request(world.strategy_spec()))

    assert raised.value.reason == "ProviderTimeout"
    assert "0.3s" in str(raised.value)


async def test_a_missing_repository_is_a_permanent_error(make_world: Callable[..., World]) -> None:
    """A 404 from the API names RepositoryNotFound (the Git side exists, the API path does not)."""
    world = make_world("gitlab")
    world.fake.faults.append(base.Fault(status=404, body={"message": "404 Project Not Found"}))

    with pytest.raises(errors.PermanentError) as raised:
        await world.pull_requests().promote(make_request(world.strategy_spec()))

    assert raised.value.reason == "RepositoryNotFound"
    assert "404 Project Not Found" in str(raised.value)
