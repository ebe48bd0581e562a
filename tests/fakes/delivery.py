"""An in-memory ``ports.delivery.DeliveryRecorder``: every measure recorded, per instance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ferryman.domain import delivery


@dataclass
class RecordedMeasures:
    """What one process recorded, in order, with the pipeline it was for."""

    seen: list[tuple[str, str, delivery.Measure]] = field(default_factory=list)

    def record(self, namespace: str, name: str, measures: Sequence[delivery.Measure]) -> None:
        self.seen.extend((namespace, name, measure) for measure in measures)

    def measures(self) -> list[delivery.Measure]:
        """Every measure, in order."""
        return [measure for _, _, measure in self.seen]

    def ended(self) -> list[tuple[str, str]]:
        """``(environment, outcome)`` of every counted outcome."""
        return [
            (m.environment, m.outcome.value)
            for m in self.measures()
            if isinstance(m, delivery.Ended)
        ]

    def durations(self, figure: delivery.Figure) -> list[tuple[str, float]]:
        """``(environment, seconds)`` of every observed ``figure``."""
        return [
            (m.environment, m.seconds)
            for m in self.measures()
            if isinstance(m, delivery.Duration) and m.figure is figure
        ]
