"""P6: how many bytes a Pipeline's status costs, per target, per history entry and at the CRD's
maxima (goal: at most 256 KiB, far below etcd's 1.5 MiB object limit).

Sizes are of compact JSON (what the API server stores), computed with the wire models. The
worst case (``bench/worst_case.py``, also kept within budget by the domain's property tests) has
every list at its ``maxItems`` and every string at its ``maxLength``, through ``decide()``. Run
``.venv/bin/python -m bench.status_size_bench`` (``make bench`` runs it too).
"""

from __future__ import annotations

import json
from typing import Any

from bench import worst_case

from ferryman.api import pipeline, status
from ferryman.domain import decisions

GOAL = 256 * 1024


def size(wire: Any) -> int:
    """Bytes of compact JSON."""
    return len(json.dumps(wire, separators=(",", ":")).encode())


TYPICAL_TARGET = {
    "clusterAppRef": {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "name": "podinfo",
        "namespace": "prod-eu-1",
    },
    "ready": True,
    "revision": "6.1.0",
    "error": "",
}
TYPICAL_HISTORY = {
    "environment": "prod",
    "revision": "6.1.0",
    "phase": "Succeeded",
    "at": "2026-11-28T16:00:00Z",
    "by": "alice",
    "url": "https://github.com/example/fleet/pull/1042",
}


def main() -> None:
    """Print typical and maximal sizes, and the worst case against the goal."""
    typical_target = size(status.TargetStatus.model_validate(TYPICAL_TARGET).to_wire())
    typical_history = size(status.HistoryEntry.model_validate(TYPICAL_HISTORY).to_wire())
    subject, targets = worst_case.worst_case()
    decision = decisions.decide(
        subject, targets, now=worst_case.NOW, owner=worst_case.OWNER, may_take_over=True
    )
    worst = decision.status
    max_target = max(size(t.to_wire()) for ts in targets.values() for t in ts)
    max_history = max(size(h.to_wire()) for h in worst.history)
    wire = worst.to_wire()
    envs = wire.get("environments", {})
    parts = {
        "targets": sum(size(e.get("targets", [])) for e in envs.values()),
        "promotion_records": sum(size(e.get("promotion", {})) for e in envs.values()),
        "verification": sum(size(e.get("verification", {})) for e in envs.values()),
        "history": size(wire.get("history", [])),
        "conditions": size(wire.get("conditions", [])),
    }
    total = size(wire)
    target_count = sum(len(ts) for ts in targets.values())
    print(f"P6 typical target: {typical_target} B; typical history entry: {typical_history} B")
    print(f"P6 max target: {max_target} B; max history entry: {max_history} B")
    print(
        f"P6 worst case: {pipeline.MAX_ENVIRONMENTS} environments, {target_count} targets, "
        f"{len(worst.history)} history entries -> {total} B ({total / 1024:.0f} KiB), "
        f"ratio to goal {total / GOAL:.2f}"
    )
    print(
        "P6 worst case by part: " + ", ".join(f"{k}={v / 1024:.0f} KiB" for k, v in parts.items())
    )
    typical = 9 * typical_target + status.MAX_HISTORY * typical_history
    print(f"P6 3 envs x 3 targets, full history (typical strings): ~{typical / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
