"""Request metrics: every response counted by route family and code, never by raw path."""

from __future__ import annotations

import dataclasses

import prometheus_client
import pytest
from tests.unit.server import harness

from ferryman.server import app as server_app
from ferryman.server import metrics


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/promotion/default/podinfo/prod", "promotion"),
        ("/approval/default/podinfo/prod/1.0", "legacy-approval"),
        ("/api/v1/namespaces/default/pipelines/podinfo/environments/prod/approve", "approve"),
        ("/api/v1/namespaces/default/pipelines/podinfo/environments/prod/reject", "reject"),
        ("/api/v1/pipelines", "read"),
        ("/pipelines/default/podinfo", "ui"),
    ],
)
def test_paths_map_to_a_fixed_family(path: str, expected: str) -> None:
    """Label values come from a fixed set, whatever the path holds."""
    assert metrics.family(path) == expected


async def test_approvals_and_webhook_failures_are_counted() -> None:
    """An approval shows as approve/202; an unsigned webhook call as promotion/401."""
    h = harness.Harness()
    registry = prometheus_client.CollectorRegistry()
    h.app = server_app.create_site(dataclasses.replace(h.deps, registry=registry))
    await h.waiting()
    assert (await h.approve("alice-token")).status == 202
    assert (await h.call("POST", "/promotion/default/podinfo/prod", body=b"{}")).status == 401
    text = prometheus_client.generate_latest(registry).decode()
    assert 'ferryman_http_requests_total{code="202",route="approve"} 1.0' in text
    assert 'ferryman_http_requests_total{code="401",route="promotion"} 1.0' in text
