"""Prometheus metrics of one controller instance (a registry per instance, never module globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Reconcile duration and errors, queue depth and latency, promotions, API writes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconcile_seconds = Histogram(
            "ferryman_reconcile_duration_seconds",
            "Time to reconcile one Pipeline.",
            registry=self.registry,
        )
        self.reconcile_errors = Counter(
            "ferryman_reconcile_errors_total", "Reconciles that failed.", registry=self.registry
        )
        self.queue_depth = Gauge(
            "ferryman_workqueue_depth",
            "Pipelines waiting in the work queue.",
            registry=self.registry,
        )
        self.queue_latency = Histogram(
            "ferryman_workqueue_latency_seconds",
            "Time a Pipeline waited in the queue before a worker took it.",
            registry=self.registry,
        )
        self.promotions = Counter(
            "ferryman_promotions_total",
            "Promotion attempts by strategy and result.",
            ["strategy", "result"],
            registry=self.registry,
        )
        self.api_writes = Counter(
            "ferryman_api_writes_total",
            "Writes to the Kubernetes API by verb.",
            ["verb"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "ferryman_leader", "1 while this instance is the leader.", registry=self.registry
        )
