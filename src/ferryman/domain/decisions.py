"""The promotion state machine: ``decide(pipeline, observed targets, now, owner) -> Decision``.

Pure: the same inputs give the same status and actions, and deciding again on the returned
status gives that status back with no new action (the reconciler writes only when the status
changed, so a converged pipeline costs no write). For each environment k >= 1 with source k-1:

1. the candidate is the revision every target of k-1 runs, ready everywhere;
2. k running the candidate, ready everywhere, is in sync (its record, if any, ``Succeeded``);
3. an unfinished record for another revision is ``Superseded`` and a record for the candidate
   starts (``Pending``);
4. gates, in order: suspension, soak time, windows, approval (``WaitingApproval`` →
   ``Approved``, or ``Expired``; ``Rejected`` is written by the approval API);
5. the intent ``Promoting`` (attempts + 1, owner = this controller) is returned with a ``Promote``
   action; the reconciler writes it *before* acting and records the outcome after
   (``outcomes``). A ``Promoting`` record owned by another instance is resumed (its owner died
   mid-act; the strategy is idempotent); one without owner is retried at ``nextAttemptAt``.

Finished records (``Succeeded``, ``Rejected``, ``Expired``, ``Failed``, ``Superseded``) for the
current candidate stay finished: a revision is never promoted into an environment twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ferryman.api import conditions, pipeline, status
from ferryman.domain import approvals, gates, policy, records, timefmt
from ferryman.domain import status as status_rules

MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class Promote:
    """Carry out the promotion of ``revision`` into ``environment`` (intent already in status)."""

    environment: str
    source: str
    revision: str
    attempt: int
    strategy: str


@dataclass(frozen=True)
class Notify:
    """Record a Kubernetes Event for a real transition (never for a no-op pass)."""

    environment: str
    revision: str
    reason: str
    message: str
    warning: bool = False
    actor: str | None = None


Action = Promote | Notify


@dataclass(frozen=True)
class Decision:
    """The next status, the actions to run after writing it, and when to look again."""

    status: status.PipelineStatus
    actions: tuple[Action, ...] = ()
    requeue_at: datetime | None = None

    def requeue_after(self, now: datetime) -> timedelta | None:
        """Delay until the next instant a gate can change (``None``: only on events)."""
        if self.requeue_at is None:
            return None
        return max(self.requeue_at - now, timedelta(0))


@dataclass
class _Pass:
    """Mutable scratch space of one ``decide`` call (never escapes it)."""

    current: status.PipelineStatus
    now: datetime
    owner: str
    actions: list[Action] = field(default_factory=list)
    held: list[status_rules.Pending] = field(default_factory=list)
    wake: list[datetime] = field(default_factory=list)

    def hold(self, environment: str, reason: str, message: str, at: datetime | None = None) -> None:
        self.held.append(status_rules.Pending(environment, reason, message))
        if at is not None:
            self.wake.append(at)

    def notify(
        self,
        record: status.PromotionRecord,
        env: str,
        reason: str,
        message: str,
        *,
        warning: bool = False,
        actor: str | None = None,
    ) -> None:
        self.actions.append(Notify(env, record.revision, reason, message, warning, actor))


def common_revision(targets: Sequence[status.TargetStatus]) -> str:
    """The revision every target runs, or ``""`` when they disagree or have none."""
    revisions = {t.revision for t in targets}
    if len(revisions) != 1:
        return ""
    return revisions.pop()


def environment_status(
    previous: status.EnvironmentStatus | None,
    targets: Sequence[status.TargetStatus],
    now: datetime,
) -> status.EnvironmentStatus:
    """Observed part of an environment: revision, readiness and the start of the ready streak."""
    revision = common_revision(targets)
    ready = bool(targets) and bool(revision) and all(t.ready for t in targets)
    since: datetime | None = None
    if ready:
        streak = previous is not None and previous.ready and previous.revision == revision
        since = previous.ready_since if streak and previous is not None else None
        since = since or now
    base = previous or status.EnvironmentStatus()
    return base.model_copy(
        update={
            "targets": tuple(targets),
            "revision": revision,
            "ready": ready,
            "ready_since": since,
        }
    )


def _new_record(candidate: str, source: str, now: datetime) -> status.PromotionRecord:
    return status.PromotionRecord(
        revision=candidate, from_=source, phase=status.PromotionPhase.PENDING, requested_at=now
    )


def _finished_message(record: status.PromotionRecord, env: str) -> str:
    phase = record.phase
    if phase is status.PromotionPhase.REJECTED:
        who = record.rejection.user if record.rejection is not None else "an approver"
        return f"{record.revision} was rejected by {who}"
    if phase is status.PromotionPhase.FAILED:
        return f"promotion of {record.revision} failed: {record.last_error or 'unknown error'}"
    if phase is status.PromotionPhase.EXPIRED:
        return f"the approval request for {record.revision} expired"
    if phase is status.PromotionPhase.SUPERSEDED:
        return f"the promotion of {record.revision} into {env} was superseded"
    return f"{record.revision} was promoted to {env}, which does not run it ready everywhere"


def _promote_into(
    scratch: _Pass,
    spec: pipeline.PipelineSpec,
    index: int,
) -> None:
    env_spec = spec.environments[index]
    name = env_spec.name
    source = scratch.current.environments[spec.environments[index - 1].name]
    target = scratch.current.environments[name]
    record = target.promotion
    now = scratch.now

    # A record whose revision the environment now runs, ready everywhere, has succeeded.
    if (
        record is not None
        and not record.phase.finished
        and target.ready
        and target.revision == record.revision
    ):
        scratch.notify(record, name, "Succeeded", f"{name} runs {record.revision}")
        scratch.current = records.finish(
            scratch.current,
            name,
            record,
            status.PromotionPhase.SUCCEEDED,
            now,
            by=records.last_approver(record),
        )
        record = scratch.current.environments[name].promotion

    effective = policy.effective(spec, env_spec)
    if not source.ready:
        # Held only when a promotion could follow and the environment is not settled; whether a
        # finished record exists must not matter (a fresh pipeline would say otherwise).
        settled = target.ready and (record is None or record.phase.finished)
        if effective.strategy is not None and not settled:
            why = (
                f"targets of {source_name(spec, index)} disagree on the revision"
                if len({t.revision for t in source.targets}) > 1
                else f"{source_name(spec, index)} is not ready"
            )
            scratch.hold(name, conditions.ENVIRONMENT_NOT_READY, why)
        return
    candidate = source.revision
    if target.ready and target.revision == candidate:
        if record is not None and not record.phase.finished:
            scratch.notify(record, name, "Superseded", f"{name} already runs {candidate}")
            scratch.current = records.finish(
                scratch.current, name, record, status.PromotionPhase.SUPERSEDED, now
            )
        return
    if effective.strategy is None:
        return  # observed only, as the original controller did without a promotion
    # The environment already runs the candidate and is rolling out or unhealthy: promoting it
    # again would only re-notify Flux (a loop with a flapping release). An in-flight promotion
    # of the candidate carries on and succeeds once the environment is ready.
    carrying_on = record is not None and record.revision == candidate and not record.phase.finished
    if target.revision == candidate and not target.ready and not carrying_on:
        if record is not None and not record.phase.finished:
            scratch.notify(record, name, "Superseded", f"{name} already runs {candidate}")
            scratch.current = records.finish(
                scratch.current, name, record, status.PromotionPhase.SUPERSEDED, now
            )
        scratch.hold(
            name, conditions.ENVIRONMENT_NOT_READY, f"{name} runs {candidate} but is not ready"
        )
        return
    # Never promote blind: a target whose object cannot be read may already run anything.
    blind = next((t for t in target.targets if t.error and not t.revision), None)
    in_flight = (
        record is not None
        and record.revision == candidate
        and record.phase in {status.PromotionPhase.PROMOTING, status.PromotionPhase.PROMOTED}
    )
    if blind is not None and not in_flight:
        ref = blind.cluster_app_ref
        scratch.hold(
            name,
            conditions.TARGET_NOT_READABLE,
            f"cannot see what {name} runs ({ref.namespace}/{ref.name}: {blind.error})",
        )
        return
    if record is not None and record.revision != candidate and not record.phase.finished:
        scratch.notify(record, name, "Superseded", f"{record.revision} superseded by {candidate}")
        scratch.current = records.finish(
            scratch.current, name, record, status.PromotionPhase.SUPERSEDED, now
        )
        record = None
    if record is None or record.revision != candidate:
        record = _new_record(candidate, source_name(spec, index), now)
        scratch.current = records.replace(scratch.current, name, record)
    if record.phase.finished:
        scratch.hold(name, conditions.PROMOTION_FAILED, _finished_message(record, name))
        return
    _through_gates(scratch, spec, name, source, record, effective)


def source_name(spec: pipeline.PipelineSpec, index: int) -> str:
    """Name of the environment promotions into ``spec.environments[index]`` come from."""
    return spec.environments[index - 1].name


def _through_gates(
    scratch: _Pass,
    spec: pipeline.PipelineSpec,
    name: str,
    source: status.EnvironmentStatus,
    record: status.PromotionRecord,
    effective: policy.EffectivePromotion,
) -> None:
    now = scratch.now
    in_flight = record.phase in {status.PromotionPhase.PROMOTING, status.PromotionPhase.PROMOTED}
    if record.phase is status.PromotionPhase.PROMOTED:
        where = f" ({record.result.url})" if record.result and record.result.url else ""
        scratch.hold(
            name, conditions.PROMOTING, f"waiting for {name} to run {record.revision}{where}"
        )
        return
    if not in_flight:
        if spec.suspend:
            scratch.hold(name, conditions.SUSPENDED, "the pipeline is suspended (spec.suspend)")
            return
        for gate in (
            gates.soak(source.ready_since, effective.min_ready_seconds, now),
            gates.windows(effective.windows, now),
        ):
            if gate.changes_at is not None:
                scratch.wake.append(gate.changes_at)
            if not gate.open:
                scratch.hold(name, conditions.WAITING_FOR_GATES, gate.message)
                return
        if effective.approval is not None and not _approved(
            scratch, name, record, effective.approval
        ):
            return
        record = scratch.current.environments[name].promotion or record
    _start_or_resume(scratch, name, record, effective)


def _approved(
    scratch: _Pass, name: str, record: status.PromotionRecord, rule: pipeline.ApprovalPolicy
) -> bool:
    """Move the record through the approval gate; True once the quorum is reached."""
    now = scratch.now
    if approvals.missing(rule, record) == 0:
        if record.phase is not status.PromotionPhase.APPROVED:
            actor = records.last_approver(record)
            scratch.notify(
                record, name, "Approved", f"{record.revision} approved for {name}", actor=actor
            )
            record = record.model_copy(update={"phase": status.PromotionPhase.APPROVED})
            scratch.current = records.replace(scratch.current, name, record)
        return True
    if record.phase is not status.PromotionPhase.WAITING_APPROVAL:
        record = record.model_copy(
            update={
                "phase": status.PromotionPhase.WAITING_APPROVAL,
                "approval_requested_at": record.approval_requested_at or now,
            }
        )
        scratch.current = records.replace(scratch.current, name, record)
        scratch.notify(
            record, name, "WaitingApproval", f"{record.revision} waits for approval into {name}"
        )
    deadline = approvals.expires_at(rule, record)
    if deadline is not None and now >= deadline:
        scratch.notify(
            record,
            name,
            "Expired",
            f"approval request for {record.revision} expired",
            warning=True,
        )
        scratch.current = records.finish(
            scratch.current, name, record, status.PromotionPhase.EXPIRED, now
        )
        scratch.hold(
            name, conditions.PROMOTION_FAILED, f"the approval request for {record.revision} expired"
        )
        return False
    need = approvals.missing(rule, record)
    who = _who(rule)
    plural = "s" if need > 1 else ""
    scratch.hold(
        name,
        conditions.WAITING_APPROVAL,
        f"waiting for {need} more approval{plural} of {record.revision}{who}",
        deadline,
    )
    return False


def _who(rule: pipeline.ApprovalPolicy) -> str:
    approvers = rule.approvers
    if approvers is None or (not approvers.users and not approvers.groups):
        return ""
    names = [*(f"user {u}" for u in approvers.users), *(f"group {g}" for g in approvers.groups)]
    return " from " + ", ".join(names)


def _start_or_resume(
    scratch: _Pass,
    name: str,
    record: status.PromotionRecord,
    effective: policy.EffectivePromotion,
) -> None:
    now = scratch.now
    if record.phase is status.PromotionPhase.PROMOTING:
        if record.owner == scratch.owner:
            scratch.hold(name, conditions.PROMOTING, f"promoting {record.revision}")
            return
        if (
            record.owner is None
            and record.next_attempt_at is not None
            and now < record.next_attempt_at
        ):
            scratch.hold(
                name,
                conditions.PROMOTING,
                f"attempt {record.attempts} of {record.revision} failed: {record.last_error}; "
                f"retrying at {timefmt.iso(record.next_attempt_at)}",
                record.next_attempt_at,
            )
            return
        if record.attempts >= MAX_ATTEMPTS:
            scratch.notify(
                record,
                name,
                "Failed",
                f"gave up on {record.revision} after {record.attempts} attempts",
                warning=True,
            )
            scratch.current = records.finish(
                scratch.current, name, record, status.PromotionPhase.FAILED, now
            )
            scratch.hold(
                name,
                conditions.PROMOTION_FAILED,
                _finished_message(scratch.current.environments[name].promotion or record, name),
            )
            return
    intent = record.model_copy(
        update={
            "phase": status.PromotionPhase.PROMOTING,
            "attempts": record.attempts + 1,
            "owner": scratch.owner,
            "next_attempt_at": None,
        }
    )
    scratch.current = records.replace(scratch.current, name, intent)
    scratch.actions.append(
        Promote(
            environment=name,
            source=intent.from_,
            revision=intent.revision,
            attempt=intent.attempts,
            strategy=effective.strategy_name,
        )
    )
    scratch.hold(name, conditions.PROMOTING, f"promoting {intent.revision}")


def decide(
    subject: pipeline.Pipeline,
    targets: Mapping[str, Sequence[status.TargetStatus]],
    *,
    now: datetime,
    owner: str,
) -> Decision:
    """Next status and actions for ``subject`` given what its targets run (see module doc)."""
    now = timefmt.truncate(now)
    spec = subject.spec
    previous = subject.status
    environments = {
        env.name: environment_status(
            previous.environments.get(env.name), targets.get(env.name, ()), now
        )
        for env in spec.environments
    }
    scratch = _Pass(
        current=previous.model_copy(update={"environments": environments}), now=now, owner=owner
    )
    for index in range(1, len(spec.environments)):
        _promote_into(scratch, spec, index)
    generation = subject.metadata.generation
    conds = status_rules.remove_condition(scratch.current.conditions, conditions.STALLED)
    conds = status_rules.pending_condition(conds, scratch.held, generation=generation, now=now)
    result = scratch.current.model_copy(
        update={"conditions": conds, "observed_generation": generation}
    )
    order = [env.name for env in spec.environments]
    result = status_rules.summarise(result, order, generation=generation, now=now)
    return Decision(
        status=result,
        actions=tuple(scratch.actions),
        requeue_at=min(scratch.wake) if scratch.wake else None,
    )
