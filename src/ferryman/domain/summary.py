"""Conditions and the ``Ready`` summary: the one place they are computed.

``Ready`` is set in this module alone (CONVENTIONS §4): by ``summarise`` for a Pipeline the
controller acts on, by ``stalled`` for one whose spec it cannot act on. Messages are stable
sentences (no countdowns) so that a converged pipeline produces byte-identical status on every
pass and the reconciler writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ferryman.api import conditions, status
from ferryman.domain import text

ConditionStatus = Literal["True", "False", "Unknown"]
PART = 1024  # characters of a condition message about one environment (status stays bounded)


@dataclass(frozen=True)
class Pending:
    """One environment held back, for the ``PromotionPending`` message."""

    environment: str
    reason: str
    message: str


def set_condition(
    current: Sequence[status.Condition],
    *,
    type_: str,
    status_: ConditionStatus,
    reason: str,
    message: str,
    generation: int,
    now: datetime,
) -> tuple[status.Condition, ...]:
    """``current`` with one condition set; its transition time moves only when status flips."""
    previous = next((c for c in current if c.type == type_), None)
    since = previous.last_transition_time if previous and previous.status == status_ else now
    condition = status.Condition(
        type=type_,
        status=status_,
        reason=reason,
        message=text.bounded(message, 32768),
        last_transition_time=since,
        observed_generation=max(generation, 0),
    )
    others = [c for c in current if c.type != type_]
    return tuple(sorted([*others, condition], key=lambda c: c.type))


def remove_condition(
    current: Sequence[status.Condition], type_: str
) -> tuple[status.Condition, ...]:
    """``current`` without conditions of ``type_``."""
    return tuple(c for c in current if c.type != type_)


def pending_condition(
    current: Sequence[status.Condition],
    held: Sequence[Pending],
    *,
    generation: int,
    now: datetime,
) -> tuple[status.Condition, ...]:
    """``PromotionPending``: True naming every held environment and its gate, else False."""
    if not held:
        return set_condition(
            current,
            type_=conditions.PROMOTION_PENDING,
            status_="False",
            reason=conditions.ALL_IN_SYNC,
            message="no promotion is pending",
            generation=generation,
            now=now,
        )
    message = "; ".join(text.bounded(f"{p.environment}: {p.message}", PART) for p in held)
    return set_condition(
        current,
        type_=conditions.PROMOTION_PENDING,
        status_="True",
        reason=held[0].reason,
        message=message,
        generation=generation,
        now=now,
    )


def target_reason(target: status.TargetStatus) -> str:
    """The condition reason for a target with an error: the original controller's
    ``TargetClusterNotFound``/``TargetClusterNotReady`` when its cluster is the problem, else
    ``TargetNotReadable`` (nothing could be read) or ``EnvironmentNotReady``."""
    if target.reason:
        return target.reason
    return (
        conditions.TARGET_NOT_READABLE if not target.revision else conditions.ENVIRONMENT_NOT_READY
    )


def summarise(
    current: status.PipelineStatus,
    order: Sequence[str],
    *,
    generation: int,
    now: datetime,
) -> status.PipelineStatus:
    """Set ``Ready`` from the environments and promotions."""
    problems: list[tuple[str, str]] = []
    for name in order:
        env = current.environments.get(name)
        if env is None:
            continue
        broken = [t for t in env.targets if t.error]
        if broken:
            ref = broken[0].cluster_app_ref
            problems.append(
                (
                    target_reason(broken[0]),
                    f"{name}: {ref.namespace}/{ref.name}: {broken[0].error}",
                )
            )
        record = env.promotion
        if record is not None and record.phase is status.PromotionPhase.FAILED:
            problems.append(
                (
                    conditions.PROMOTION_FAILED,
                    f"{name}: promotion of {record.revision} failed: {record.last_error or ''}",
                )
            )
    if problems:
        reason = problems[0][0]
        message = "; ".join(text.bounded(message, PART) for _, message in problems)
        ready = set_condition(
            current.conditions,
            type_=conditions.READY,
            status_="False",
            reason=reason,
            message=message,
            generation=generation,
            now=now,
        )
    else:
        ready = set_condition(
            current.conditions,
            type_=conditions.READY,
            status_="True",
            reason=conditions.RECONCILIATION_SUCCEEDED,
            message=_overview(current, order),
            generation=generation,
            now=now,
        )
    return current.model_copy(update={"conditions": ready})


def _overview(current: status.PipelineStatus, order: Sequence[str]) -> str:
    parts = []
    for name in order:
        env = current.environments.get(name)
        revision = env.revision if env is not None and env.revision else "?"
        parts.append(f"{name}={revision}")
    return "All targets checked: " + ", ".join(parts)


def stalled(
    current: status.PipelineStatus,
    problems: Sequence[str],
    *,
    generation: int,
    now: datetime,
) -> status.PipelineStatus:
    """Status of a Pipeline whose spec cannot be acted on: ``Stalled`` and ``Ready=False``."""
    message = "; ".join(problems)
    result = set_condition(
        current.conditions,
        type_=conditions.STALLED,
        status_="True",
        reason=conditions.INVALID_SPEC,
        message=message,
        generation=generation,
        now=now,
    )
    result = set_condition(
        result,
        type_=conditions.READY,
        status_="False",
        reason=conditions.INVALID_SPEC,
        message=message,
        generation=generation,
        now=now,
    )
    return current.model_copy(update={"conditions": result, "observed_generation": generation})
