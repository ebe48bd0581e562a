"""The timeline and the arrival figures, from status alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.unit.domain import builders as b

from ferryman.api import status
from ferryman.domain import timeline

Phase = status.PromotionPhase
K = timeline.Kind
T0 = b.ago(hours=1)
ENVS = ("dev", "staging", "prod")


def at(minutes: float) -> object:
    return T0 + timedelta(minutes=minutes)


def done(env: str, revision: str, minutes: float, **fields: object) -> status.HistoryEntry:
    return status.HistoryEntry.model_validate(
        {"environment": env, "revision": revision, "phase": Phase.SUCCEEDED, "at": at(minutes)}
        | fields
    )


STORY = status.PipelineStatus(
    environments={
        "dev": status.EnvironmentStatus(revision="6.2.0", ready=True, ready_since=at(10)),
        "staging": status.EnvironmentStatus(revision="6.2.0", ready=True, ready_since=at(11)),
        "prod": status.EnvironmentStatus(revision="6.2.0", ready=True, ready_since=at(20)),
    },
    first_seen=(
        status.FirstSeen(revision="6.2.0", at=at(10)),
        status.FirstSeen(revision="6.1.0", at=at(0)),
    ),
    history=(
        status.HistoryEntry(
            environment="prod", revision="", action=status.HistoryAction.HELD, at=at(21), by="bob"
        ),
        done(
            "prod",
            "6.2.0",
            20,
            approvalRequestedAt=at(12),
            approvedAt=at(15),
            startedAt=at(15),
            replaced="6.1.0",
            by="alice",
        ),
        done("staging", "6.2.0", 11, startedAt=at(10)),
        done(
            "prod",
            "6.1.0",
            5,
            approvalRequestedAt=at(2),
            approvedAt=at(4),
            startedAt=at(4),
            replaced="6.0.0",
            by="alice",
        ),
        done("staging", "6.1.0", 1, startedAt=at(0)),
    ),
)


def spans(
    line: timeline.Timeline, env: str, kind: timeline.Kind
) -> list[tuple[str, object, object]]:
    return [
        (s.revision, s.start, s.end) for s in line.spans if (s.environment, s.kind) == (env, kind)
    ]


def test_running_spans_per_environment() -> None:
    """dev from its first-seen times, the others from their arrivals; what prod ran before its
    first arrival from the start of the chart; the current revision open-ended."""
    line = timeline.build(ENVS, STORY)
    assert (line.start, line.end) == (at(0), at(21))
    assert spans(line, "dev", K.RUNNING) == [("6.1.0", at(0), at(10)), ("6.2.0", at(10), None)]
    assert spans(line, "staging", K.RUNNING) == [
        ("6.1.0", at(1), at(11)),
        ("6.2.0", at(11), None),
    ]
    assert spans(line, "prod", K.RUNNING) == [
        ("6.0.0", at(0), at(5)),
        ("6.1.0", at(5), at(20)),
        ("6.2.0", at(20), None),
    ]


def test_where_promotions_waited_and_how_long_they_took() -> None:
    """Approval spans from request to quorum; promoting spans from start to arrival."""
    line = timeline.build(ENVS, STORY)
    assert spans(line, "prod", K.APPROVAL) == [("6.1.0", at(2), at(4)), ("6.2.0", at(12), at(15))]
    assert spans(line, "prod", K.PROMOTING) == [("6.1.0", at(4), at(5)), ("6.2.0", at(15), at(20))]
    assert {s.outcome for s in line.spans if s.kind is not K.RUNNING} == {"Succeeded"}


def test_arrivals_carry_lead_time_approval_wait_and_duration() -> None:
    """The figures ``history --stats`` and the metrics share."""
    found = {(a.environment, a.revision): a for a in timeline.arrivals(STORY)}
    prod = found[("prod", "6.2.0")]
    assert (prod.lead_time, prod.approval_wait, prod.promotion, prod.by) == (
        timedelta(minutes=10),
        timedelta(minutes=3),
        timedelta(minutes=5),
        "alice",
    )
    assert found[("staging", "6.1.0")].lead_time == timedelta(minutes=1)
    assert [a.revision for a in timeline.arrivals(STORY)] == ["6.1.0", "6.1.0", "6.2.0", "6.2.0"]
    assert timeline.sentence(prod, "dev") == (
        "6.2.0 reached prod 10 min after dev first ran it "
        "(3 min waiting for approval; the promotion took 5 min)."
    )


def test_a_rejection_and_an_unknown_start_in_words() -> None:
    """A rejected promotion says how long it waited; an arrival without figures says only that."""
    rejected = status.HistoryEntry(
        environment="prod",
        revision="6.3.0",
        phase=Phase.REJECTED,
        at=at(30),
        approval_requested_at=at(25),
    )
    current = status.PipelineStatus(history=(rejected, done("prod", "5.0.0", 1)))
    first, second = timeline.arrivals(current)
    assert timeline.sentence(first, "dev") == "5.0.0 reached prod."
    assert (second.approval_wait, second.lead_time, second.promotion) == (
        timedelta(minutes=5),
        None,
        None,
    )
    assert timeline.sentence(second, "dev") == (
        "The promotion of 6.3.0 into prod ended Rejected after waiting 5 min for approval."
    )
    superseded = status.HistoryEntry(
        environment="prod", revision="6.4.0", phase=Phase.SUPERSEDED, at=at(31)
    )
    last = timeline.arrivals(status.PipelineStatus(history=(superseded,)))[0]
    assert timeline.sentence(last, "dev") == "The promotion of 6.4.0 into prod ended Superseded."
    line = timeline.build(ENVS, current)
    assert spans(line, "prod", K.APPROVAL) == [("6.3.0", at(25), at(30))]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(
            b.record("6.3.0", Phase.WAITING_APPROVAL, approval_requested_at=at(25)),
            [(K.APPROVAL, at(25), None)],
            id="waiting for approval: open",
        ),
        pytest.param(
            b.record(
                "6.3.0",
                Phase.PROMOTING,
                approvals=["alice"],
                approval_requested_at=at(25),
                started_at=at(28),
            ),
            [(K.APPROVAL, at(25), b.ago(minutes=5)), (K.PROMOTING, at(28), None)],
            id="approved and promoting: the wait closed at the approval",
        ),
        pytest.param(
            b.record("6.3.0", Phase.PROMOTED, started_at=at(28)),
            [(K.PROMOTING, at(28), None)],
            id="promoted without approval",
        ),
        pytest.param(
            b.record("6.3.0", Phase.APPROVED, approval_requested_at=at(25), started_at=at(28)),
            [(K.APPROVAL, at(25), at(28))],
            id="approved, not yet promoting (ChangeDiffers re-approved)",
        ),
        pytest.param(b.record("6.3.0", Phase.PENDING), [], id="pending: nothing yet"),
        pytest.param(
            b.record("6.3.0", Phase.FAILED), [], id="finished: its history entry shows it"
        ),
    ],
)
def test_a_promotion_under_way(
    record: status.PromotionRecord, expected: list[tuple[object, object, object]]
) -> None:
    """Open spans of the record into prod."""
    current = b.with_records(STORY, prod=record)
    line = timeline.build(ENVS, current)
    found = [
        (s.kind, s.start, s.end)
        for s in line.spans
        if s.environment == "prod" and s.revision == "6.3.0"
    ]
    assert found == expected


def test_nothing_to_draw() -> None:
    """A new pipeline: no spans, no bounds; an environment with a revision but no history
    runs it from the start."""
    assert timeline.build(ENVS, status.PipelineStatus()) == timeline.Timeline(ENVS, (), None, None)
    assert timeline.build((), STORY).spans == ()
    fresh = status.PipelineStatus(
        environments={
            "dev": status.EnvironmentStatus(revision="1.0", ready=True, ready_since=at(0)),
            "prod": status.EnvironmentStatus(revision="0.9"),
        }
    )
    line = timeline.build(("dev", "staging", "prod"), fresh)
    assert [(s.environment, s.revision, s.start) for s in line.spans] == [("prod", "0.9", at(0))]


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (200, "3 min 20 s"),
        (3600 + 5, "1 h"),
        (2 * 3600 + 300, "2 h 5 min"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
        (-5, "0 s"),
    ],
)
def test_durations_in_words(seconds: int, said: str) -> None:
    """Two largest units, no zeros."""
    assert timeline.words(timedelta(seconds=seconds)) == said


def test_median() -> None:
    """Of durations; none without values."""
    assert timeline.median([]) is None
    values = [timedelta(seconds=s) for s in (10, 30, 20)]
    assert timeline.median(values) == timedelta(seconds=20)
