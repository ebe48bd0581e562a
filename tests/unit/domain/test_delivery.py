"""Delivery figures: first-seen times kept in status, and what each status write measured once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.unit.domain import builders as b

from ferryman.api import pipeline, status
from ferryman.domain import approvals, delivery, holds, records

Phase = status.PromotionPhase
D, E = delivery.Duration, delivery.Ended
F, Out = delivery.Figure, delivery.Outcome
COMMIT = "450796ddb2ab6724ee1cc32a4be56da032d1cca0"


def env(
    revision: str, *, ready: bool = True, since_minutes: float = 30
) -> status.EnvironmentStatus:
    return status.EnvironmentStatus(
        revision=revision, ready=ready, ready_since=b.ago(minutes=since_minutes) if ready else None
    )


def seen(*pairs: tuple[str, float]) -> tuple[status.FirstSeen, ...]:
    """First-seen entries, newest first: ``(revision, minutes ago)``."""
    return tuple(status.FirstSeen(revision=r, at=b.ago(minutes=m)) for r, m in pairs)


# ---------------------------------------------------------------- first seen


def test_the_first_environment_running_a_new_revision_ready_is_noted_at_its_streak_start() -> None:
    """The entry's time is ``readySince``: when dev started running it ready."""
    current = status.PipelineStatus(environments={"dev": env("1.1")})
    noted = delivery.note_first_seen(current, "dev", b.NOW)
    assert noted.first_seen == seen(("1.1", 30))
    assert delivery.first_seen(noted, "1.1") == b.ago(minutes=30)
    assert delivery.note_first_seen(noted, "dev", b.later(hours=1)) == noted


def test_a_revision_is_noted_once_whatever_its_spelling() -> None:
    """``main@sha1:X`` and ``sha1:X`` are one commit: first seen once."""
    current = status.PipelineStatus(
        environments={"dev": env(f"sha1:{COMMIT}")}, first_seen=seen((f"main@sha1:{COMMIT}", 90))
    )
    assert delivery.note_first_seen(current, "dev", b.NOW) == current
    assert delivery.first_seen(current, f"sha1:{COMMIT}") == b.ago(minutes=90)


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(None, id="no status for the environment yet"),
        pytest.param(env("1.1", ready=False), id="not ready"),
        pytest.param(status.EnvironmentStatus(ready=True), id="ready without a revision"),
    ],
)
def test_nothing_is_noted_before_the_first_environment_runs_a_revision_ready(
    first: status.EnvironmentStatus | None,
) -> None:
    """Lead times start only when dev runs a revision ready."""
    current = status.PipelineStatus(environments={"dev": first} if first else {})
    assert delivery.note_first_seen(current, "dev", b.NOW) == current


def test_without_a_streak_start_now_is_used() -> None:
    """A ready environment whose streak start is unknown is noted at ``now``."""
    current = status.PipelineStatus(
        environments={"dev": status.EnvironmentStatus(revision="1.1", ready=True)}
    )
    assert delivery.note_first_seen(current, "dev", b.NOW).first_seen == (
        status.FirstSeen(revision="1.1", at=b.NOW),
    )


def test_first_seen_is_bounded_and_keeps_revisions_still_in_flight() -> None:
    """Past the bound, revisions no environment runs and no open record promotes go first."""
    full = seen(*[(f"1.{i}", 10 * (10 - i)) for i in range(9, 9 - status.MAX_FIRST_SEEN, -1)])
    oldest = full[-1].revision  # 1.4, run by prod: still in flight
    current = status.PipelineStatus(
        environments={
            "dev": env("2.0"),
            "staging": env("1.5").model_copy(
                update={"promotion": b.record("1.9", Phase.PROMOTING, source="dev")}
            ),
            "prod": env(oldest),
        },
        first_seen=full,
    )
    noted = delivery.note_first_seen(current, "dev", b.NOW)
    kept = [entry.revision for entry in noted.first_seen]
    assert len(kept) == status.MAX_FIRST_SEEN
    assert kept[0] == "2.0"
    assert {"1.9", "1.5", oldest} <= set(kept)  # in flight
    assert "1.6" not in kept  # the oldest revision nobody runs went first


def test_when_everything_is_in_flight_the_oldest_goes() -> None:
    """The bound holds even when every entry is still in flight."""
    full = seen(*[(f"1.{i}", 10 * (10 - i)) for i in range(6, 6 - status.MAX_FIRST_SEEN, -1)])
    environments = {f"e{i}": env(entry.revision) for i, entry in enumerate(full)}
    current = status.PipelineStatus(
        environments={**environments, "dev": env("2.0")}, first_seen=full
    )
    noted = delivery.note_first_seen(current, "dev", b.NOW)
    assert [e.revision for e in noted.first_seen] == ["2.0", *[e.revision for e in full[:-1]]]


# ---------------------------------------------------------------- what a write measured


def entry(
    environment: str,
    revision: str,
    phase: status.PromotionPhase,
    *,
    at_minutes: float = 0,
    **fields: object,
) -> status.HistoryEntry:
    return status.HistoryEntry.model_validate(
        {
            "environment": environment,
            "revision": revision,
            "phase": phase,
            "at": b.ago(minutes=at_minutes),
            **fields,
        }
    )


def test_a_success_measures_outcome_lead_time_and_duration() -> None:
    """Lead time from dev's first run; duration from the first Promoting intent."""
    before = status.PipelineStatus(first_seen=seen(("1.1", 50)))
    done = entry("prod", "1.1", Phase.SUCCEEDED, started_at=b.ago(minutes=4))
    after = records.with_history(before, done)
    assert delivery.measures(before, after) == (
        E("prod", Out.SUCCEEDED),
        D(F.LEAD_TIME, "prod", 50 * 60),
        D(F.PROMOTION_DURATION, "prod", 4 * 60),
    )
    assert delivery.measures(after, after) == ()  # deciding again measures nothing


def test_a_success_without_a_first_seen_time_or_a_start_is_only_counted() -> None:
    """A revision status no longer knows (or that arrived without a promotion) has no lead time."""
    before = status.PipelineStatus()
    after = records.with_history(before, entry("prod", "1.1", Phase.SUCCEEDED))
    assert delivery.measures(before, after) == (E("prod", Out.SUCCEEDED),)


def test_a_clock_that_went_back_measures_no_duration() -> None:
    """A start after the end (another replica's clock) is not a negative duration."""
    before = status.PipelineStatus(first_seen=seen(("1.1", -5)))
    after = records.with_history(before, entry("prod", "1.1", Phase.SUCCEEDED))
    assert delivery.measures(before, after) == (E("prod", Out.SUCCEEDED),)


@pytest.mark.parametrize(
    ("phase", "outcome"),
    [
        (Phase.FAILED, Out.FAILED),
        (Phase.EXPIRED, Out.EXPIRED),
        (Phase.SUPERSEDED, Out.SUPERSEDED),
    ],
)
def test_other_ends_are_counted(phase: status.PromotionPhase, outcome: delivery.Outcome) -> None:
    """Failed, expired and superseded promotions are outcomes without durations."""
    before = status.PipelineStatus()
    after = records.with_history(before, entry("prod", "1.1", phase, started_at=b.ago(hours=1)))
    assert delivery.measures(before, after) == (E("prod", outcome),)


def test_operator_actions_other_than_a_rollback_measure_nothing() -> None:
    """Held, Unheld and Pinned are no outcomes; RolledBack is."""
    before = status.PipelineStatus()
    actions = [
        status.HistoryEntry(environment="prod", revision="", action=action, at=b.NOW)
        for action in status.HistoryAction
    ]
    after = before
    for action_entry in actions:
        after = records.with_history(after, action_entry)
    assert delivery.measures(before, after) == (E("prod", Out.ROLLED_BACK),)


def test_several_entries_of_one_write_are_measured_oldest_first() -> None:
    """One pass may supersede one record and finish another."""
    old = entry("prod", "0.9", Phase.SUCCEEDED, at_minutes=60)
    before = status.PipelineStatus(history=(old,))
    first = entry("staging", "1.0", Phase.SUPERSEDED)
    second = entry("staging", "1.1", Phase.SUCCEEDED)
    after = records.with_history(records.with_history(before, first), second)
    assert delivery.measures(before, after) == (
        E("staging", Out.SUPERSEDED),
        E("staging", Out.SUCCEEDED),
    )


def test_a_history_rewritten_by_hand_counts_only_later_entries() -> None:
    """When the newest entry read is gone, only entries after its time are new."""
    before = status.PipelineStatus(history=(entry("prod", "1.0", Phase.SUCCEEDED, at_minutes=30),))
    after = status.PipelineStatus(
        history=(
            entry("prod", "1.1", Phase.SUCCEEDED, at_minutes=1),
            entry("prod", "0.9", Phase.SUCCEEDED, at_minutes=300),
        )
    )
    assert delivery.measures(before, after) == (E("prod", Out.SUCCEEDED),)


# ---------------------------------------------------------------- approvals

RULE = pipeline.ApprovalPolicy(required=1)
ALICE = approvals.Approver("alice", ("release-managers",))


def waiting() -> status.PipelineStatus:
    record = b.record("1.1", Phase.WAITING_APPROVAL, approval_requested_at=b.ago(minutes=20))
    return b.with_records(prod=record)


def test_a_rejection_measures_the_wait_and_the_outcome_once() -> None:
    """The approval API's write: Rejected, and how long the request waited."""
    before = waiting()
    after = approvals.reject(
        before, "prod", policy=RULE, approver=ALICE, revision="1.1", comment="no", now=b.NOW
    )
    assert delivery.measures(before, after) == (
        E("prod", Out.REJECTED),
        D(F.APPROVAL_WAIT, "prod", 20 * 60),
    )
    assert delivery.measures(after, after) == ()


def test_the_quorum_measures_the_wait_when_the_record_moves_on() -> None:
    """An approval alone measures nothing; the controller's pass that promotes does."""
    before = waiting()
    approved = approvals.approve(
        before,
        "prod",
        policy=RULE,
        approver=ALICE,
        revision="1.1",
        comment="",
        now=b.ago(minutes=5),
    )
    assert delivery.measures(before, approved) == ()
    record = approved.environments["prod"].promotion
    assert record is not None
    promoting = records.replace(
        approved, "prod", record.model_copy(update={"phase": Phase.PROMOTING})
    )
    assert delivery.measures(approved, promoting) == (D(F.APPROVAL_WAIT, "prod", 15 * 60),)
    assert delivery.measures(promoting, promoting) == ()


@pytest.mark.parametrize(
    ("change", "requested"),
    [
        pytest.param({"revision": "1.2"}, True, id="another record"),
        pytest.param({"phase": Phase.SUPERSEDED}, True, id="superseded, not decided"),
        pytest.param({"approvals": ()}, True, id="no approval"),
        pytest.param({}, False, id="no request time"),
    ],
)
def test_leaving_waiting_approval_without_a_quorum_measures_no_wait(
    change: dict[str, object], requested: bool
) -> None:
    """Only the same record reaching Approved/Promoting with approvals is a decision."""
    base = b.record(
        "1.1",
        Phase.WAITING_APPROVAL,
        approvals=["alice"],
        approval_requested_at=b.ago(minutes=20) if requested else None,
    )
    before = b.with_records(prod=base)
    after_record = base.model_copy(update={"phase": Phase.PROMOTING, **change})
    after = b.with_records(prod=after_record)
    assert delivery.measures(before, after) == ()


def test_a_record_that_was_not_waiting_measures_no_wait() -> None:
    """Promoting again (a retry) or a new environment is no approval decision."""
    promoting = b.with_records(prod=b.record("1.1", Phase.PROMOTING, approvals=["alice"]))
    assert delivery.measures(status.PipelineStatus(), promoting) == ()
    assert delivery.measures(promoting, promoting) == ()


def test_a_rollback_by_the_operator_api_is_counted_once() -> None:
    """``holds.rollback`` writes a RolledBack entry: one outcome, in the writing process."""
    subject = b.make(promotion=b.promotion())
    ran = status.PipelineStatus(
        environments={"prod": env("1.1")},
        history=(entry("prod", "1.1", Phase.SUCCEEDED, replaced="1.0"),),
    )
    after = holds.rollback(ran, subject.spec, "prod", user="alice", comment="", now=b.NOW)
    assert delivery.measures(ran, after) == (E("prod", Out.ROLLED_BACK),)


# ---------------------------------------------------------------- through decide()


def test_a_promotion_through_decide_is_measured_once_per_transition() -> None:
    """dev 1.1 → staging: the pass that sees staging run 1.1 measures lead time and duration;
    the next pass, on the written status, measures nothing."""
    subject = b.make(promotion=b.promotion())
    first = b.run(subject, b.targets_of(subject, dev="1.1", staging="1.0", prod="1.0"))
    assert first.status.first_seen == (status.FirstSeen(revision="1.1", at=b.NOW),)
    assert delivery.measures(subject.status, first.status) == ()
    subject = subject.model_copy(update={"status": first.status})
    later = b.later(minutes=3)
    arrived = b.run(subject, b.targets_of(subject, dev="1.1", staging="1.1", prod="1.0"), now=later)
    assert delivery.measures(subject.status, arrived.status)[:3] == (
        E("staging", Out.SUCCEEDED),
        D(F.LEAD_TIME, "staging", 180),
        D(F.PROMOTION_DURATION, "staging", 180),
    )
    subject = subject.model_copy(update={"status": arrived.status})
    again = b.run(subject, b.targets_of(subject, dev="1.1", staging="1.1", prod="1.0"), now=later)
    assert delivery.measures(subject.status, again.status) == ()
    assert timedelta(seconds=180) == later - b.NOW
