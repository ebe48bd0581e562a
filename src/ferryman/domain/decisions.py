"""The promotion state machine: ``decide(pipeline, targets, now=, owner=, may_take_over=)``.

Pure: the same inputs give the same status and actions, and deciding again on the returned
status gives that status back with no new action (the reconciler writes only when the status
changed, so a converged pipeline costs no write).

A pass first records what every environment runs (``environment_status``) and starts or steps
every environment's verification checks (``verification.advance``), then, for each
environment k >= 1 with source k-1, ``states.classify`` names its state and
``transitions.apply`` takes the step that state calls for; after a *momentary* state (the record
was finished, created or approved) the environment is classified again, so every pass ends in a
*resting* state. The states, their order and the table live in ``states`` and ``transitions``;
the diagram of the record's phases is in ``docs/architecture.md`` (a test keeps it true).

Finished records (``Succeeded``, ``Rejected``, ``Expired``, ``Failed``, ``Superseded``) for the
current candidate stay finished: a revision is never promoted into an environment twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ferryman.api import conditions, pipeline, status
from ferryman.domain import (
    actions,
    policy,
    records,
    revisions,
    states,
    timefmt,
    transitions,
    verification,
)
from ferryman.domain import summary as summary_rules

MAX_ATTEMPTS = states.MAX_ATTEMPTS


@dataclass(frozen=True)
class Taken:
    """One step of a pass: the state an environment was in and its record before and after."""

    environment: str
    state: states.State
    before: status.PromotionRecord | None
    after: status.PromotionRecord | None


@dataclass(frozen=True)
class Decision:
    """The next status, the actions to run after writing it, and when to look again."""

    status: status.PipelineStatus
    actions: tuple[actions.Action, ...] = ()
    requeue_at: datetime | None = None
    trail: tuple[Taken, ...] = ()

    @property
    def states(self) -> dict[str, states.State]:
        """The resting state of every environment promotions go into."""
        return {taken.environment: taken.state for taken in self.trail}

    def requeue_after(self, now: datetime) -> timedelta | None:
        """Delay until the next instant a gate can change (``None``: only on events)."""
        if self.requeue_at is None:
            return None
        return max(self.requeue_at - now, timedelta(0))


@dataclass(frozen=True)
class _Advance:
    """Where one environment ends up in a pass (value, never mutated)."""

    step: transitions.Step
    trail: tuple[Taken, ...]


def common_revision(targets: Sequence[status.TargetStatus]) -> str:
    """The revision every target runs (the first target's spelling of it), or ``""`` when they
    disagree or have none. Targets agree when they run the same artifact (``revisions.same``):
    ``main@sha1:X`` and ``sha1:X`` are one commit."""
    if len({revisions.identity(t.revision) for t in targets}) != 1:
        return ""
    return targets[0].revision


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
        streak = (
            previous is not None and previous.ready and revisions.same(previous.revision, revision)
        )
        since = previous.ready_since if streak and previous is not None else None
        since = since or now
    base = previous or status.EnvironmentStatus()
    return base.model_copy(
        update={
            "targets": tuple(targets),
            "revision": revision,
            "ready": ready,
            "ready_since": since,
            # Recomputed, not trusted: a mirror left by another controller must not outlive it.
            "waiting_approval": records.mirror(base.promotion),
        }
    )


def source_name(spec: pipeline.PipelineSpec, index: int) -> str:
    """Name of the environment promotions into ``spec.environments[index]`` come from."""
    return spec.environments[index - 1].name


def _view(
    subject: pipeline.Pipeline,
    current: status.PipelineStatus,
    index: int,
    *,
    now: datetime,
    owner: str,
    may_take_over: bool,
) -> states.View:
    spec = subject.spec
    env_spec = spec.environments[index]
    target = current.environments[env_spec.name]
    return states.View(
        name=env_spec.name,
        source_name=source_name(spec, index),
        source=current.environments[source_name(spec, index)],
        target=target,
        record=target.promotion,
        promotion=policy.effective(spec, env_spec),
        suspended=bool(spec.suspend),
        now=now,
        owner=owner,
        may_take_over=may_take_over,
        hold=target.hold,
        source_checks=verification.checks_for(spec, spec.environments[index - 1]),
    )


def _advance(view: states.View, current: status.PipelineStatus) -> _Advance:
    """Classify ``view``'s environment and take its step, again after a momentary state."""
    state = states.classify(view)
    step = transitions.apply(view, state, current)
    after = step.status.environments[view.name].promotion
    taken = (Taken(view.name, state, view.record, after),)
    if not state.momentary:
        return _Advance(step, taken)
    rest = _advance(dataclasses.replace(view, record=after), step.status)
    combined = dataclasses.replace(
        rest.step,
        actions=(*step.actions, *rest.step.actions),
        wake=(*step.wake, *rest.step.wake),
    )
    return _Advance(combined, taken + rest.trail)


def _observed(
    subject: pipeline.Pipeline,
    targets: Mapping[str, Sequence[status.TargetStatus]],
    now: datetime,
) -> status.PipelineStatus:
    previous = subject.status
    environments = {
        env.name: environment_status(
            previous.environments.get(env.name), targets.get(env.name, ()), now
        )
        for env in subject.spec.environments
    }
    return previous.model_copy(update={"environments": environments})


def _conditions(
    subject: pipeline.Pipeline,
    current: status.PipelineStatus,
    held: Sequence[summary_rules.Pending],
    now: datetime,
) -> status.PipelineStatus:
    generation = subject.metadata.generation
    conds = summary_rules.remove_condition(current.conditions, conditions.STALLED)
    conds = summary_rules.pending_condition(conds, held, generation=generation, now=now)
    result = current.model_copy(update={"conditions": conds, "observed_generation": generation})
    order = [env.name for env in subject.spec.environments]
    return summary_rules.summarise(result, order, generation=generation, now=now)


def decide(
    subject: pipeline.Pipeline,
    targets: Mapping[str, Sequence[status.TargetStatus]],
    *,
    now: datetime,
    owner: str,
    may_take_over: bool,
) -> Decision:
    """Next status and actions for ``subject`` given what its targets run (see module doc).

    ``owner`` names this pass in the intents it writes; ``may_take_over`` says whether it may
    resume another owner's intent (it holds the Lease, or there is no leader election).
    """
    now = timefmt.truncate(now)
    checked = verification.advance(subject.spec, _observed(subject, targets, now), now)
    current = checked.status
    done: tuple[actions.Action, ...] = checked.actions
    held: tuple[summary_rules.Pending, ...] = ()
    wake: tuple[datetime, ...] = checked.wake
    trail: tuple[Taken, ...] = ()
    for index in range(1, len(subject.spec.environments)):
        view = _view(subject, current, index, now=now, owner=owner, may_take_over=may_take_over)
        moved = _advance(view, current)
        step = moved.step
        current = step.status
        done, wake, trail = (*done, *step.actions), (*wake, *step.wake), trail + moved.trail
        held = (*held, step.hold) if step.hold is not None else held
    return Decision(
        status=_conditions(subject, current, held, now),
        actions=done,
        requeue_at=min(wake) if wake else None,
        trail=trail,
    )
