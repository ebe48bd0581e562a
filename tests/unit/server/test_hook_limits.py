"""The promotion hook's rate limit: the original's flags and fixed window, keyed per pipeline env.

weaveworks/pipeline-controller (``server/promotion_server.go``, ``pkg/ratelimiter``): 20 requests
per 30 s per client address by default, then 429 with ``Retry-After``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from tests.unit.server import harness

from ferryman.domain import signatures
from ferryman.server import hook_limits

DEV = "/promotion/default/podinfo/dev"
STAGING = "/promotion/default/podinfo/staging"


def signed(body: bytes) -> dict[str, str]:
    return {"x-signature": signatures.sign(harness.KEY, body)}


async def test_the_21st_request_in_30_seconds_is_429_with_retry_after() -> None:
    """Defaults: 20 per 30 s; the 21st answers 429 and says when to come back; the window then
    reopens; the refusal is counted."""
    registry = CollectorRegistry()
    h = harness.Harness(registry=registry)
    body = harness.flux_event()
    replies = [await h.call("POST", DEV, headers=signed(body), body=body) for _ in range(21)]
    assert [r.status for r in replies] == [202] * 20 + [429]
    assert replies[-1].headers["retry-after"] == "30"
    assert replies[-1].json()["reason"] == "TooManyRequests"
    assert len(h.trigger.enqueued) == 20
    h.world.clock.advance(10)
    assert (await h.call("POST", DEV, headers=signed(body), body=body)).headers[
        "retry-after"
    ] == "20"
    h.world.clock.advance(20)
    assert (await h.call("POST", DEV, headers=signed(body), body=body)).status == 202
    assert registry.get_sample_value("ferryman_promotion_events_throttled_total") == 2.0


async def test_one_notification_controller_is_not_throttled_across_pipeline_environments() -> None:
    """In a cluster every Flux event comes from one pod: the count is per (client, pipeline,
    environment), so one busy environment does not hold back another; other clients count apart."""
    h = harness.Harness(options={"hook_rate_limit": 2, "hook_rate_interval": 60.0})
    body = harness.flux_event()
    for _ in range(2):
        assert (await h.call("POST", DEV, headers=signed(body), body=body)).status == 202
    assert (await h.call("POST", DEV, headers=signed(body), body=body)).status == 429
    staging = harness.flux_event(namespace="staging")
    reply = await h.call("POST", STAGING, headers=signed(staging), body=staging)
    assert reply.status == 202
    other = await h.call("POST", DEV, headers=signed(body), body=body, client="10.0.0.7")
    assert other.status == 202


async def test_a_limit_of_zero_turns_it_off_and_other_routes_are_never_limited() -> None:
    """``--promotion-hook-rate-limit 0`` disables it; approvals and reads are not hook requests."""
    h = harness.Harness(options={"hook_rate_limit": 0})
    body = harness.flux_event()
    for _ in range(30):
        assert (await h.call("POST", DEV, headers=signed(body), body=body)).status == 202
    limited = harness.Harness(options={"hook_rate_limit": 1})
    for _ in range(3):
        reply = await limited.call("GET", "/api/v1/namespaces/default/pipelines")
        assert reply.status != 429


def test_windows_are_bounded_and_expire() -> None:
    """Old windows are dropped when met; past ``max_keys`` the oldest go first."""
    windows = hook_limits.FixedWindows(1, 10.0, max_keys=2)
    assert windows.hit("a", 0.0) is None
    assert windows.hit("a", 1.0) == 9.0
    assert windows.hit("b", 2.0) is None
    assert windows.hit("c", 3.0) is None
    assert len(windows) == 2
    assert windows.hit("a", 4.0) is None  # "a" was evicted: a fresh window
    assert windows.hit("b", 12.5) is None  # expired
    assert len(windows) == 2


def test_only_post_requests_to_the_hook_have_a_key() -> None:
    """The key is (client, namespace, pipeline, environment) of ``POST /promotion/...``."""
    scope = {"type": "http", "method": "POST", "path": DEV, "client": ("10.1.2.3", 5)}
    assert hook_limits.key_of(scope) == ("10.1.2.3", "default", "podinfo", "dev")
    assert hook_limits.key_of({**scope, "method": "GET"}) is None
    assert hook_limits.key_of({**scope, "path": "/api/v1/x"}) is None
    assert hook_limits.key_of({**scope, "client": None}) == ("", "default", "podinfo", "dev")
