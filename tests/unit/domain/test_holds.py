"""Operator actions: hold, unhold, promote a chosen revision (pin), roll back — and history."""

from __future__ import annotations

import pytest
from tests.unit.domain import builders as b

from ferryman.api import pipeline, status
from ferryman.domain import holds, wording

Reason = status.HoldReason
Phase = status.PromotionPhase


def ran_before() -> status.PipelineStatus:
    """prod ran 1.0 then 1.1 (runs 1.1 now); staging runs 1.2 and ran 1.1."""
    return status.PipelineStatus(
        environments={
            "dev": status.EnvironmentStatus(revision="1.3", ready=True),
            "staging": status.EnvironmentStatus(revision="1.2", ready=True),
            "prod": status.EnvironmentStatus(revision="1.1", ready=True),
        },
        history=(
            status.HistoryEntry(
                environment="staging", revision="1.2", phase=Phase.SUCCEEDED, at=b.NOW
            ),
            status.HistoryEntry(
                environment="prod", revision="1.1", phase=Phase.SUCCEEDED, at=b.NOW
            ),
            status.HistoryEntry(environment="prod", revision="1.0.9", phase=Phase.FAILED, at=b.NOW),
            status.HistoryEntry(
                environment="prod", revision="1.0", phase=Phase.SUCCEEDED, at=b.NOW
            ),
            status.HistoryEntry(environment="dev", revision="0.1", phase=Phase.SUCCEEDED, at=b.NOW),
        ),
    )


SPEC = b.make(promotion=b.notified()).spec


def test_hold_records_who_when_why_and_a_history_entry() -> None:
    """A hold names the operator and the comment, and lands in history as Held."""
    after = holds.hold(ran_before(), SPEC, "prod", user="alice", comment="incident 42", now=b.NOW)
    hold = after.environments["prod"].hold
    assert hold == status.HoldRecord(
        reason=Reason.HOLD, user="alice", at=b.NOW, comment="incident 42"
    )
    entry = after.history[0]
    assert (entry.action, entry.by, entry.comment, entry.phase) == (
        status.HistoryAction.HELD,
        "alice",
        "incident 42",
        None,
    )
    assert wording.history_label(entry) == "Held"


def test_holding_twice_changes_nothing_and_unhold_releases() -> None:
    """A second hold is a no-op; unhold clears it (and a second unhold is a no-op)."""
    held = holds.hold(ran_before(), SPEC, "prod", user="alice", comment="", now=b.NOW)
    assert (
        holds.hold(held, SPEC, "prod", user="bob", comment="again", now=b.later(minutes=1)) is held
    )
    released = holds.unhold(held, SPEC, "prod", user="bob", comment="fixed", now=b.later(hours=1))
    assert released.environments["prod"].hold is None
    assert released.history[0].action is status.HistoryAction.UNHELD
    assert released.history[0].comment == "fixed"
    assert holds.unhold(released, SPEC, "prod", user="bob", comment="", now=b.NOW) is released
    fresh = status.PipelineStatus()
    assert holds.unhold(fresh, SPEC, "prod", user="bob", comment="", now=b.NOW) is fresh


def test_pin_accepts_what_the_source_or_the_environment_ran() -> None:
    """Allowed: prod's and staging's current and succeeded revisions, newest first."""
    assert holds.allowed_revisions(ran_before(), SPEC, "prod") == ("1.2", "1.1", "1.0")
    pinned = holds.pin(
        ran_before(), SPEC, "prod", revision="1.0", user="alice", comment="known good", now=b.NOW
    )
    hold = pinned.environments["prod"].hold
    assert hold is not None and (hold.reason, hold.revision) == (Reason.PIN, "1.0")
    entry = pinned.history[0]
    assert (entry.action, entry.revision) == (status.HistoryAction.PINNED, "1.0")
    again = holds.pin(pinned, SPEC, "prod", revision="1.0", user="bob", comment="", now=b.NOW)
    assert again is pinned


def test_pin_refuses_an_unknown_revision_and_names_the_accepted_ones() -> None:
    """A revision nobody ran needs force; the refusal lists what is accepted."""
    with pytest.raises(holds.OperatorRefused) as refused:
        holds.pin(ran_before(), SPEC, "prod", revision="9.9", user="a", comment="", now=b.NOW)
    assert refused.value.refusal is holds.Refusal.UNKNOWN_REVISION
    assert "(accepted: 1.2, 1.1, 1.0)" in str(refused.value)
    forced = holds.pin(
        ran_before(), SPEC, "prod", revision="9.9", user="a", comment="", now=b.NOW, force=True
    )
    assert forced.environments["prod"].hold is not None
    with pytest.raises(holds.OperatorRefused, match="none yet"):
        holds.pin(
            status.PipelineStatus(), SPEC, "prod", revision="1", user="a", comment="", now=b.NOW
        )


@pytest.mark.parametrize("revision", ["", "1.0\n", "1.0\x1b[2J"])
def test_pin_refuses_a_revision_no_manifest_can_hold(revision: str) -> None:
    """Empty or unprintable revisions are refused before anything else."""
    with pytest.raises(holds.OperatorRefused) as refused:
        holds.pin(
            ran_before(),
            SPEC,
            "prod",
            revision=revision,
            user="a",
            comment="",
            now=b.NOW,
            force=True,
        )
    assert refused.value.refusal is holds.Refusal.BAD_REVISION


def test_rollback_pins_the_revision_the_environment_ran_before() -> None:
    """Rollback skips the running revision and failed attempts: prod goes back to 1.0."""
    rolled = holds.rollback(ran_before(), SPEC, "prod", user="alice", comment="bad", now=b.NOW)
    hold = rolled.environments["prod"].hold
    assert hold is not None and (hold.reason, hold.revision) == (Reason.ROLLBACK, "1.0")
    assert rolled.history[0].action is status.HistoryAction.ROLLED_BACK


def test_rollback_without_an_earlier_revision_is_refused() -> None:
    """Nothing in history before the current revision: a clear refusal."""
    with pytest.raises(holds.OperatorRefused) as refused:
        holds.rollback(status.PipelineStatus(), SPEC, "prod", user="a", comment="", now=b.NOW)
    assert refused.value.refusal is holds.Refusal.NO_EARLIER_REVISION
    assert "its current one" in str(refused.value)


def test_actions_need_an_environment_promotions_go_into() -> None:
    """Unknown environments, the first one and one without a strategy are refused."""
    observed = b.make("dev", "staging", b.environment("prod", promotion=pipeline.Promotion()))
    cases = [
        (SPEC, "qa", holds.Refusal.UNKNOWN_ENVIRONMENT),
        (SPEC, "dev", holds.Refusal.NOT_PROMOTABLE),
        (observed.spec, "prod", holds.Refusal.NOT_PROMOTABLE),
    ]
    for spec, env, refusal in cases:
        with pytest.raises(holds.OperatorRefused) as refused:
            holds.hold(status.PipelineStatus(), spec, env, user="a", comment="", now=b.NOW)
        assert refused.value.refusal is refusal
    with pytest.raises(holds.OperatorRefused):
        holds.unhold(status.PipelineStatus(), SPEC, "qa", user="a", comment="", now=b.NOW)


def test_history_labels_name_the_trigger_of_a_promotion() -> None:
    """A rollback's promotion is labelled with its trigger."""
    entry = status.HistoryEntry(
        environment="prod", revision="1.0", phase=Phase.SUCCEEDED, at=b.NOW, trigger=Reason.ROLLBACK
    )
    assert wording.history_label(entry) == "Promoted (rollback)"


def test_rollback_looks_past_a_promotion_that_replaced_the_same_revision() -> None:
    """A revision promoted over itself replaced nothing new: rollback goes further back."""
    same = status.HistoryEntry(
        environment="prod", revision="1.1", phase=Phase.SUCCEEDED, at=b.NOW, replaced="1.1"
    )
    first = status.HistoryEntry(
        environment="prod", revision="1.1", phase=Phase.SUCCEEDED, at=b.NOW, replaced="1.0"
    )
    current = status.PipelineStatus(
        environments={"prod": status.EnvironmentStatus(revision="1.1", ready=True)},
        history=(same, first),
    )
    assert holds.previous_revision(current, "prod") == "1.0"
