"""What the pipeline page prints, computed without a request: target rows, the headline, the
history lines."""

from __future__ import annotations

import pytest
from tests.unit.domain import builders as b

from ferryman.api import status
from ferryman.server.ui import views

Phase = status.PromotionPhase
REF = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "podinfo"}


def seen(revision: str, *, ready: bool = True, error: str = "") -> status.TargetStatus:
    return status.TargetStatus.model_validate(
        {"clusterAppRef": REF, "ready": ready, "revision": revision, "error": error}
    )


def test_target_rows_pair_the_spec_with_what_status_saw() -> None:
    """One row per target: cluster (or in-cluster), namespace, revision, health, error; a target
    status has not seen yet says "no data yet"."""
    env = b.environment("prod", targets=3, cluster="eu-1")
    current = status.EnvironmentStatus(
        targets=(seen("6.2.0"), seen("6.1.0", ready=False, error="ImagePullBackOff"))
    )
    rows = views.target_rows(env, current)
    assert [(r.cluster, r.namespace, r.revision, r.health, r.error) for r in rows] == [
        ("eu-1", "prod", "6.2.0", "healthy", ""),
        ("eu-1", "prod-1", "6.1.0", "not healthy", "ImagePullBackOff"),
        ("eu-1", "prod-2", "", "no data yet", ""),
    ]
    local = views.target_rows(b.environment("dev"), None)
    assert [(r.cluster, r.health) for r in local] == [("in-cluster", "no data yet")]


def env_view(
    name: str, revision: str, record: status.PromotionRecord | None
) -> views.EnvironmentView:
    spec = b.make("staging", "prod").spec
    environment = spec.environments[1 if name == "prod" else 0]
    current = status.EnvironmentStatus(revision=revision, ready=True, promotion=record)
    return views.environment_view(
        spec, environment, current, gate="", permission=views.Permission()
    )


def condition(value: str, message: str) -> status.Condition:
    return status.Condition(
        type="Ready", status=value, reason="R", message=message, last_transition_time=b.NOW
    )


@pytest.mark.parametrize(
    ("ready", "record", "expected"),
    [
        (
            condition("True", "All targets checked"),
            b.record("6.2.0", Phase.WAITING_APPROVAL),
            ("moving", "prod: 6.2.0 waiting for approval"),
        ),
        (
            condition("False", "prod: promotion of 6.2.0 failed: denied"),
            b.record("6.2.0", Phase.FAILED),
            ("attention", "prod: promotion of 6.2.0 failed: denied"),
        ),
        (
            condition("True", "All targets checked"),
            b.record("6.2.0", Phase.SUCCEEDED),
            ("settled", "Nothing in flight: staging runs 6.2.0, prod runs 6.1.0"),
        ),
    ],
    ids=["a waiting prod is not summarised as ready", "a failure needs attention", "idle"],
)
def test_the_headline_says_what_the_pipeline_is_doing(
    ready: status.Condition, record: status.PromotionRecord, expected: tuple[str, str]
) -> None:
    """Ready=True above a blocked prod was misleading: the headline names what is in flight."""
    envs = [env_view("staging", "6.2.0", None), env_view("prod", "6.1.0", record)]
    assert views.headline(ready, envs) == expected


def test_history_lines_say_automatic_keep_comments_and_machine_words() -> None:
    """A promotion nobody approved is "automatic"; an expired one names nobody; the comment and
    the machine word (for data-phase) are kept."""
    automatic = views.history_row(
        status.HistoryEntry(
            environment="staging", revision="6.2.0", phase=Phase.SUCCEEDED, at=b.NOW
        )
    )
    approved = views.history_row(
        status.HistoryEntry(
            environment="prod",
            revision="6.2.0",
            phase=Phase.SUCCEEDED,
            at=b.NOW,
            by="alice",
            comment="ship it",
        )
    )
    expired = views.history_row(
        status.HistoryEntry(environment="prod", revision="6.1.0", phase=Phase.EXPIRED, at=b.NOW)
    )
    assert (automatic.by, automatic.phase, automatic.result) == (
        "automatic",
        "Promoted",
        "Succeeded",
    )
    assert (approved.by, approved.comment, approved.iso) == (
        "alice",
        "ship it",
        "2026-12-01T10:00:00Z",
    )
    assert (expired.by, expired.phase) == ("", "Approval expired")
