"""Delivery metrics in Prometheus: lead time, approval wait, promotion duration, outcomes.

Four families, labelled by ``environment`` (and, with ``per_pipeline``, ``namespace`` and
``pipeline`` — see docs/metrics.md for what that costs in series):

- ``ferryman_promotion_lead_time_seconds`` (histogram): the first environment first ran the
  revision ready → this environment runs it ready;
- ``ferryman_approval_wait_seconds`` (histogram): approval requested → approved or rejected;
- ``ferryman_promotion_duration_seconds`` (histogram): promotion started → the environment runs
  the revision ready;
- ``ferryman_promotion_outcomes_total`` (counter): ``outcome`` ∈ Succeeded, Failed, Rejected,
  Expired, Superseded, RolledBack.

Buckets follow how long each step takes in practice: promotions minutes to hours, lead times up
to a couple of weeks, approvals from a minute to days.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

from ferryman.domain import delivery

MINUTE: Final = 60.0
HOUR: Final = 3600.0
DAY: Final = 86400.0
LEAD_TIME_BUCKETS: Final = (
    5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR,
    DAY, 2 * DAY, 4 * DAY, 7 * DAY, 14 * DAY,
)  # fmt: skip
APPROVAL_WAIT_BUCKETS: Final = (
    MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR,
    DAY, 3 * DAY, 7 * DAY,
)  # fmt: skip
DURATION_BUCKETS: Final = (
    10.0, 30.0, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 20 * MINUTE, 30 * MINUTE,
    HOUR, 2 * HOUR, 6 * HOUR, DAY,
)  # fmt: skip
NAMES: Final = {
    delivery.Figure.LEAD_TIME: "ferryman_promotion_lead_time_seconds",
    delivery.Figure.APPROVAL_WAIT: "ferryman_approval_wait_seconds",
    delivery.Figure.PROMOTION_DURATION: "ferryman_promotion_duration_seconds",
}
OUTCOMES: Final = "ferryman_promotion_outcomes_total"
_HELP: Final = {
    delivery.Figure.LEAD_TIME: (
        "Seconds from a revision first running ready in the first environment to running "
        "ready in this one."
    ),
    delivery.Figure.APPROVAL_WAIT: "Seconds from an approval request to its decision.",
    delivery.Figure.PROMOTION_DURATION: (
        "Seconds from a promotion's start to the environment running the revision ready."
    ),
}
_BUCKETS: Final = {
    delivery.Figure.LEAD_TIME: LEAD_TIME_BUCKETS,
    delivery.Figure.APPROVAL_WAIT: APPROVAL_WAIT_BUCKETS,
    delivery.Figure.PROMOTION_DURATION: DURATION_BUCKETS,
}


class PrometheusDeliveryRecorder:
    """``ports.delivery.DeliveryRecorder`` into ``registry`` (one per process)."""

    def __init__(self, registry: CollectorRegistry, *, per_pipeline: bool = False) -> None:
        self.per_pipeline = per_pipeline
        labels = ["environment", *(["namespace", "pipeline"] if per_pipeline else [])]
        self.histograms = {
            figure: Histogram(
                NAMES[figure],
                _HELP[figure],
                labels,
                buckets=_BUCKETS[figure],
                registry=registry,
            )
            for figure in delivery.Figure
        }
        self.outcomes = Counter(
            OUTCOMES,
            "Promotions into an environment by how they ended.",
            [*labels, "outcome"],
            registry=registry,
        )

    def record(self, namespace: str, name: str, measures: Sequence[delivery.Measure]) -> None:
        """Observe each duration and count each outcome."""
        for measure in measures:
            labels = {"environment": measure.environment}
            if self.per_pipeline:
                labels |= {"namespace": namespace, "pipeline": name}
            match measure:
                case delivery.Duration():
                    self.histograms[measure.figure].labels(**labels).observe(measure.seconds)
                case delivery.Ended():
                    self.outcomes.labels(**labels, outcome=measure.outcome.value).inc()
