"""``ferryman history NAME --stats``: the delivery figures of one pipeline, as text or JSON.

The same figures as the UI's timeline and the delivery metrics (``domain.timeline``, from status
alone): per finished promotion its lead time (from the first environment's first run), approval
wait and promotion duration, then the medians and outcome counts per environment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from ferryman.api import pipeline
from ferryman.cli import render
from ferryman.domain import timeline

NONE = render.NONE


def _words(span: timedelta | None) -> str:
    return timeline.words(span) if span is not None else NONE


def _seconds(span: timedelta | None) -> float | None:
    return span.total_seconds() if span is not None else None


def _medians(arrivals: Sequence[timeline.Arrival], environment: str) -> dict[str, Any]:
    mine = [a for a in arrivals if a.environment == environment]

    def median(values: list[timedelta | None]) -> timedelta | None:
        return timeline.median([v for v in values if v is not None])

    return {
        "arrivals": sum(1 for a in mine if a.phase is timeline.Phase.SUCCEEDED),
        "leadTime": median([a.lead_time for a in mine]),
        "approvalWait": median([a.approval_wait for a in mine]),
        "promotion": median([a.promotion for a in mine]),
        "outcomes": dict(Counter(a.phase.value for a in mine)),
    }


def figures(item: pipeline.Pipeline) -> dict[str, Any]:
    """The figures as a JSON document (durations in seconds, ``null`` where unknown)."""
    arrivals = timeline.arrivals(item.status)
    per_env = {env.name: _medians(arrivals, env.name) for env in item.spec.environments[1:]}
    return {
        "promotions": [
            {
                "environment": a.environment,
                "revision": a.revision,
                "result": a.phase.value,
                "finishedAt": render.when(a.at),
                "leadTimeSeconds": _seconds(a.lead_time),
                "approvalWaitSeconds": _seconds(a.approval_wait),
                "promotionSeconds": _seconds(a.promotion),
                "by": a.by,
            }
            for a in arrivals
        ],
        "environments": {
            name: {
                "arrivals": values["arrivals"],
                "medianLeadTimeSeconds": _seconds(values["leadTime"]),
                "medianApprovalWaitSeconds": _seconds(values["approvalWait"]),
                "medianPromotionSeconds": _seconds(values["promotion"]),
                "outcomes": values["outcomes"],
            }
            for name, values in per_env.items()
        },
    }


def text(item: pipeline.Pipeline) -> str:
    """Tables and sentences for the terminal."""
    arrivals = timeline.arrivals(item.status)
    if not arrivals:
        return render.join_lines(
            [f'Pipeline "{item.metadata.name}" has no finished promotions yet.']
        )
    rows = [
        [
            a.environment,
            a.revision,
            a.phase.value,
            render.when(a.at),
            _words(a.lead_time),
            _words(a.approval_wait),
            _words(a.promotion),
            a.by or NONE,
        ]
        for a in reversed(arrivals)
    ]
    headers = ["ENVIRONMENT", "REVISION", "RESULT", "FINISHED", "LEAD TIME", "APPROVAL WAIT"]
    table = render.table([*headers, "PROMOTION", "BY"], rows)
    summary = []
    for env in item.spec.environments[1:]:
        values = _medians(arrivals, env.name)
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(values["outcomes"].items()))
        summary.append(
            [
                env.name,
                str(values["arrivals"]),
                _words(values["leadTime"]),
                _words(values["approvalWait"]),
                _words(values["promotion"]),
                outcomes or NONE,
            ]
        )
    medians = render.table(
        ["ENVIRONMENT", "ARRIVALS", "LEAD TIME", "APPROVAL WAIT", "PROMOTION", "OUTCOMES"], summary
    )
    first = item.spec.environments[0].name
    words = [timeline.sentence(a, first) for a in reversed(arrivals)]
    return "\n".join([table, "", "Medians per environment:", medians, "", render.join_lines(words)])
