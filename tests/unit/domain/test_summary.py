"""Conditions and the Ready summary: stable messages, transition times, Stalled for bad specs."""

from __future__ import annotations

from tests.unit.domain import builders as b

from ferryman.api import conditions, status
from ferryman.domain import summary as rules

Phase = status.PromotionPhase


def ready_of(current: status.PipelineStatus) -> status.Condition:
    condition = current.condition(conditions.READY)
    assert condition is not None
    return condition


def test_set_condition_keeps_the_transition_time_while_status_is_unchanged() -> None:
    """Only a status flip moves lastTransitionTime; reason and message may change freely."""
    first = rules.set_condition(
        (),
        type_="Ready",
        status_="True",
        reason="A",
        message="one",
        generation=1,
        now=b.ago(days=1),
    )
    same = rules.set_condition(
        first, type_="Ready", status_="True", reason="B", message="two", generation=2, now=b.NOW
    )
    assert (same[0].last_transition_time, same[0].reason, same[0].observed_generation) == (
        b.ago(days=1),
        "B",
        2,
    )
    flipped = rules.set_condition(
        same, type_="Ready", status_="False", reason="B", message="", generation=2, now=b.NOW
    )
    assert flipped[0].last_transition_time == b.NOW


def test_set_condition_sorts_by_type_and_bounds_the_message() -> None:
    """Conditions come out in a stable order; messages stay within the schema's 32 KiB."""
    out = rules.set_condition(
        (), type_="Ready", status_="True", reason="A", message="m", generation=-1, now=b.NOW
    )
    out = rules.set_condition(
        out, type_="Alpha", status_="True", reason="A", message="x" * 40000, generation=1, now=b.NOW
    )
    assert [c.type for c in out] == ["Alpha", "Ready"]
    assert len(out[0].message) == 32768
    assert out[1].observed_generation == 0  # an unset generation (-1) is written as 0


def test_remove_condition() -> None:
    """Removing a type keeps every other condition."""
    out = rules.set_condition(
        (), type_="Stalled", status_="True", reason="A", message="", generation=1, now=b.NOW
    )
    assert rules.remove_condition(out, "Stalled") == ()
    assert rules.remove_condition(out, "Ready") == out


def test_pending_names_every_held_environment_with_the_first_reason() -> None:
    """PromotionPending is True with 'env: message' parts, and False with a fixed sentence."""
    held = [
        rules.Pending("staging", conditions.WAITING_FOR_GATES, "soak time"),
        rules.Pending("prod", conditions.WAITING_APPROVAL, "waiting"),
    ]
    [pending] = rules.pending_condition((), held, generation=1, now=b.NOW)
    assert (pending.status, pending.reason, pending.message) == (
        "True",
        conditions.WAITING_FOR_GATES,
        "staging: soak time; prod: waiting",
    )
    [idle] = rules.pending_condition((), [], generation=1, now=b.NOW)
    assert (idle.status, idle.reason, idle.message) == (
        "False",
        conditions.ALL_IN_SYNC,
        "no promotion is pending",
    )


def _env(revision: str, *errors: tuple[str, str]) -> status.EnvironmentStatus:
    subject = b.make("dev")
    ref = b.targets_of(subject, dev="x")["dev"][0].cluster_app_ref
    targets = tuple(
        status.TargetStatus(cluster_app_ref=ref, ready=not err, revision=rev, error=err)
        for rev, err in errors
    )
    return status.EnvironmentStatus(targets=targets, revision=revision, ready=not errors)


def test_summary_when_everything_is_readable() -> None:
    """Ready True lists each environment's revision in spec order, '?' when unknown."""
    current = status.PipelineStatus(environments={"dev": _env("1.1"), "prod": _env("")})
    ready = ready_of(rules.summarise(current, ["dev", "qa", "prod"], generation=3, now=b.NOW))
    assert (ready.status, ready.reason, ready.message, ready.observed_generation) == (
        "True",
        conditions.RECONCILIATION_SUCCEEDED,
        "All targets checked: dev=1.1, qa=?, prod=?",
        3,
    )


def test_summary_reports_unreadable_and_unready_targets_and_failed_promotions() -> None:
    """Ready False: the first problem's reason, every problem in the message."""
    failed = b.record("1.1", Phase.FAILED, last_error="HTTP 401")
    no_error = b.record("1.0", Phase.FAILED)
    current = status.PipelineStatus(
        environments={
            "dev": _env("", ("", "forbidden"), ("", "also forbidden")),
            "staging": _env("1.0", ("1.0", "upgrade in progress")).model_copy(
                update={"promotion": no_error}
            ),
            "prod": _env("1.0").model_copy(update={"promotion": failed}),
        }
    )
    ready = ready_of(rules.summarise(current, ["dev", "staging", "prod"], generation=1, now=b.NOW))
    assert (ready.status, ready.reason) == ("False", conditions.TARGET_NOT_READABLE)
    assert ready.message == (
        "dev: dev/podinfo: forbidden; staging: dev/podinfo: upgrade in progress; "
        "staging: promotion of 1.0 failed: ; prod: promotion of 1.1 failed: HTTP 401"
    )


def test_stalled_reports_the_spec_problems_and_keeps_the_rest() -> None:
    """An invalid spec: Stalled and Ready False with reason InvalidSpec, generation observed."""
    before = status.PipelineStatus(environments={"dev": _env("1.0")}, observed_generation=1)
    after = rules.stalled(before, ["a: bad", "b: worse"], generation=4, now=b.NOW)
    stalled = after.condition(conditions.STALLED)
    assert stalled is not None
    assert (stalled.status, stalled.reason, stalled.message) == (
        "True",
        conditions.INVALID_SPEC,
        "a: bad; b: worse",
    )
    assert (ready_of(after).status, ready_of(after).reason) == ("False", conditions.INVALID_SPEC)
    assert after.observed_generation == 4
    assert after.environments == before.environments


def test_a_target_with_a_cluster_reason_names_it_in_ready() -> None:
    """A target that carries the original controller's reason gives Ready that reason."""
    target = status.TargetStatus(
        cluster_app_ref=status.ClusterAppReference(
            api_version="helm.toolkit.fluxcd.io/v2", kind="HelmRelease", name="podinfo"
        ),
        ready=False,
        error='GitopsCluster "default/eu" is not ready',
        reason="TargetClusterNotReady",
    )
    assert rules.target_reason(target) == "TargetClusterNotReady"
