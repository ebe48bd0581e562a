"""The wire models: samples load, JSON round-trips with Kubernetes spellings, helpers behave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pydantic
import pytest
import yaml

from ferryman.api import durations, pipeline, status, validation

REPO = Path(__file__).resolve().parents[3]
SAMPLES = sorted((REPO / "config" / "samples").glob("*.yaml"))
NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_samples_load_without_problems(path: Path) -> None:
    """Every sample in config/samples parses and passes every validation rule."""
    parsed, problems = validation.validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert problems == []
    assert parsed is not None
    assert parsed.to_wire()["spec"] == yaml.safe_load(path.read_text(encoding="utf-8"))["spec"]


def test_both_samples_exist() -> None:
    """The Weave GitOps sample and the Ferryman sample are both checked."""
    assert [p.name for p in SAMPLES] == ["pipeline-ferryman.yaml", "pipeline-weave-gitops.yaml"]


def test_the_weave_gitops_sample_means_what_it_meant() -> None:
    """manual, the pull-request strategy and remote targets read as in the original API."""
    sample = yaml.safe_load((REPO / "config/samples/pipeline-weave-gitops.yaml").read_text())
    subject = pipeline.Pipeline.from_wire(sample)
    promotion = subject.spec.promotion
    assert promotion is not None
    assert promotion.manual is True
    assert promotion.strategy is not None
    assert promotion.strategy.chosen() == ["pull-request"]
    pull_request = promotion.strategy.pull_request
    assert pull_request is not None
    assert pull_request.type is pipeline.GitProviderType.GITHUB
    prod = subject.spec.environment("prod")
    assert prod is not None
    assert prod.targets[0].cluster_ref == pipeline.ClusterReference(
        kind="GitopsCluster", name="prod", namespace="flux-system"
    )
    assert subject.spec.environment("qa") is None


def test_wire_form_uses_kubernetes_spellings_and_omits_unset_fields() -> None:
    """camelCase, 'pull-request', 'from'; no nulls that a merge patch would turn into deletes."""
    strategy = pipeline.Strategy.model_validate(
        {
            "pull-request": {
                "type": "gitlab",
                "url": "https://gitlab.com/g/p",
                "baseBranch": "main",
                "secretRef": {"name": "s"},
            }
        }
    )
    assert strategy.to_wire() == {
        "pull-request": {
            "type": "gitlab",
            "url": "https://gitlab.com/g/p",
            "baseBranch": "main",
            "secretRef": {"name": "s"},
        }
    }
    record = status.PromotionRecord.model_validate(
        {"revision": "1.1", "from": "dev", "phase": "Promoting", "requestedAt": NOW}
    )
    assert record.to_wire() == {
        "revision": "1.1",
        "from": "dev",
        "phase": "Promoting",
        "requestedAt": "2026-12-01T10:00:00Z",
        "approvals": [],
        "attempts": 0,
    }


def test_status_round_trips_through_json() -> None:
    """A status written and read back is equal (times, enums and aliases survive)."""
    current = status.PipelineStatus(
        observed_generation=3,
        conditions=(
            status.Condition(type="Ready", status="True", reason="Ok", last_transition_time=NOW),
        ),
        environments={
            "prod": status.EnvironmentStatus(
                revision="1.1",
                ready=True,
                ready_since=NOW,
                waiting_approval=status.WaitingApproval(revision="1.2"),
                promotion=status.PromotionRecord(
                    revision="1.2",
                    from_="staging",
                    phase=status.PromotionPhase.WAITING_APPROVAL,
                    requested_at=NOW,
                    approvals=(status.ApprovalRecord(user="alice", groups=("ops",), at=NOW),),
                ),
            )
        },
        history=(
            status.HistoryEntry(
                environment="prod", revision="1.1", phase=status.PromotionPhase.SUCCEEDED, at=NOW
            ),
        ),
    )
    assert status.PipelineStatus.model_validate(current.to_wire()) == current
    assert current.condition("Ready") is current.conditions[0]
    assert current.condition("Stalled") is None


def test_unknown_fields_are_ignored_and_models_are_frozen() -> None:
    """The API server prunes unknown fields anyway; models are values, never mutated."""
    ref = pipeline.LocalObjectReference.model_validate({"name": "s", "surprise": 1})
    assert ref.to_wire() == {"name": "s"}
    with pytest.raises(pydantic.ValidationError):
        ref.name = "other"  # type: ignore[misc]


def test_an_empty_pipeline_status_is_the_default() -> None:
    """A Pipeline without status reads as an empty status (the CRD defaults observedGeneration)."""
    subject = pipeline.Pipeline.from_wire(
        {
            "spec": {
                "appRef": {"apiVersion": "v1", "kind": "K", "name": "n"},
                "environments": [{"name": "dev", "targets": [{"namespace": "dev"}]}],
            }
        }
    )
    assert subject.status == status.PipelineStatus()
    assert (subject.api_version, subject.kind) == ("pipelines.weave.works/v1alpha1", "Pipeline")


def test_chosen_strategies() -> None:
    """chosen() lists the set strategies by wire name; a bare secretRef chooses none."""
    assert pipeline.Strategy().chosen() == []
    both = pipeline.Strategy(
        notification=pipeline.NotificationPromotion(),
        git_push=pipeline.GitPushPromotion(url="u", branch="b"),
    )
    assert both.chosen() == ["git-push", "notification"]


@pytest.mark.parametrize(
    ("phase", "finished"),
    [
        ("Pending", False),
        ("WaitingApproval", False),
        ("Approved", False),
        ("Promoting", False),
        ("Promoted", False),
        ("Rejected", True),
        ("Expired", True),
        ("Succeeded", True),
        ("Failed", True),
        ("Superseded", True),
    ],
)
def test_finished_phases(phase: str, finished: bool) -> None:
    """Nothing moves out of Rejected, Expired, Succeeded, Failed and Superseded."""
    assert status.PromotionPhase(phase).finished is finished


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("250ms", timedelta(milliseconds=250)),
        ("24h", timedelta(days=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    """Go-style durations as Flux accepts them."""
    assert durations.parse(text) == expected


@pytest.mark.parametrize("text", ["", "1d", "h", "1h 30m", "-1h", "1.h"])
def test_bad_durations_name_the_text(text: str) -> None:
    """Anything else is a ValueError quoting the text."""
    with pytest.raises(ValueError, match="is not a duration") as caught:
        durations.parse(text)
    assert f'"{text}"' in str(caught.value)
