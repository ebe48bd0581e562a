"""The delivery-metrics port: where the measures of a status write go (``domain.delivery``).

The controller and the server both write statuses and both record what their writes measured, in
one process-wide recorder that ``bootstrap`` builds (``adapters.delivery_metrics``: Prometheus
histograms and a counter); tests give them an in-memory one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ferryman.domain import delivery


class DeliveryRecorder(Protocol):
    """Records the measures of one successful status write of Pipeline ``namespace/name``.

    Called once per write, after it succeeded, by the process that made it; never raises.
    """

    def record(self, namespace: str, name: str, measures: Sequence[delivery.Measure]) -> None:
        """Add ``measures`` to the metrics."""
        ...
