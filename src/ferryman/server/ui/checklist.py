"""The gate checklist of one environment: every gate that applies, each passed, waiting or blocked.

Pure: computed from the spec, the status and ``now`` with the domain's own gate functions
(``domain.gates``, ``domain.approvals``, ``domain.verification``), so the page and ``decide()``
cannot disagree. Rows carry *instants* (``Moment``), never "in 4 min": the browser turns them into
countdowns and "3 min ago" every second (``static/live.js``), so the page stays current without a
fetch and status stays stable (a settled pipeline costs no writes).

Which revision the checklist is about: the environment's promotion record. A record still short of
promoting (``Pending``, ``WaitingApproval``, ``Approved``) has its gates evaluated at ``now``; one
that got further passed them all; a finished one shows where it ended. Without a record the rows
state the policy ("idle"), so who may approve is visible before anyone acts.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ferryman.api import pipeline, status
from ferryman.api import verification as checks
from ferryman.domain import approvals, gates, policy, verification, wording

Phase = status.PromotionPhase
_BEFORE_PROMOTING = frozenset({Phase.PENDING, Phase.WAITING_APPROVAL, Phase.APPROVED})
_DECIDED = frozenset(
    {Phase.APPROVED, Phase.PROMOTING, Phase.PROMOTED, Phase.SUCCEEDED, Phase.FAILED}
)
MAX_ERROR_SHOWN = 160


class Mark(enum.StrEnum):
    """Where one gate stands for the revision the checklist is about."""

    PASSED = "passed"  # ✓ the gate let the revision through
    WAITING = "waiting"  # the gate has not decided yet (a countdown, approvals to come)
    BLOCKED = "blocked"  # ✗ the gate stopped the revision (failed check, rejection, expiry, hold)
    IDLE = "idle"  # nothing is being promoted: the row states the policy


MARK_LABELS = {
    Mark.PASSED: "Passed",
    Mark.WAITING: "Waiting",
    Mark.BLOCKED: "Blocked",
    Mark.IDLE: "Not started",
}
MARK_SYMBOLS = {Mark.PASSED: "✓", Mark.WAITING: "…", Mark.BLOCKED: "✗", Mark.IDLE: "○"}


@dataclass(frozen=True)
class Moment:
    """An instant a row refers to; the browser shows it relative to its own clock."""

    at: datetime
    ahead: bool  # a deadline ("in 4 min 10 s"); else a time past ("3 min ago")

    @property
    def iso(self) -> str:
        """For ``<time datetime>``."""
        return self.at.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def text(self) -> str:
        """The absolute time, shown without script and on hover."""
        return wording.utc(self.at)


@dataclass(frozen=True)
class Row:
    """One gate: its name, where it stands and why, and the instant that explains it."""

    key: str  # machine name: soak, checks, windows, approval, expiry, hold, promotion
    gate: str  # what people call it
    mark: Mark
    detail: str  # a sentence; ``moment`` follows it when set
    moment: Moment | None = None
    who: str = ""  # the approval row: who may approve

    @property
    def label(self) -> str:
        """The mark in words (never colour or symbol alone)."""
        return MARK_LABELS[self.mark]

    @property
    def symbol(self) -> str:
        """The mark as a symbol, beside the words."""
        return MARK_SYMBOLS[self.mark]


@dataclass(frozen=True)
class Checklist:
    """The rows of one environment, about ``revision`` ("" when nothing is being promoted)."""

    revision: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class _Subject:
    """What every row reads."""

    environment: str
    source: str
    source_status: status.EnvironmentStatus
    target: status.EnvironmentStatus
    record: status.PromotionRecord | None
    rules: policy.EffectivePromotion
    now: datetime

    @property
    def phase(self) -> Phase | None:
        return self.record.phase if self.record is not None else None

    @property
    def live(self) -> bool:
        """The record has not passed its gates yet: they are evaluated at ``now``."""
        return self.phase in _BEFORE_PROMOTING

    @property
    def pinned(self) -> bool:
        hold = self.target.hold
        return hold is not None and bool(hold.revision)


def checklist(
    spec: pipeline.PipelineSpec,
    index: int,
    current: status.PipelineStatus,
    now: datetime,
) -> Checklist | None:
    """The checklist of ``spec.environments[index]`` (``None`` for the first environment and for
    one no strategy promotes into: no gate applies there)."""
    if index == 0:
        return None
    environment = spec.environments[index]
    rules = policy.effective(spec, environment)
    if rules.strategy is None:
        return None
    source = spec.environments[index - 1]
    target = current.environments.get(environment.name) or status.EnvironmentStatus()
    subject = _Subject(
        environment=environment.name,
        source=source.name,
        source_status=current.environments.get(source.name) or status.EnvironmentStatus(),
        target=target,
        record=target.promotion if _shown(target.promotion) else None,
        rules=rules,
        now=now,
    )
    found = [
        _hold(subject),
        _soak(subject),
        _checks(subject, verification.checks_for(spec, source)),
        _windows(subject),
        _approval(subject),
        _expiry(subject),
        _promotion(subject),
    ]
    rows = tuple(row for row in found if row is not None)
    return Checklist(subject.record.revision if subject.record is not None else "", rows)


def _shown(record: status.PromotionRecord | None) -> bool:
    """A superseded record says nothing about the gates any more."""
    return record is not None and record.phase is not Phase.SUPERSEDED


def _hold(s: _Subject) -> Row | None:
    hold = s.target.hold
    if hold is None or hold.revision:
        return None  # a pin is a promotion of its own (its record shows it), not a stop
    why = f": {hold.comment}" if hold.comment else ""
    return Row(
        "hold", "Hold", Mark.BLOCKED, f"Held by {hold.user}{why}; since", Moment(hold.at, False)
    )


def _soak(s: _Subject) -> Row | None:
    seconds = s.rules.min_ready_seconds
    if seconds <= 0:
        return None
    wanted = wording.duration(seconds)
    if s.record is None:
        return Row("soak", "Soak time", Mark.IDLE, f"{s.source} must stay healthy {wanted} first")
    if s.pinned:
        return Row("soak", "Soak time", Mark.PASSED, "Not applied to a pinned revision")
    if s.phase is not Phase.PENDING:
        return Row("soak", "Soak time", Mark.PASSED, f"{s.source} stayed healthy {wanted}")
    since = s.source_status.ready_since
    gate = gates.soak(since, seconds, s.now)
    if gate.open:
        moment = Moment(since, False) if since is not None else None
        return Row("soak", "Soak time", Mark.PASSED, f"{s.source} healthy since", moment)
    if gate.changes_at is None:
        return Row("soak", "Soak time", Mark.WAITING, f"{s.source} is not healthy yet")
    return Row(
        "soak",
        "Soak time",
        Mark.WAITING,
        f"{s.source} must stay healthy {wanted}; passes",
        Moment(gate.changes_at, True),
    )


def _checks(s: _Subject, found: Sequence[checks.Check]) -> Row | None:
    if not found:
        return None
    names = ", ".join(check.name for check in found)
    if s.record is None:
        return Row("checks", "Checks", Mark.IDLE, f"{s.source}'s checks ({names}) must pass first")
    if s.pinned or not s.live:  # a record past its gates passed this one
        return Row("checks", "Checks", Mark.PASSED, f"Passed {s.source}'s checks ({names})")
    verdict = verification.verdict(found, s.source, s.source_status, s.record.revision)
    if verdict.failed:
        return Row("checks", "Checks", Mark.BLOCKED, verdict.message)
    if verdict.passed:
        return Row("checks", "Checks", Mark.PASSED, f"Passed {s.source}'s checks ({names})")
    return Row("checks", "Checks", Mark.WAITING, verdict.message)


def _windows(s: _Subject) -> Row | None:
    schedule = s.rules.windows
    if not schedule:
        return None
    if s.record is not None and not s.live:
        return Row("windows", "Deployment windows", Mark.PASSED, "Promoted inside a window")
    gate = gates.windows(schedule, s.now)
    closes = Moment(gate.changes_at, True) if gate.changes_at is not None else None
    if gate.open:
        mark = Mark.PASSED if s.record is not None else Mark.IDLE
        return Row(
            "windows", "Deployment windows", mark, "Open; closes" if closes else "Open", closes
        )
    mark = Mark.WAITING if s.record is not None else Mark.IDLE
    return Row("windows", "Deployment windows", mark, "Closed; opens", closes)


def approvers(rule: pipeline.ApprovalPolicy) -> str:
    """Who may approve, in words: ``alice or members of release-managers``."""
    found = rule.approvers
    users = ", ".join(found.users) if found is not None else ""
    groups = ", ".join(found.groups) if found is not None else ""
    parts = [users, f"members of {groups}" if groups else ""]
    return " or ".join(p for p in parts if p) or "anyone with permission to approve"


def _approval(s: _Subject) -> Row | None:
    rule = s.rules.approval
    if rule is None:
        return None
    who = approvers(rule)
    if rule.prevent_self_approval:
        who += f" (not who approved it into {s.source})"
    needed = f"{rule.required} approval{'s' if rule.required != 1 else ''}"
    record = s.record
    if record is None:
        return Row("approval", "Approval", Mark.IDLE, f"{needed} needed", who=who)
    count = f"{rule.required - approvals.missing(rule, record)} of {needed}"
    if s.phase is Phase.REJECTED and record.rejection is not None:
        detail = f"Rejected by {record.rejection.user}"
        return Row(
            "approval", "Approval", Mark.BLOCKED, detail, Moment(record.rejection.at, False), who
        )
    if s.phase is Phase.EXPIRED:
        return Row(
            "approval", "Approval", Mark.BLOCKED, f"{count}; nobody decided in time", who=who
        )
    if s.phase in _DECIDED:
        return Row("approval", "Approval", Mark.PASSED, count, who=who)
    if s.phase is Phase.WAITING_APPROVAL:
        asked = record.approval_requested_at
        if asked is None:
            return Row("approval", "Approval", Mark.WAITING, count, who=who)
        return Row(
            "approval", "Approval", Mark.WAITING, f"{count}; requested", Moment(asked, False), who
        )
    detail = f"{count}; asked once the gates above pass"
    return Row("approval", "Approval", Mark.WAITING, detail, who=who)


def _expiry(s: _Subject) -> Row | None:
    rule = s.rules.approval
    if rule is None or rule.expires_after is None:
        return None
    record = s.record
    deadline = approvals.expires_at(rule, record) if record is not None else None
    if record is None or (s.phase is Phase.PENDING and deadline is None):
        detail = f"A request expires {rule.expires_after} after it is made"
        return Row("expiry", "Approval expiry", Mark.IDLE, detail)
    moment = Moment(deadline, True) if deadline is not None else None
    if s.phase is Phase.EXPIRED:
        passed = Moment(deadline, False) if deadline is not None else None
        return Row("expiry", "Approval expiry", Mark.BLOCKED, "Expired", passed)
    if s.phase is Phase.WAITING_APPROVAL:
        return Row("expiry", "Approval expiry", Mark.WAITING, "The request expires", moment)
    return Row("expiry", "Approval expiry", Mark.PASSED, "Decided before it expired")


def _promotion(s: _Subject) -> Row | None:
    """The promotion itself, once the gates let it go: retries, rollout, result."""
    record = s.record
    if record is None or s.live or s.phase in {Phase.REJECTED, Phase.EXPIRED}:
        return None
    error = _short(record.last_error or "")
    if s.phase is Phase.SUCCEEDED:
        at = record.finished_at
        moment = Moment(at, False) if at is not None else None
        return Row("promotion", "Promotion", Mark.PASSED, f"{s.environment} runs it", moment)
    if s.phase is Phase.FAILED:
        detail = f"Failed after {record.attempts} attempts" + (f": {error}" if error else "")
        return Row("promotion", "Promotion", Mark.BLOCKED, detail)
    if s.phase is Phase.PROMOTED:
        detail = f"Rolling out: waiting for {s.environment} to run it"
        return Row("promotion", "Promotion", Mark.WAITING, detail)
    due = record.next_attempt_at
    if error and due is not None:
        detail = f"Attempt {record.attempts} failed: {error}; next retry"
        return Row("promotion", "Promotion", Mark.WAITING, detail, Moment(due, True))
    started = Moment(record.started_at, False) if record.started_at is not None else None
    return Row("promotion", "Promotion", Mark.WAITING, "Promoting; started", started)


def _short(text: str) -> str:
    """An error cut to one line of the checklist (the whole text is in the record)."""
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= MAX_ERROR_SHOWN else line[: MAX_ERROR_SHOWN - 1] + "…"
