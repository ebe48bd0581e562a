"""The metrics port: one PromQL instant query against a Prometheus-compatible HTTP API.

Used by ``prometheus`` verification checks. The adapter (``adapters/prometheus.py``) speaks
Prometheus' ``GET /api/v1/query``; anything that serves the same API (Thanos, Mimir,
VictoriaMetrics) works too.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class MetricsCredentials:
    """What a check's Secret holds for its Prometheus; ``repr`` never shows a value."""

    token: str | None = dataclasses.field(default=None, repr=False)  # Authorization: Bearer
    username: str | None = dataclasses.field(default=None, repr=False)  # basic auth
    password: str | None = dataclasses.field(default=None, repr=False)
    ca: str | None = dataclasses.field(default=None, repr=False)  # extra trusted CA (PEM)


@dataclasses.dataclass(frozen=True)
class MetricsQuery:
    """One instant query."""

    address: str  # the API's base URL, e.g. http://prometheus.monitoring:9090
    query: str
    credentials: MetricsCredentials = MetricsCredentials()


class MetricsSource(Protocol):
    """Evaluates PromQL queries."""

    async def query(self, request: MetricsQuery) -> float:
        """The query's value now: a scalar, or the one sample of a one-series vector.

        Raises ``domain.errors.TemporaryError`` when Prometheus cannot be reached, times out,
        answers 5xx or 503, or the query returns no series yet (nothing scraped); and
        ``PermanentError`` for a query Prometheus refuses (400, 422) or a result that is not one
        number (several series, a string, a range). Messages never carry a credential.
        """
        ...
