"""What the web UI shows, computed from a Pipeline object: plain values the templates print.

Pure functions, no I/O: the routes read the Pipeline and the caller's permissions, these turn them
into rows and columns. Every string here comes from a spec or status and is printed by Jinja2
with autoescaping on — nothing is marked safe.

Over 400 lines on purpose: one small dataclass per thing a template prints and the function that
fills it, so what the pages can say is read in one place (the gate checklist has its own module,
``checklist``; the words themselves live in ``domain.wording``, shared with the CLI).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pydantic

from ferryman.api import conditions, pipeline, status, validation
from ferryman.domain import approvals, holds, policy, wording
from ferryman.server.ui import checklist as ui_checklist
from ferryman.server.ui import timeline as ui_timeline


@dataclass(frozen=True)
class Permission:
    """What the signed-in user may do in one environment, and why not."""

    approve: bool = False
    reject: bool = False
    reason: str = ""  # why approve/reject is refused
    hold: bool = False  # hold and unhold
    promote: bool = False  # promote a chosen revision, roll back
    operate_reason: str = ""  # why hold/promote is refused
    detail: str = ""  # the RBAC sentence, shown under the policy's ``reason`` when both refuse
    verify: bool = False  # run the environment's checks again


@dataclass(frozen=True)
class ChangeView:
    """The change waiting for approval: the marked values it sets, and its digest."""

    digest: str
    lines: tuple[tuple[str, str, str], ...]  # (file, from, to)
    more: int  # markers not listed


@dataclass(frozen=True)
class CheckView:
    """One verification check of an environment, as its column shows it."""

    name: str
    phase: str  # Running, Passed, Failed
    message: str
    value: str


@dataclass(frozen=True)
class VerificationView:
    """An environment's checks of the revision it runs."""

    revision: str
    run: int
    phase: str
    checks: tuple[CheckView, ...]
    rerunnable: bool  # decided (passed or failed): ``verify`` may start the next run


@dataclass(frozen=True)
class Approval:
    """One recorded approval or rejection."""

    user: str
    at: str
    comment: str
    iso: str = ""  # ``at`` for ``<time datetime>``


@dataclass(frozen=True)
class TargetRow:
    """One target of an environment: where it is and what it runs."""

    cluster: str  # the GitopsCluster's name, or "in-cluster"
    namespace: str
    revision: str
    health: str  # "healthy", "not healthy", "no data yet"
    error: str  # why it is not healthy, cut short (the whole text is in status)


@dataclass(frozen=True)
class EnvironmentView:
    """One environment column."""

    name: str
    targets: tuple[str, ...]
    revision: str
    ready: bool
    health: str  # "healthy", "not healthy: <why>", "no data yet" (domain.wording)
    phase: str  # the promotion record's phase ("" when nothing was ever promoted into it)
    phase_label: str  # the phase as people read it ("Waiting for approval")
    promotion_revision: str
    gate: str  # why the promotion is held back, in words (PromotionPending's message)
    link: str  # pull request / commit URL, if the strategy made one
    commit: str
    last_error: str
    approvals: tuple[Approval, ...]
    rejection: Approval | None
    waiting_revision: str  # the revision an approval would be for ("" when none waits)
    required_approvals: int
    permission: Permission = Permission()
    hold: str = ""  # who holds the environment and why ("" when not held); since ``hold_at``
    hold_at: Approval | None = None  # when the hold began (``iso`` and ``at`` for <time>)
    operable: bool = False  # promotions go into it: it can be held, pinned and rolled back
    rollback_to: str = ""  # the revision it ran before its current one
    revisions: tuple[str, ...] = ()  # what "promote" accepts without force
    change: ChangeView | None = None
    verification: VerificationView | None = None
    checklist: ui_checklist.Checklist | None = None  # the pipeline page's gate checklist
    target_rows: tuple[TargetRow, ...] = ()
    in_flight: str = ""  # what moves into it from its source ("6.2.0 waiting for approval")
    finished_at: str = ""  # when its last promotion ended (ISO, for <time>)
    finished_text: str = ""  # the same, as people read it

    @property
    def explained(self) -> bool:
        """The checklist says why the promotion waits or stopped (no need to repeat the
        ``PromotionPending`` sentence)."""
        rows = self.checklist.rows if self.checklist is not None else ()
        marks = {ui_checklist.Mark.WAITING, ui_checklist.Mark.BLOCKED}
        return any(row.mark in marks for row in rows)


@dataclass(frozen=True)
class HistoryView:
    """One finished promotion or operator action."""

    environment: str
    revision: str
    phase: str  # the result in words ("Promoted", "Rejected", "Held")
    at: str
    by: str  # who decided or acted; "automatic" for a promotion nobody approved
    url: str
    iso: str = ""  # ``at`` for ``<time datetime>``
    comment: str = ""  # what the approver, rejecter or operator wrote
    result: str = ""  # the machine word (``data-phase``, the result filter)
    commit: str = ""  # the commit a git-push promotion made (where there is no ``url``)


@dataclass(frozen=True)
class PipelineView:
    """A pipeline page (or a row of the list)."""

    namespace: str
    name: str
    app: str
    ready: str  # "True", "False", "Unknown"
    summary: str  # the Ready condition's message
    pending: str  # the PromotionPending condition's message
    environments: tuple[EnvironmentView, ...]
    headline: str = ""  # what the pipeline is doing, truthfully (``headline()``)
    state: str = "settled"  # "attention", "moving" or "settled": the headline's badge
    history: tuple[HistoryView, ...] = ()
    problems: tuple[str, ...] = field(default=())
    timeline: ui_timeline.Chart | None = None  # the pipeline page's chart (server/ui/timeline.py)


def when(value: datetime | None) -> str:
    """A time as people read it in a list: ``2026-11-28 16:00:05 UTC``."""
    return wording.utc(value) if value is not None else ""


def iso(value: datetime | None) -> str:
    """A time for ``<time datetime>``: ``2026-11-28T16:00:05Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else ""


def gates_by_environment(message: str) -> dict[str, str]:
    """Split ``PromotionPending``'s ``"prod: waiting for approval; staging: soak"`` per env."""
    found: dict[str, str] = {}
    for part in message.split("; "):
        env, sep, words = part.partition(": ")
        if sep and env and env not in found:
            found[env] = words
    return found


_NUMBERED = re.compile(r"/(?:pull|pulls|merge_requests|pull-requests)/(\d+)/?$")


def link_label(url: str, environment: str, revision: str) -> str:
    """Words for a link to what a promotion made: ``Pull request #12 for prod``, else
    ``Change for prod 6.2.0`` (never "link")."""
    found = _NUMBERED.search(url)
    if found is not None:
        return f"Pull request #{found.group(1)} for {environment}"
    return f"Change for {environment} {revision}".strip()


def web_link(url: str | None) -> str:
    """``url`` if it is an http(s) link, else "" (status must not smuggle in ``javascript:``)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return ""


def _target(target: pipeline.Target) -> str:
    where = target.namespace
    if target.cluster_ref is not None:
        where = f"{target.cluster_ref.name}/{where}"
    return where


def _approval(
    record: status.ApprovalRecord | status.RejectionRecord | status.HoldRecord,
) -> Approval:
    return Approval(record.user, when(record.at), record.comment, iso(record.at))


def _hold_words(hold: status.HoldRecord) -> str:
    """``holds.describe`` without its timestamp: the page prints that as a <time>."""
    return holds.describe(hold).replace(f" since {iso(hold.at)}", "", 1)


def target_rows(
    environment: pipeline.Environment, current: status.EnvironmentStatus | None
) -> tuple[TargetRow, ...]:
    """One row per target of the spec, with what status observed of it (same order)."""
    observed = current.targets if current is not None else ()
    rows = []
    for index, target in enumerate(environment.targets):
        seen = observed[index] if index < len(observed) else None
        health = wording.NO_DATA
        if seen is not None:
            health = wording.HEALTHY if seen.ready else "not healthy"
        rows.append(
            TargetRow(
                cluster=target.cluster_ref.name if target.cluster_ref is not None else "in-cluster",
                namespace=target.namespace,
                revision=seen.revision if seen is not None else "",
                health=health,
                error=seen.error if seen is not None else "",
            )
        )
    return tuple(rows)


def _change(record: status.PromotionRecord | None) -> ChangeView | None:
    if record is None or record.change is None or record.phase.finished:
        return None
    change = record.change
    lines = tuple((line.path, line.old, line.new) for line in change.lines)
    return ChangeView(digest=change.digest, lines=lines, more=max(change.markers - len(lines), 0))


def _verification(env: status.EnvironmentStatus | None) -> VerificationView | None:
    found = env.verification if env is not None else None
    if found is None:
        return None
    return VerificationView(
        revision=found.revision,
        run=found.run,
        phase=found.phase.value,
        checks=tuple(
            CheckView(c.name, c.phase.value, c.message or "", c.value or "") for c in found.checks
        ),
        rerunnable=found.phase.finished and env is not None and env.revision == found.revision,
    )


def _operations(
    spec: pipeline.PipelineSpec, environment: str, current: status.PipelineStatus
) -> dict[str, Any]:
    """What the operator buttons need: whether the environment is operable, where it rolls
    back to, the revisions it may be pinned at."""
    try:
        revisions = holds.allowed_revisions(current, spec, environment)
    except holds.OperatorRefused:
        return {}
    try:
        back = holds.previous_revision(current, environment)
    except holds.OperatorRefused:
        back = ""
    return {"operable": True, "rollback_to": back, "revisions": revisions}


def environment_view(
    spec: pipeline.PipelineSpec,
    environment: pipeline.Environment,
    current: status.EnvironmentStatus | None,
    *,
    gate: str,
    permission: Permission,
    whole: status.PipelineStatus | None = None,
) -> EnvironmentView:
    """One column: what runs there, and the promotion into it."""
    record = current.promotion if current is not None else None
    rule = policy.effective(spec, environment).approval
    phase = record.phase if record is not None else None
    result = record.result if record is not None else None
    waiting = ""
    if record is not None and phase is status.PromotionPhase.WAITING_APPROVAL:
        waiting = record.revision
    return EnvironmentView(
        name=environment.name,
        targets=tuple(_target(t) for t in environment.targets),
        revision=current.revision if current is not None else "",
        ready=bool(current is not None and current.ready),
        health=wording.health(current),
        phase=phase.value if phase is not None else "",
        phase_label=wording.phase_label(phase) if phase is not None else "",
        promotion_revision=record.revision if record is not None else "",
        gate=gate if record is None or not record.phase.finished else "",
        link=web_link(result.url) if result is not None else "",
        commit=(result.commit or "") if result is not None else "",
        last_error=(record.last_error or "") if record is not None else "",
        approvals=tuple(_approval(a) for a in record.approvals) if record is not None else (),
        rejection=(
            _approval(record.rejection)
            if record is not None and record.rejection is not None
            else None
        ),
        waiting_revision=waiting,
        required_approvals=rule.required if rule is not None else 0,
        permission=permission,
        hold=_hold_words(current.hold) if current is not None and current.hold else "",
        hold_at=_approval(current.hold) if current is not None and current.hold else None,
        change=_change(record),
        verification=_verification(current),
        target_rows=target_rows(environment, current),
        in_flight=wording.in_flight(record),
        finished_at=iso(record.finished_at) if record is not None else "",
        finished_text=when(record.finished_at) if record is not None else "",
        **_operations(spec, environment.name, whole or status.PipelineStatus()),
    )


def parse(
    obj: Mapping[str, Any],
) -> tuple[pipeline.Pipeline | None, status.PipelineStatus, list[str]]:
    """The Pipeline, its status and the problems that stop parsing (shown instead of columns)."""
    parsed, problems = validation.validate(obj)
    try:
        current = status.PipelineStatus.model_validate(obj.get("status") or {})
    except pydantic.ValidationError:
        current = status.PipelineStatus()
    return parsed, current, [f"{p.path}: {p.message}" for p in problems]


def history_row(entry: status.HistoryEntry) -> HistoryView:
    """One line of the page's history: a promotion nobody approved says "automatic"."""
    by = entry.by or ""
    if not by and entry.phase is not None and entry.phase is not status.PromotionPhase.EXPIRED:
        by = "automatic"
    return HistoryView(
        environment=entry.environment,
        revision=entry.revision,
        phase=wording.history_label(entry),
        at=when(entry.at),
        by=by,
        url=web_link(entry.url),
        iso=iso(entry.at),
        comment=entry.comment or "",
        result=str(entry.phase or entry.action or ""),
        commit=entry.commit or "",
    )


def headline(
    ready: status.Condition | None, environments: Sequence[EnvironmentView]
) -> tuple[str, str]:
    """The page's first line, truthful about the whole pipeline: what needs attention (``Ready``
    false), else what is in flight ("prod: 6.2.0 waiting for approval"), else what runs where.
    Returns the badge's state and the sentence."""
    if ready is not None and ready.status == "False":
        return "attention", ready.message
    moving = [f"{e.name}: {e.in_flight}" for e in environments if e.in_flight]
    if moving:
        return "moving", "; ".join(moving)
    runs = ", ".join(f"{e.name} runs {e.revision or 'nothing yet'}" for e in environments)
    return "settled", f"Nothing in flight: {runs}"


STATE_LABELS = {"attention": "Needs attention", "moving": "In progress", "settled": "Idle"}


def pipeline_view(
    obj: Mapping[str, Any],
    *,
    permissions: Mapping[str, Permission] | None = None,
    with_timeline: bool = False,
    now: datetime | None = None,
) -> PipelineView:
    """The whole page of one Pipeline object (``permissions`` per environment name; the
    timeline chart only for the pipeline's own page; the gate checklists only with ``now``)."""
    meta = obj.get("metadata") or {}
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    parsed, current, problems = parse(obj)
    ready = current.condition(conditions.READY)
    pending = current.condition(conditions.PROMOTION_PENDING)
    pending_message = pending.message if pending is not None and pending.status == "True" else ""
    gates = gates_by_environment(pending_message)
    envs: list[EnvironmentView] = []
    app = ""
    if parsed is not None:
        ref = parsed.spec.app_ref
        app = f"{ref.kind}/{ref.name}"
        for index, environment in enumerate(parsed.spec.environments):
            view = environment_view(
                parsed.spec,
                environment,
                current.environments.get(environment.name),
                gate=gates.get(environment.name, ""),
                permission=(permissions or {}).get(environment.name, Permission()),
                whole=current,
            )
            if now is not None:
                found = ui_checklist.checklist(parsed.spec, index, current, now)
                view = dataclasses.replace(view, checklist=found)
            envs.append(view)
    state, sentence = headline(ready, envs)
    return PipelineView(
        namespace=namespace,
        name=name,
        app=app,
        ready=ready.status if ready is not None else "Unknown",
        summary=ready.message if ready is not None else "not reconciled yet",
        headline=sentence if ready is not None else "not reconciled yet",
        state=state,
        pending=pending_message,
        environments=tuple(envs),
        history=tuple(history_row(h) for h in current.history),
        problems=tuple(problems),
        timeline=(
            ui_timeline.chart([e.name for e in parsed.spec.environments], current)
            if with_timeline and parsed is not None
            else None
        ),
    )


def operable_environments(obj: Mapping[str, Any]) -> list[str]:
    """Environments promotions go into (they can be held, pinned and rolled back)."""
    parsed, _, _ = parse(obj)
    if parsed is None:
        return []
    return [
        env.name
        for env in parsed.spec.environments[1:]
        if policy.effective(parsed.spec, env).strategy is not None
    ]


def verifiable_environments(obj: Mapping[str, Any]) -> list[str]:
    """Environments whose checks have decided on the revision they run (``verify`` applies)."""
    _, current, _ = parse(obj)
    return [
        name
        for name, env in current.environments.items()
        if env.verification is not None
        and env.verification.phase.finished
        and env.verification.revision == env.revision
    ]


@dataclass(frozen=True)
class AwaitingApproval:
    """An environment whose promotion waits for approval, with what deciding on it needs."""

    environment: str
    rule: pipeline.ApprovalPolicy | None  # the environment's approval policy
    record: status.PromotionRecord
    barred: frozenset[str] = frozenset()  # who the four-eyes rule keeps from approving it


def waiting_environments(obj: Mapping[str, Any]) -> list[AwaitingApproval]:
    """Environments whose promotion waits for approval (the Pipeline parsed once)."""
    parsed, current, _ = parse(obj)
    if parsed is None:
        return []
    found: list[AwaitingApproval] = []
    for environment in parsed.spec.environments:
        env = current.environments.get(environment.name)
        record = env.promotion if env is not None else None
        if record is None or record.phase is not status.PromotionPhase.WAITING_APPROVAL:
            continue
        rule = policy.effective(parsed.spec, environment).approval
        barred = (
            approvals.earlier_approvers(current, record.from_, record.revision)
            if rule is not None and rule.prevent_self_approval
            else frozenset()
        )
        found.append(AwaitingApproval(environment.name, rule, record, barred))
    return found


def four_eyes_refusal(waiting: AwaitingApproval, user: str) -> str:
    """Why the four-eyes rule refuses ``user``'s approval ("" when it does not): they approved
    the same revision into the environment it comes from."""
    if user not in waiting.barred:
        return ""
    record = waiting.record
    return (
        f"You approved {record.revision} into {record.from_}, so someone else must approve it "
        f"into {waiting.environment} (four-eyes rule)"
    )


def policy_refusal(
    rule: pipeline.ApprovalPolicy | None, user: str, groups: Sequence[str], environment: str
) -> str:
    """Why the spec's approver lists refuse ``user`` ("" when they admit them)."""
    if rule is None or approvals.allowed(rule, approvals.Approver(user, tuple(groups))):
        return ""
    return f"Only {ui_checklist.approvers(rule)} may approve {environment}"
