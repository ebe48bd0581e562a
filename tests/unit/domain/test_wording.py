"""One vocabulary for people: phases, results, health and what is in flight, as every surface
(list, page, CLI, docs) says them."""

from __future__ import annotations

import pytest
from tests.unit.domain import builders as b

from ferryman.api import status
from ferryman.domain import wording

Phase = status.PromotionPhase


def test_every_phase_has_words_and_none_is_camel_case() -> None:
    """``WaitingApproval`` is "Waiting for approval"; no label is a raw machine word."""
    for phase in Phase:
        label = wording.phase_label(phase)
        assert label[0].isupper() and not any(c.isupper() for c in label[1:]), label
    assert wording.phase_label(Phase.WAITING_APPROVAL) == "Waiting for approval"


def test_a_finished_promotion_reads_as_done_not_running() -> None:
    """Staging showed "Succeeded 6.2.0 / running"; it now says "Promoted"."""
    assert wording.phase_label(Phase.SUCCEEDED) == "Promoted"
    assert wording.phase_label(Phase.PROMOTED) == "Rolling out"


@pytest.mark.parametrize(
    ("entry", "label"),
    [
        ({"phase": Phase.SUCCEEDED}, "Promoted"),
        ({"phase": Phase.SUCCEEDED, "trigger": status.HoldReason.ROLLBACK}, "Promoted (rollback)"),
        ({"action": status.HistoryAction.ROLLED_BACK}, "Rolled back"),
        ({"action": status.HistoryAction.HELD}, "Held"),
        ({}, ""),
    ],
    ids=["promotion", "rollback promotion", "operator action", "hold", "neither"],
)
def test_history_results_in_words(entry: dict[str, object], label: str) -> None:
    """History entries say what happened in the same words as the page's phases."""
    found = status.HistoryEntry.model_validate(
        {"environment": "prod", "revision": "6.2.0", "at": b.NOW, **entry}
    )
    assert wording.history_label(found) == label


def test_health_says_healthy_or_why_not() -> None:
    """ "Health" everywhere: healthy, not healthy (with the targets' errors), no data yet."""
    ref = {"apiVersion": "v1", "kind": "HelmRelease", "name": "podinfo"}
    ok = status.TargetStatus.model_validate({"clusterAppRef": ref, "ready": True, "revision": "1"})
    broken = ok.model_copy(update={"ready": False, "error": "ImagePullBackOff"})
    quiet = ok.model_copy(update={"ready": False})
    assert wording.health(None) == "no data yet"
    assert wording.health(status.EnvironmentStatus()) == "no data yet"
    assert wording.health(status.EnvironmentStatus(targets=(ok,), ready=True)) == "healthy"
    assert (
        wording.health(status.EnvironmentStatus(targets=(broken,)))
        == "not healthy: ImagePullBackOff"
    )
    assert wording.health(status.EnvironmentStatus(targets=(quiet,))) == "not healthy"


def test_in_flight_names_the_revision_and_where_it_stands() -> None:
    """The arrow between two environments: "6.2.0 waiting for approval"; nothing when idle."""
    assert wording.in_flight(None) == ""
    assert wording.in_flight(b.record("6.2.0", Phase.SUCCEEDED)) == ""
    waiting = b.record("6.2.0", Phase.WAITING_APPROVAL)
    assert wording.in_flight(waiting) == "6.2.0 waiting for approval"
    assert wording.in_flight(b.record("6.2.0", Phase.PROMOTING)) == "6.2.0 promoting"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "0 s"), (45, "45 s"), (600, "10 min"), (5400, "1 h 30 min"), (90061, "1 d 1 h 1 min 1 s")],
)
def test_durations_in_words(seconds: int, words: str) -> None:
    """Settings like minReadySeconds read as people say them."""
    assert wording.duration(seconds) == words


def test_absolute_times_say_utc() -> None:
    """Absolute times name their zone."""
    assert wording.utc(b.NOW) == "2026-12-01 10:00:00 UTC"
