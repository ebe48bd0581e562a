"""Hypothesis against the whole app: generated requests, no 5xx, no unauthenticated change.

Four properties of 2,500 examples each, driven straight into the ASGI app over the fakes (one
event loop per module, so an example costs well under a millisecond). ``make stress`` runs the
same properties with more examples (``FERRYMAN_FUZZ_EXAMPLES``). Requests are counted as they are
sent (by property and status) and the tally is printed at the end of the module; the decisions
property includes the waiting revision (6.1.0), so valid approvals and rejections do happen — a
test counts them. The same properties over real HTTP, against ``ferryman controller``, are in
``tests/integration/server/test_fuzz_http.py``.

The promotion hook's rate limit is **off** here (``hook_rate_limit=0``): one client sends every
example to the same few pipeline environments, so with the limit on all but the first 20 would
be 429s and the properties would test throttling instead of authentication and parsing.
``tests/unit/server/test_hook_limits.py`` tests the limit itself.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.server import harness

from ferryman.domain import signatures

# make stress (bench/stress.sh) raises this through the environment to run 100,000+ requests.
EXAMPLES = int(os.environ.get("FERRYMAN_FUZZ_EXAMPLES", "2500"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

segment = st.sampled_from(
    ["default", "podinfo", "dev", "prod", "6.1.0", "..", "%2F", ""]
) | st.text(max_size=6)
paths = st.one_of(
    st.builds(
        lambda prefix, parts: prefix + "/".join(parts),
        st.sampled_from(
            [
                "/promotion/",
                "/approval/",
                "/api/v1/namespaces/",
                "/api/v1/pipelines/",
                "/",
            ]
        ),
        st.lists(segment, max_size=5),
    ),
    st.builds(
        lambda env, verb: f"{harness.PREFIX}/{env}/{verb}",
        st.sampled_from(["prod", "staging", "qa"]),
        st.sampled_from(["approve", "reject", "other"]),
    ),
)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80)
# Hypothesis' recursive JSON strategies cost milliseconds per example; these stay cheap while
# still covering wrong types, missing keys and odd strings in every position.
ODD = [None, True, 0, -1, 1.5, "", "x", [], {}, [1, "a"], {"a": None}, "\u0000", "6.1.0"]
json_values = st.sampled_from(ODD) | st.text(max_size=8)


def _event(
    kind: object, name: object, namespace: object, revision: object, drop: int, extra: object
) -> bytes:
    document: dict[str, object] = {
        "involvedObject": {"kind": kind, "name": name, "namespace": namespace},
        "metadata": {"revision": revision},
        "severity": "info",
        "timestamp": extra,
    }
    for bit, key in enumerate(["involvedObject", "metadata", "severity", "timestamp"]):
        if drop & (1 << bit):
            document.pop(key)
    return json.dumps(document).encode()


events = st.builds(
    _event,
    st.sampled_from(["HelmRelease", "Kustomization"]) | json_values,
    st.sampled_from(["podinfo", "other"]) | json_values,
    st.sampled_from(["dev", "prod"]) | json_values,
    json_values,
    st.integers(0, 15),
    json_values,
)
bodies = st.one_of(
    st.binary(max_size=256), json_values.map(lambda v: json.dumps(v).encode()), events
)


@dataclass
class Fixture:
    """A prepared harness, the loop that drives it and the tally of requests sent."""

    loop: asyncio.AbstractEventLoop
    h: harness.Harness
    tally: collections.Counter[tuple[str, int]]

    def call(self, prop: str, *args: object, **kwargs: object) -> harness.Reply:
        """Run one request to completion; count it under ``prop`` and its status."""
        reply = self.loop.run_until_complete(self.h.call(*args, **kwargs))  # type: ignore[arg-type]
        self.tally[(prop, reply.status)] += 1
        return reply


@pytest.fixture(scope="module")
def fuzz(pytestconfig: pytest.Config) -> Iterator[Fixture]:
    """One harness (prod waiting for approval) on its own loop, shared by all examples."""
    loop = asyncio.new_event_loop()
    h = harness.Harness(legacy=True, options={"hook_rate_limit": 0})  # see module docstring
    loop.run_until_complete(h.waiting())
    fixture = Fixture(loop, h, collections.Counter())
    try:
        yield fixture
    finally:
        loop.close()
        total = sum(fixture.tally.values())
        lines = [f"ASGI fuzzing: {total} requests sent to the app (counted)"]
        for prop in sorted({p for p, _ in fixture.tally}):
            counts = ", ".join(
                f"{code}: {n}" for (p, code), n in sorted(fixture.tally.items()) if p == prop
            )
            lines.append(f"  {prop}: {counts}")
        show(pytestconfig, lines)


def show(config: pytest.Config, lines: list[str]) -> None:
    """Print past pytest's output capture (the tally is the point of a stress run)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    path=paths,
    headers=st.dictionaries(
        st.sampled_from(
            ["authorization", "x-signature", "content-type", "x-forwarded-for", "accept"]
        ),
        header_values,
        max_size=4,
    ),
    body=bodies,
)
def test_unauthenticated_requests_never_fail_or_change_state(
    fuzz: Fixture, method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    """Any request without valid credentials: never 5xx, never a write, Event or trigger."""
    before = fuzz.h.state()
    enqueued = len(fuzz.h.trigger.enqueued)
    reply = fuzz.call("unauthenticated", method, path, headers=headers, body=body)
    assert reply.status < 500
    assert fuzz.h.state() == before
    assert len(fuzz.h.trigger.enqueued) == enqueued


@FUZZ
@given(signature=header_values, body=bodies)
def test_random_signatures_are_always_the_same_401(
    fuzz: Fixture, signature: str, body: bytes
) -> None:
    """Whatever X-Signature says (short of the real HMAC), the answer is the one 401."""
    reply = fuzz.call(
        "signatures",
        "POST",
        "/promotion/default/podinfo/dev",
        headers={"x-signature": signature},
        body=body,
    )
    assert (reply.status, reply.json()["message"]) == (401, "unauthorized")


@FUZZ
@given(body=bodies, algorithm=st.sampled_from(signatures.SUPPORTED))
def test_signed_random_events_are_triggers_only(fuzz: Fixture, body: bytes, algorithm: str) -> None:
    """Authentic but arbitrary bodies: 202 or 400, and never a status write."""
    before = fuzz.h.state()
    reply = fuzz.call(
        "signed-events",
        "POST",
        "/promotion/default/podinfo/dev",
        headers={"x-signature": signatures.sign(harness.KEY, body, algorithm)},
        body=body,
    )
    assert reply.status in {202, 400}
    assert fuzz.h.state() == before


@FUZZ
@given(
    token=st.sampled_from(["alice-token", "bob-token", "eve-token"]),
    env=st.sampled_from(["prod", "staging", "qa"]),
    verb=st.sampled_from(["approve", "reject"]),
    body=st.one_of(
        bodies,
        st.fixed_dictionaries(
            {"revision": st.sampled_from(["6.1.0", "6.1.0", "6.0.9", "7.0.0", "", "x" * 300])},
            optional={"comment": json_values},
        ).map(lambda v: json.dumps(v).encode()),
    ),
)
def test_authenticated_garbage_never_fails_and_only_valid_decisions_write(
    fuzz: Fixture, token: str, env: str, verb: str, body: bytes
) -> None:
    """Approval API with real tokens and arbitrary bodies: no 5xx; a refusal writes nothing."""
    before = fuzz.h.state()
    reply = fuzz.call(
        "decisions",
        "POST",
        f"{harness.PREFIX}/{env}/{verb}",
        headers={"authorization": f"Bearer {token}"},
        body=body,
    )
    assert reply.status in {202, 403, 404, 409, 422}
    if reply.status != 202:
        assert fuzz.h.state() == before


def test_valid_decisions_were_generated(fuzz: Fixture) -> None:
    """Counted, not assumed: the decisions property met the waiting revision (202s happened)."""
    assert fuzz.tally[("decisions", 202)] > 0, fuzz.tally
