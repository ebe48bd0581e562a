"""What the server's writes measure: a rejection and an operator's rollback, once each.

The controller measures what ``decide()`` and strategy outcomes write; the server measures what
only it writes — rejections (approval API and UI share ``server.writes``) and rollbacks
(operator API) — after the write succeeded. Approvals themselves measure nothing here: the
controller's pass that reaches the quorum measures the approval wait.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from tests.fakes import delivery as fake_delivery
from tests.unit.server import harness

from ferryman.adapters import delivery_metrics
from ferryman.domain import delivery


def requested_at(h: harness.Harness) -> datetime:
    record = h.world.status().environments["prod"].promotion
    assert record is not None and record.approval_requested_at is not None
    return record.approval_requested_at


async def test_a_rejection_is_counted_once_with_its_wait() -> None:
    """202 → one Rejected outcome and one approval wait; the same rejection again → nothing."""
    h = harness.Harness()
    await h.waiting()
    h.world.clock.advance(90)
    waited = (h.world.clock.now() - requested_at(h)).total_seconds()
    assert (await h.approve("carol-token", verb="reject", comment="no")).status == 202
    assert h.measured.ended() == [("prod", "Rejected")]
    assert h.measured.durations(delivery.Figure.APPROVAL_WAIT) == [("prod", waited)]
    await h.approve("carol-token", verb="reject", comment="no")
    assert len(h.measured.measures()) == 2
    # The controller's passes that follow do not count it again.
    controller = fake_delivery.RecordedMeasures()
    rec = h.world.reconciler("a", delivery_metrics=controller)
    for _ in range(2):
        await rec.reconcile("default", "podinfo")
    assert controller.ended() == []


async def test_an_approval_is_measured_by_the_controller_pass_that_promotes() -> None:
    """The approval API records nothing; the pass reaching the quorum records the wait."""
    h = harness.Harness()
    await h.waiting()
    h.world.clock.advance(30)
    waited = (h.world.clock.now() - requested_at(h)).total_seconds()
    assert (await h.approve("alice-token")).status == 202
    assert h.measured.measures() == []
    controller = fake_delivery.RecordedMeasures()
    rec = h.world.reconciler("a", delivery_metrics=controller)
    await rec.reconcile("default", "podinfo")
    assert controller.durations(delivery.Figure.APPROVAL_WAIT) == [("prod", waited)]


async def test_a_rollback_is_counted_once_by_the_operator_api() -> None:
    """``rollback`` → one RolledBack outcome for prod, recorded by the server's write."""
    h = harness.Harness()
    for version in ("6.1.0", "6.2.0"):
        h.world.release(version)
        await harness.drive(h.world)
        assert (await h.approve("alice-token", version)).status == 202
        await harness.drive(h.world)
    assert h.measured.measures() == []
    assert (await h.operate("alice-token", "rollback", comment="breaks")).status == 202
    assert h.measured.ended() == [("prod", "RolledBack")]
    assert (await h.operate("alice-token", "rollback", comment="breaks")).status == 202
    assert h.measured.ended() == [("prod", "RolledBack")]  # the same pin again writes nothing


def test_the_prometheus_recorder_exports_the_four_families() -> None:
    """Histograms by environment, the counter by environment and outcome."""
    registry = CollectorRegistry()
    recorder = delivery_metrics.PrometheusDeliveryRecorder(registry)
    recorder.record(
        "default",
        "podinfo",
        [
            delivery.Duration(delivery.Figure.LEAD_TIME, "prod", 600.0),
            delivery.Duration(delivery.Figure.APPROVAL_WAIT, "prod", 60.0),
            delivery.Duration(delivery.Figure.PROMOTION_DURATION, "prod", 30.0),
            delivery.Ended("prod", delivery.Outcome.SUCCEEDED),
        ],
    )
    value = registry.get_sample_value
    assert value("ferryman_promotion_lead_time_seconds_count", {"environment": "prod"}) == 1
    assert value("ferryman_promotion_lead_time_seconds_sum", {"environment": "prod"}) == 600
    assert value("ferryman_approval_wait_seconds_count", {"environment": "prod"}) == 1
    assert value("ferryman_promotion_duration_seconds_count", {"environment": "prod"}) == 1
    labels = {"environment": "prod", "outcome": "Succeeded"}
    assert value("ferryman_promotion_outcomes_total", labels) == 1
    text = generate_latest(registry).decode()
    assert 'ferryman_promotion_lead_time_seconds_bucket{environment="prod",le="900.0"} 1.0' in text


def test_per_pipeline_labels_only_when_asked() -> None:
    """``--metrics-pipeline-labels`` adds namespace and pipeline to every family."""
    registry = CollectorRegistry()
    recorder = delivery_metrics.PrometheusDeliveryRecorder(registry, per_pipeline=True)
    recorder.record("team-a", "shop", [delivery.Ended("prod", delivery.Outcome.FAILED)])
    labels = {"environment": "prod", "namespace": "team-a", "pipeline": "shop"}
    assert registry.get_sample_value(
        "ferryman_promotion_outcomes_total", labels | {"outcome": "Failed"}
    )
