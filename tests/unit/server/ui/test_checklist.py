"""The gate checklist: every gate that applies to an environment, each passed, waiting or blocked,
with the instant the browser counts down to (never a countdown in the text)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pytest
from tests.unit.domain import builders as b

from ferryman.api import pipeline, status
from ferryman.server.ui import checklist

Phase = status.PromotionPhase
COUNTDOWN = re.compile(r"\bin \d|\d ?(s|min|h) ago")
Mark = checklist.Mark
STAGING_READY = status.EnvironmentStatus(revision="6.2.0", ready=True, ready_since=b.ago(minutes=2))


def prod_status(
    record: status.PromotionRecord | None,
    *,
    source: status.EnvironmentStatus = STAGING_READY,
    hold: status.HoldRecord | None = None,
) -> status.PipelineStatus:
    return status.PipelineStatus(
        environments={
            "staging": source,
            "prod": status.EnvironmentStatus(
                revision="6.1.0", ready=True, promotion=record, hold=hold
            ),
        }
    )


def spec(**rules: object) -> pipeline.PipelineSpec:
    return b.make("staging", b.environment("prod", promotion=b.promotion(**rules))).spec  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    rules: dict[str, object]
    current: status.PipelineStatus
    marks: dict[str, Mark]
    moments: dict[str, datetime]  # rows whose instant is shown (countdown or time past)


CASES = {
    "soak counts down to ready-since plus minReadySeconds": Case(
        {"soak": 600},
        prod_status(b.record("6.2.0", Phase.PENDING)),
        {"soak": Mark.WAITING},
        {"soak": b.later(minutes=8)},
    ),
    "soak passed once the source stayed healthy long enough": Case(
        {"soak": 60},
        prod_status(b.record("6.2.0", Phase.PENDING)),
        {"soak": Mark.PASSED},
        {"soak": b.ago(minutes=2)},
    ),
    "soak waits while the source is not healthy": Case(
        {"soak": 60},
        prod_status(
            b.record("6.2.0", Phase.PENDING), source=status.EnvironmentStatus(revision="6.2.0")
        ),
        {"soak": Mark.WAITING},
        {},
    ),
    "prod waits for two approvals from release managers, expiring in 71 h": Case(
        {"required": 2, "groups": ["release-managers"], "expires": "72h", "soak": 60},
        prod_status(
            b.record("6.2.0", Phase.WAITING_APPROVAL, approvals=[("alice", ["release-managers"])])
        ),
        {"soak": Mark.PASSED, "approval": Mark.WAITING, "expiry": Mark.WAITING},
        {"approval": b.ago(hours=1), "expiry": b.later(hours=71)},
    ),
    "a rejection blocks the approval row": Case(
        {"required": 1},
        prod_status(
            b.record(
                "6.2.0",
                Phase.REJECTED,
                rejection=status.RejectionRecord(user="bob", at=b.ago(minutes=3)),
            )
        ),
        {"approval": Mark.BLOCKED},
        {"approval": b.ago(minutes=3)},
    ),
    "an expired request blocks the expiry row": Case(
        {"required": 1, "expires": "1h"},
        prod_status(b.record("6.2.0", Phase.EXPIRED, approval_requested_at=b.ago(hours=2))),
        {"approval": Mark.BLOCKED, "expiry": Mark.BLOCKED},
        {"expiry": b.ago(hours=1)},
    ),
    "a deny window counts down to its end": Case(
        {"windows": [b.window("deny", "0 9 * * *", "2h")]},
        prod_status(b.record("6.2.0", Phase.PENDING)),
        {"windows": Mark.WAITING},
        {"windows": b.later(hours=1)},
    ),
    "an open allow window counts down to its close": Case(
        {"windows": [b.window("allow", "0 9 * * *", "8h")]},
        prod_status(b.record("6.2.0", Phase.PENDING)),
        {"windows": Mark.PASSED},
        {"windows": b.later(hours=7)},
    ),
    "a failed attempt shows the next retry": Case(
        {},
        prod_status(
            b.record(
                "6.2.0",
                Phase.PROMOTING,
                attempts=2,
                last_error="git push refused",
                next_attempt_at=b.later(seconds=40),
            )
        ),
        {"promotion": Mark.WAITING},
        {"promotion": b.later(seconds=40)},
    ),
    "retries exhausted block the promotion": Case(
        {"required": 1},
        prod_status(b.record("6.2.0", Phase.FAILED, attempts=10, last_error="denied")),
        {"approval": Mark.PASSED, "promotion": Mark.BLOCKED},
        {},
    ),
    "a promoted revision passed every gate": Case(
        {
            "soak": 60,
            "required": 1,
            "expires": "1h",
            "windows": [b.window("deny", "0 9 * * *", "2h")],
        },
        prod_status(b.record("6.2.0", Phase.SUCCEEDED, finished_at=b.ago(minutes=1))),
        {
            "soak": Mark.PASSED,
            "windows": Mark.PASSED,
            "approval": Mark.PASSED,
            "expiry": Mark.PASSED,
            "promotion": Mark.PASSED,
        },
        {"promotion": b.ago(minutes=1)},
    ),
    "nothing in flight: the policy is shown before anyone acts": Case(
        {
            "soak": 60,
            "required": 2,
            "users": ["carol"],
            "groups": ["release-managers"],
            "expires": "72h",
        },
        prod_status(None),
        {"soak": Mark.IDLE, "approval": Mark.IDLE, "expiry": Mark.IDLE},
        {},
    ),
    "an operator's hold blocks": Case(
        {},
        prod_status(
            b.record("6.2.0", Phase.PENDING),
            hold=status.HoldRecord(
                reason=status.HoldReason.HOLD, user="alice", at=b.ago(minutes=1)
            ),
        ),
        {"hold": Mark.BLOCKED},
        {"hold": b.ago(minutes=1)},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_checklist_rows(case: Case) -> None:
    """Each scenario's rows have the expected marks and instants, and no row prints a countdown."""
    found = checklist.checklist(spec(**case.rules), 1, case.current, b.NOW)
    assert found is not None
    rows = {row.key: row for row in found.rows}
    assert {key: rows[key].mark for key in case.marks} == case.marks
    shown = {key: row.moment.at for key, row in rows.items() if row.moment is not None}
    assert {key: shown[key] for key in case.moments} == case.moments
    for row in rows.values():
        assert row.label and row.symbol  # a mark is never colour alone
        assert not COUNTDOWN.search(row.detail), row.detail


def test_a_countdown_is_an_instant_ahead_and_a_past_time_is_not() -> None:
    """Moments say which way the browser counts, and carry ISO and absolute UTC text."""
    found = checklist.checklist(
        spec(soak=600), 1, prod_status(b.record("6.2.0", Phase.PENDING)), b.NOW
    )
    assert found is not None
    soak = found.rows[0]
    assert soak.moment is not None and soak.moment.ahead
    assert (soak.moment.iso, soak.moment.text) == (
        "2026-12-01T10:08:00Z",
        "2026-12-01 10:08:00 UTC",
    )
    assert soak.detail == "staging must stay healthy 10 min; passes"


def test_the_approval_row_names_who_may_approve_and_how_many() -> None:
    """ "1 of 2 approvals" and "carol or members of release-managers", before and during."""
    rules = {
        "required": 2,
        "users": ["carol"],
        "groups": ["release-managers"],
        "self_approval": True,
    }
    idle = checklist.checklist(spec(**rules), 1, prod_status(None), b.NOW)
    waiting = checklist.checklist(
        spec(**rules),
        1,
        prod_status(b.record("6.2.0", Phase.WAITING_APPROVAL, approvals=["carol"])),
        b.NOW,
    )
    assert idle is not None and waiting is not None
    (before,) = [r for r in idle.rows if r.key == "approval"]
    (during,) = [r for r in waiting.rows if r.key == "approval"]
    assert before.detail == "2 approvals needed"
    assert during.detail == "1 of 2 approvals; requested"
    assert during.who == "carol or members of release-managers (not who approved it into staging)"
    assert (idle.revision, waiting.revision) == ("", "6.2.0")


def test_source_checks_pass_wait_or_block() -> None:
    """Checks of the source gate the promotion: their verdict is the row's mark."""
    subject = b.make(
        b.environment("staging", verify=[b.webhook()]),
        b.environment("prod", promotion=b.promotion()),
    ).spec
    record = b.record("6.2.0", Phase.PENDING)
    marks = []
    for phase in ("Running", "Passed", "Failed"):
        checked = b.verified("6.2.0", phase, b.check("smoke", phase, message="HTTP 500"))
        source = STAGING_READY.model_copy(update={"verification": checked})
        found = checklist.checklist(subject, 1, prod_status(record, source=source), b.NOW)
        assert found is not None
        marks.append(next(r.mark for r in found.rows if r.key == "checks"))
    assert marks == [Mark.WAITING, Mark.PASSED, Mark.BLOCKED]


def test_no_checklist_for_the_first_environment_or_an_unmanaged_one() -> None:
    """Nothing is promoted into the first environment; no strategy means no promotion."""
    subject = b.make("staging", b.environment("prod", promotion=b.promotion(via=None))).spec
    assert checklist.checklist(subject, 0, prod_status(None), b.NOW) is None
    assert checklist.checklist(subject, 1, prod_status(None), b.NOW) is None
