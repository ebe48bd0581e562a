"""The promotion settings that apply to one environment, resolved once.

Compatibility (the original ``GetPromotion``): when an environment has its own ``promotion``, its
``manual`` and ``strategy`` replace the pipeline-level ones. Ferryman's additions — ``approval``,
``minReadySeconds``, ``windows`` — and a strategy the environment leaves out fall back to
``spec.promotion``, so a pipeline-wide approval policy needs writing once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ferryman.api import pipeline


@dataclass(frozen=True)
class EffectivePromotion:
    """Everything ``decide()`` needs to know about promotions into one environment."""

    strategy: pipeline.Strategy | None
    approval: pipeline.ApprovalPolicy | None
    min_ready_seconds: int
    windows: tuple[pipeline.Window, ...]

    @property
    def strategy_name(self) -> str:
        """``pull-request``, ``git-push``, ``notification`` or ``""`` when none is set."""
        chosen = self.strategy.chosen() if self.strategy is not None else []
        return chosen[0] if chosen else ""


def effective(spec: pipeline.PipelineSpec, environment: pipeline.Environment) -> EffectivePromotion:
    """Resolve the settings for promotions into ``environment``."""
    default = spec.promotion or pipeline.Promotion()
    own = environment.promotion
    if own is None:
        manual = bool(default.manual)
        strategy = default.strategy
        approval = default.approval
        min_ready = default.min_ready_seconds
        windows = default.windows
    else:
        manual = bool(own.manual)
        strategy = own.strategy or default.strategy
        approval = own.approval or default.approval
        min_ready = own.min_ready_seconds
        if min_ready is None:
            min_ready = default.min_ready_seconds
        windows = own.windows if own.windows is not None else default.windows
    if approval is None and manual:
        approval = pipeline.ApprovalPolicy(required=1)
    has_strategy = strategy is not None and bool(strategy.chosen())
    return EffectivePromotion(
        strategy=strategy if has_strategy else None,
        approval=approval,
        min_ready_seconds=min_ready or 0,
        windows=tuple(windows or ()),
    )
