"""How many Prometheus series the delivery metrics cost, with and without per-pipeline labels.

Every pipeline of the fleet records, for each environment promotions go into, one observation of
each histogram and every outcome (the worst case: every label combination exists). Series are
counted in what ``/metrics`` would serve (``generate_latest``): bucket, ``_sum``, ``_count`` and
``_created`` samples of each labelled histogram, ``_total`` and ``_created`` of each counter.
Run ``.venv/bin/python -m bench.delivery_series`` (docs/metrics.md quotes its output).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from ferryman.adapters import delivery_metrics
from ferryman.domain import delivery

ENVIRONMENTS = ("staging", "prod")  # dev → staging → prod: promotions go into two of them


def series(
    pipelines: int, *, per_pipeline: bool, environments: tuple[str, ...] = ENVIRONMENTS
) -> int:
    """Samples ``/metrics`` serves for the delivery families of ``pipelines`` pipelines."""
    registry = CollectorRegistry()
    recorder = delivery_metrics.PrometheusDeliveryRecorder(registry, per_pipeline=per_pipeline)
    everything: list[delivery.Measure] = []
    for environment in environments:
        everything += [delivery.Duration(figure, environment, 60.0) for figure in delivery.Figure]
        everything += [delivery.Ended(environment, outcome) for outcome in delivery.Outcome]
    for index in range(pipelines):
        recorder.record("default", f"app-{index}", everything)
    text = generate_latest(registry).decode()
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def main() -> None:
    """Print the series at 1, 100 and 1,000 pipelines, both ways."""
    for pipelines in (1, 100, 1000):
        shared = series(pipelines, per_pipeline=False)
        labelled = series(pipelines, per_pipeline=True)
        print(
            f"delivery metrics, {pipelines} pipelines x {len(ENVIRONMENTS)} environments: "
            f"{shared} series by environment; {labelled} with --metrics-pipeline-labels"
        )


if __name__ == "__main__":
    main()
