"""Record edits keep the compat waitingApproval mirror and the bounded history in step."""

from __future__ import annotations

from tests.unit.domain import builders as b

from ferryman.api import status
from ferryman.domain import records

Phase = status.PromotionPhase


def test_replace_sets_and_clears_the_mirror() -> None:
    """waitingApproval mirrors phase == WaitingApproval, and only that."""
    waiting = records.replace(
        status.PipelineStatus(), "prod", b.record("1.1", Phase.WAITING_APPROVAL)
    )
    assert waiting.environments["prod"].waiting_approval == status.WaitingApproval(revision="1.1")
    promoting = records.replace(waiting, "prod", b.record("1.1", Phase.PROMOTING))
    assert promoting.environments["prod"].waiting_approval is None
    cleared = records.replace(promoting, "prod", None)
    assert cleared.environments["prod"].promotion is None


def test_finish_ends_the_record_and_prepends_history() -> None:
    """A finished record drops owner and retry time and is added to history once, newest first."""
    rec = b.record(
        "1.1",
        Phase.PROMOTED,
        owner=b.ME,
        next_attempt_at=b.later(minutes=1),
        result=status.PromotionResult(url="https://example.com/pr/1"),
    )
    older = status.HistoryEntry(
        environment="dev", revision="1.0", phase=Phase.SUCCEEDED, at=b.ago(days=1)
    )
    after = records.finish(
        status.PipelineStatus(history=(older,)), "prod", rec, Phase.SUCCEEDED, b.NOW, by="alice"
    )
    done = after.environments["prod"].promotion
    assert done is not None
    assert (done.phase, done.finished_at, done.owner, done.next_attempt_at) == (
        Phase.SUCCEEDED,
        b.NOW,
        None,
        None,
    )
    assert after.history == (
        status.HistoryEntry(
            environment="prod",
            revision="1.1",
            phase=Phase.SUCCEEDED,
            at=b.NOW,
            by="alice",
            url="https://example.com/pr/1",
        ),
        older,
    )


def test_history_keeps_the_newest_twenty() -> None:
    """The oldest entry falls off once history is full."""
    full = tuple(
        status.HistoryEntry(environment="dev", revision=str(i), phase=Phase.SUCCEEDED, at=b.NOW)
        for i in range(status.MAX_HISTORY)
    )
    after = records.finish(
        status.PipelineStatus(history=full),
        "prod",
        b.record("9", Phase.PENDING),
        Phase.SUPERSEDED,
        b.NOW,
    )
    assert len(after.history) == status.MAX_HISTORY
    assert [h.revision for h in after.history[:2]] == ["9", "0"]
    assert after.history[-1].revision == str(status.MAX_HISTORY - 2)
    assert after.history[0].url is None


def test_last_approver() -> None:
    """The user whose approval came last, or None without approvals."""
    assert records.last_approver(b.record("1", Phase.APPROVED, approvals=["a", "b"])) == "b"
    assert records.last_approver(b.record("1", Phase.PENDING)) is None


def test_history_keeps_the_pushed_commit_where_there_is_no_url() -> None:
    """A git-push promotion's commit stays in its history line (the record is replaced later);
    a pull request's line keeps its URL and not the commit as well."""
    pushed = b.record("1.1", Phase.PROMOTED, result=status.PromotionResult(commit="ab" * 20))
    entry = records.history_entry("prod", pushed, b.NOW, None)
    assert (entry.commit, entry.url) == ("ab" * 20, None)
    pull = b.record(
        "1.1",
        Phase.PROMOTED,
        result=status.PromotionResult(url="https://example.com/pr/1", commit="cd" * 20),
    )
    entry = records.history_entry("prod", pull, b.NOW, None)
    assert (entry.commit, entry.url) == (None, "https://example.com/pr/1")
