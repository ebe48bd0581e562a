"""Resolving an environment's promotion settings, including the original GetPromotion rule."""

from __future__ import annotations

from tests.unit.domain import builders as b

from ferryman.api import pipeline
from ferryman.domain import policy

NIGHT = b.window("deny", "0 0 * * *", "6h")
DAY = b.window("allow", "0 9 * * *", "8h")


def resolve(
    default: pipeline.Promotion | None, own: pipeline.Promotion | None
) -> policy.EffectivePromotion:
    subject = b.make("dev", b.environment("prod", promotion=own), promotion=default)
    return policy.effective(subject.spec, subject.spec.environments[1])


def test_nothing_set_means_observe_only() -> None:
    """No promotion anywhere: no strategy, no approval, no gates."""
    got = resolve(None, None)
    assert got == policy.EffectivePromotion(
        strategy=None, approval=None, min_ready_seconds=0, windows=()
    )
    assert got.strategy_name == ""


def test_the_pipeline_default_applies_to_environments_without_their_own() -> None:
    """spec.promotion is the default for every environment."""
    got = resolve(b.promotion(via="pull-request", manual=True, soak=60, windows=[NIGHT]), None)
    assert got.strategy_name == "pull-request"
    assert got.approval == pipeline.ApprovalPolicy(required=1)
    assert (got.min_ready_seconds, got.windows) == (60, (NIGHT,))


def test_environment_promotion_replaces_manual_and_strategy() -> None:
    """Compat: an environment's promotion overrides manual and strategy (GetPromotion)."""
    got = resolve(b.promotion(via="pull-request", manual=True), b.promotion(via="git-push"))
    assert got.strategy_name == "git-push"
    assert got.approval is None


def test_environment_promotion_inherits_what_it_leaves_out() -> None:
    """Approval, soak time, windows and a missing strategy fall back to spec.promotion."""
    default = b.promotion(via="notification", required=2, soak=300, windows=[NIGHT])
    got = resolve(default, b.promotion(via=None))
    assert got.strategy_name == "notification"
    assert got.approval is not None
    assert got.approval.required == 2
    assert (got.min_ready_seconds, got.windows) == (300, (NIGHT,))


def test_environment_settings_win_over_the_default() -> None:
    """An environment's own approval, soak time and windows (even none) are used as given."""
    default = b.promotion(required=2, soak=300, windows=[NIGHT])
    got = resolve(default, b.promotion(required=3, soak=0, windows=[]))
    assert got.approval is not None
    assert got.approval.required == 3
    assert (got.min_ready_seconds, got.windows) == (0, ())
    assert resolve(default, b.promotion(windows=[DAY])).windows == (DAY,)


def test_manual_in_the_environment_means_one_approval() -> None:
    """manual: true without an approval policy requires one approval from anyone."""
    got = resolve(b.promotion(), b.promotion(manual=True, via=None))
    assert got.approval == pipeline.ApprovalPolicy(required=1)


def test_a_strategy_with_nothing_chosen_is_no_strategy() -> None:
    """A strategy block holding only a secretRef promotes nothing."""
    only_secret = pipeline.Promotion(
        strategy=pipeline.Strategy(secret_ref=pipeline.LocalObjectReference(name="hmac"))
    )
    assert resolve(only_secret, None).strategy is None
