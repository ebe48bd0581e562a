"""The change approvers see, its digest, and what happens when the change to make differs."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.domain import builders as b

from ferryman.api import status
from ferryman.domain import changes, errors, outcomes

TOKEN = "default:podinfo:prod"
EDIT = changes.MarkerChange("prod/podinfo.yaml", 7, "6.0.0", "6.1.0")
Phase = status.PromotionPhase


def test_the_digest_covers_every_marker_in_any_order() -> None:
    """Same markers in another order: same digest; another old value: another digest."""
    other = changes.MarkerChange("prod/values.yaml", 3, '"6.0.0"', '"6.1.0"')
    assert changes.digest(TOKEN, [EDIT, other]) == changes.digest(TOKEN, [other, EDIT])
    edited = changes.MarkerChange("prod/podinfo.yaml", 7, "6.0.1", "6.1.0")
    assert changes.digest(TOKEN, [edited, other]) != changes.digest(TOKEN, [EDIT, other])
    assert changes.digest(TOKEN, [EDIT]) != changes.digest("default:podinfo:staging", [EDIT])


def test_the_summary_is_bounded_but_the_digest_is_whole() -> None:
    """At most four lines, values cut to 64 characters; markers counts them all."""
    many = [changes.MarkerChange(f"f{i}.yaml", 1, "a" * 100, "b") for i in range(6)]
    summary = changes.summary(TOKEN, many)
    assert (summary.markers, len(summary.lines)) == (6, status.MAX_CHANGE_LINES)
    assert len(summary.lines[0].old) == 64 and summary.lines[0].old.endswith("…")
    assert summary.digest == changes.digest(TOKEN, many)


def test_approvals_without_a_digest_bind_to_nothing() -> None:
    """Only an approval that saw another digest is void."""
    summary = changes.summary(TOKEN, [EDIT])
    given = status.ApprovalRecord(user="alice", at=b.NOW, digest=summary.digest)
    legacy = status.ApprovalRecord(user="bob", at=b.NOW)
    assert not changes.voided([given, legacy], summary)
    assert changes.voided([given], changes.summary(TOKEN, []))


def promoting() -> status.PipelineStatus:
    summary = changes.summary(TOKEN, [EDIT])
    record = b.record(
        "1.1",
        Phase.PROMOTING,
        approvals=["alice"],
        owner=b.ME,
        attempts=1,
        change=summary,
    )
    return b.with_records(prod=record)


def test_a_different_change_voids_the_approvals_and_waits_again() -> None:
    """ChangeDiffers: WaitingApproval again, no approvals, the new change shown, the reason kept;
    the next pass asks for approval again, saying why."""
    now = b.later(minutes=5)
    edited = changes.summary(
        TOKEN, [changes.MarkerChange("prod/podinfo.yaml", 7, "6.0.9", "6.1.0")]
    )
    error = errors.ChangeDiffers("the change differs", change=edited)
    after = outcomes.record_change_differs(
        promoting(), "prod", revision="1.1", error=error, now=now
    )
    record = after.environments["prod"].promotion
    assert record is not None
    assert (record.phase, record.approvals, record.change) == (Phase.WAITING_APPROVAL, (), edited)
    assert (record.approval_requested_at, record.owner, record.last_error) == (
        now,
        None,
        "the change differs",
    )
    assert after.environments["prod"].waiting_approval == status.WaitingApproval(revision="1.1")
    assert (
        outcomes.record_change_differs(after, "prod", revision="1.1", error=error, now=now) is after
    )

    subject = b.make(
        "dev",
        "staging",
        b.environment("prod", promotion=b.promotion(required=1)),
        promotion=b.notified(),
        current=after,
    )
    decision = b.run(subject, b.targets_of(subject, dev="1.1", staging="1.1", prod="1.0"), now=now)
    assert b.pending_message(decision) == (
        "prod: waiting for 1 more approval of 1.1 (the change differs)"
    )


def test_a_rendered_change_or_its_error_lands_in_the_waiting_record() -> None:
    """A preview result fills the record's change; an error schedules another try; a record
    that moved on or already shows a change is left alone."""
    pending = b.with_records(prod=b.record("1.1", Phase.PENDING))
    summary = changes.summary(TOKEN, [EDIT])
    shown = outcomes.record_preview(pending, "prod", revision="1.1", outcome=summary, now=b.NOW)
    record = shown.environments["prod"].promotion
    assert record is not None and record.change == summary
    again = outcomes.record_preview(shown, "prod", revision="1.1", outcome=summary, now=b.NOW)
    assert again is shown
    assert (
        outcomes.record_preview(pending, "prod", revision="1.2", outcome=summary, now=b.NOW)
        is pending
    )

    failed = outcomes.record_preview(
        pending, "prod", revision="1.1", outcome=errors.TemporaryError("HTTP 503"), now=b.NOW
    )
    record = failed.environments["prod"].promotion
    assert record is not None
    assert (record.last_error, record.next_attempt_at) == ("HTTP 503", b.later(seconds=20))
    hinted = outcomes.record_preview(
        pending,
        "prod",
        revision="1.1",
        outcome=errors.TemporaryError("slow down", delay=timedelta(minutes=2)),
        now=b.NOW,
    )
    record = hinted.environments["prod"].promotion
    assert record is not None and record.next_attempt_at == b.later(minutes=2)
    broken = outcomes.record_preview(
        pending, "prod", revision="1.1", outcome=errors.PermanentError("no marker"), now=b.NOW
    )
    record = broken.environments["prod"].promotion
    assert record is not None and record.next_attempt_at == b.later(minutes=5)
