"""The server's caches of API answers: bounded, expiring, one fetch in flight per key, failures
never kept (``ttl_cache``, ``auth_cache``, ``secret_cache``)."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from tests.fakes import auth as fakes_auth
from tests.fakes.clock import FakeClock

from ferryman.domain import errors
from ferryman.ports import auth
from ferryman.ports import kubernetes as k8s
from ferryman.server import auth_cache, secret_cache, ttl_cache

ALICE = auth.Identity("alice", "u-alice", ("release-managers",))
GET = auth.AccessRequest("get", "pipelines", "pipelines.weave.works", "default", "podinfo")
APPROVE = auth.AccessRequest("approve", "pipelines", "pipelines.weave.works", "default", "podinfo")


async def test_entries_expire_and_the_least_recently_used_leaves_first() -> None:
    """Past ``max_entries`` the least recently used entry goes; an expired one is a miss."""
    clock = FakeClock(0.0)
    cache: ttl_cache.TtlCache[str, int] = ttl_cache.TtlCache(max_entries=2, clock=clock.time)
    cache.put("a", 1, 10)
    cache.put("b", 2, 10)
    assert cache.entry("a") is not None  # a is now the most recently used
    cache.put("c", 3, 10)
    assert (cache.entry("a"), cache.entry("b")) != (None, None)
    assert cache.entry("b") is None and len(cache) == 2
    clock.advance(10)
    assert cache.entry("a") is None and cache.entry("c") is None
    with pytest.raises(ValueError, match="at least 1"):
        ttl_cache.TtlCache(max_entries=0)


async def test_concurrent_misses_share_one_fetch_and_failures_are_not_kept() -> None:
    """Ten callers of one missing key cause one fetch; a failed fetch raises for all of them and
    the next call fetches again."""
    cache: ttl_cache.TtlCache[str, int] = ttl_cache.TtlCache(max_entries=8)
    calls = 0
    gate = asyncio.Event()

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        if calls == 1:
            raise k8s.Unavailable("down")
        return calls

    waiting = [asyncio.ensure_future(cache.load("k", fetch, lambda v: 10)) for _ in range(10)]
    await asyncio.sleep(0)
    assert cache.loading("k")
    gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert calls == 1 and all(isinstance(r, k8s.Unavailable) for r in results)
    assert await cache.load("k", fetch, lambda v: 10) == 2
    assert await cache.load("k", fetch, lambda v: 10) == 2
    assert (calls, cache.hits, cache.misses) == (2, 1, 2)


async def test_token_reviews_are_cached_accepted_30s_rejected_10s() -> None:
    """An accepted token is not reviewed again for 30 s, a rejected one for 10 s; an outage is
    never cached (fail closed, ask again)."""
    clock = FakeClock(0.0)
    inner = fakes_auth.FakeAuthenticator({"good": ALICE})
    cached = auth_cache.CachedAuthenticator(inner, clock=clock.time)
    assert await cached.authenticate("good") == ALICE
    assert await cached.authenticate("bad") is None
    clock.advance(9.9)
    assert (await cached.authenticate("good"), await cached.authenticate("bad")) == (ALICE, None)
    assert inner.calls == 2
    clock.advance(0.1)
    assert await cached.authenticate("bad") is None
    assert inner.calls == 3
    clock.advance(20)
    assert await cached.authenticate("good") == ALICE
    assert inner.calls == 4
    inner.unavailable = True
    with pytest.raises(k8s.Unavailable):
        await cached.authenticate("new")
    inner.unavailable = False
    assert await cached.authenticate("new") is None
    assert inner.calls == 6
    assert all(isinstance(key, bytes) and len(key) == 32 for key in cached.cache._entries)


def _jwt(claims: dict[str, object]) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join((part(b'{"alg":"RS256"}'), part(json.dumps(claims).encode()), part(b"sig")))


async def test_an_accepted_id_token_is_not_kept_past_its_exp() -> None:
    """An OIDC ID token with 5 s left is reviewed again after 5 s, not 30 s; one already past its
    ``exp`` is not kept at all; a malformed or exp-less JWT gets the usual 30 s."""
    clock = FakeClock(0.0)
    now = 1_800_000_000.0
    soon, gone, plain = _jwt({"exp": now + 5}), _jwt({"exp": now - 1}), _jwt({"sub": "a"})
    inner = fakes_auth.FakeAuthenticator({soon: ALICE, gone: ALICE, plain: ALICE, "a.!.b": ALICE})
    cached = auth_cache.CachedAuthenticator(inner, clock=clock.time, wall_clock=lambda: now)
    for token in (soon, gone, plain, "a.!.b", gone):
        assert await cached.authenticate(token) == ALICE
    assert inner.calls == 5  # the expired one was asked twice
    clock.advance(5)
    now += 5
    assert await cached.authenticate(soon) == ALICE and inner.calls == 6
    assert await cached.authenticate(plain) == ALICE and inner.calls == 6
    assert auth_cache.jwt_expiry(_jwt({"exp": True})) is None
    assert auth_cache.jwt_expiry("x.eyJleHAiOjF9.y") == 1.0


async def test_access_reviews_are_cached_per_subject_and_request() -> None:
    """Allowed answers for 30 s, denied for 10 s; a user whose groups changed, another verb or
    another pipeline is asked again."""
    clock = FakeClock(0.0)
    inner = fakes_auth.FakeAccessReviewer([fakes_auth.Grant("group:release-managers", ("get",))])
    cached = auth_cache.CachedAccessReviewer(inner, clock=clock.time)
    assert (await cached.review(ALICE, GET))[0] is True
    assert (await cached.review(ALICE, APPROVE))[0] is False
    assert (await cached.review(ALICE, GET))[0] is True
    assert len(inner.requests) == 2
    regrouped = auth.Identity("alice", "u-alice", ())
    assert (await cached.review(regrouped, GET))[0] is False
    other = auth.AccessRequest("get", "pipelines", "pipelines.weave.works", "default", "other")
    assert (await cached.review(ALICE, other))[0] is True
    assert len(inner.requests) == 4
    inner.grants.append(fakes_auth.Grant("alice", ("approve",)))
    clock.advance(10)
    assert (await cached.review(ALICE, APPROVE))[0] is True  # the denial expired after 10 s
    inner.grants.clear()
    clock.advance(19)
    assert (await cached.review(ALICE, GET))[0] is True  # allowed at 0 s, cached for 30 s
    clock.advance(1)
    assert (await cached.review(ALICE, GET))[0] is False
    inner.unavailable = True
    with pytest.raises(k8s.Unavailable):
        await cached.review(ALICE, other.__class__("list", "pipelines", "pipelines.weave.works"))


async def test_webhook_keys_are_read_once_refreshed_in_the_background_and_expire() -> None:
    """Within 30 s no read; from 30 s one background read per key while requests keep coming
    (the request is not held up); past 60 s without a refresh the request waits for a read."""
    clock = FakeClock(0.0)
    inner = fakes_auth.FakeSecrets({("default", "webhook"): {"hmac-key": b"one"}})
    cached = secret_cache.CachedSecrets(inner, clock=clock.time)
    for _ in range(5):
        assert await cached.read("default", "webhook") == {"hmac-key": b"one"}
    assert inner.reads == 1
    inner.data[("default", "webhook")] = {"hmac-key": b"two"}
    clock.advance(30)
    answers = [await cached.read("default", "webhook") for _ in range(5)]
    assert answers == [{"hmac-key": b"one"}] * 5  # served while one refresh runs
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert inner.reads == 2
    assert await cached.read("default", "webhook") == {"hmac-key": b"two"}
    inner.data[("default", "webhook")] = {"hmac-key": b"three"}
    clock.advance(60)
    assert await cached.read("default", "webhook") == {"hmac-key": b"three"}  # waited
    assert inner.reads == 3
    await cached.close()


async def test_a_missing_secret_is_cached_an_unreachable_api_server_is_not() -> None:
    """Requests naming a Secret that does not exist cost one read per minute, not one each; an
    outage raises ``TemporaryError`` (503) every time until the API server answers."""
    clock = FakeClock(0.0)
    inner = fakes_auth.FakeSecrets()
    cached = secret_cache.CachedSecrets(inner, clock=clock.time)
    for _ in range(3):
        with pytest.raises(errors.PermanentError, match="not found"):
            await cached.read("default", "gone")
    assert inner.reads == 1
    inner.unavailable = True
    for _ in range(2):
        with pytest.raises(errors.TemporaryError):
            await cached.read("default", "other")
    assert inner.reads == 3
    clock.advance(45)  # the background refresh of "gone" fails: the entry stays until 60 s
    with pytest.raises(errors.PermanentError):
        await cached.read("default", "gone")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert inner.reads == 4
    with pytest.raises(ValueError, match="must not exceed"):
        secret_cache.CachedSecrets(inner, refresh_after=61)
    await cached.close()
