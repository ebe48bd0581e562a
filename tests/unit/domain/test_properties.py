"""Invariants of the promotion engine over generated pipelines, observations and histories.

Pipelines have 1-5 environments with 1-3 targets each and random promotion policies (strategies,
manual, approvals with approver lists and expiry, soak time, windows, suspend). The existing
status is made the way production makes it: ``decide()`` run a few random steps with random
observations, approvals, rejections and strategy outcomes in between. Then, for random targets
and a random ``now``, ``decide()`` must never promote what the source does not run ready
everywhere, never skip a required approval, be idempotent, and keep the status small.

Profiles: the default runs ~200 examples per property; ``HYPOTHESIS_PROFILE=stress`` runs 5,000.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench import worst_case as worst
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.unit.domain import builders as b

from ferryman.api import pipeline, status
from ferryman.api import verification as checks_api
from ferryman.domain import (
    actions,
    approvals,
    changes,
    decisions,
    errors,
    findings,
    observations,
    outcomes,
    policy,
    transitions,
    verification,
)

settings.register_profile(
    "ferryman-domain",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "stress",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ferryman-domain"))

# DESIGN §3: a status stays below 256 KiB at the CRD's maxima (far below etcd's 1.5 MiB).
STATUS_BUDGET = 256 * 1024

ENV_NAMES = ("dev", "qa", "staging", "perf", "prod")
REVISIONS = ("1.0", "1.1", "1.2")
PEOPLE = (
    approvals.Approver("alice", ("release",)),
    approvals.Approver("bob"),
    approvals.Approver("carol", ("release", "system:authenticated")),
    approvals.Approver("mallory", ("dev",)),
)
Targets = dict[str, list[status.TargetStatus]]


# ------------------------------------------------------------------------------ strategies

windows_ = st.sampled_from(
    [
        None,
        (),
        (b.window("allow", "0 9 * * 1-5", "8h"),),
        (b.window("deny", "0 0 * * *", "6h"),),
        (b.window("allow", "*/15 * * * *", "5m", "Europe/Berlin"),),
        (b.window("allow", "0 9 * * *", "8h"), b.window("deny", "0 12 * * *", "1h")),
    ]
)


@st.composite
def promotions(draw: st.DrawFn) -> pipeline.Promotion | None:
    """A random promotion block (or none)."""
    if draw(st.integers(0, 4)) == 0:
        return None
    via = draw(st.sampled_from([None, "notification", "git-push", "pull-request"]))
    with_approval = draw(st.booleans())
    return b.promotion(
        via=via,
        manual=draw(st.sampled_from([None, False, True])),
        required=draw(st.integers(1, 3)) if with_approval else None,
        users=draw(st.sampled_from([(), ("alice",), ("bob", "mallory")])) if with_approval else (),
        groups=draw(st.sampled_from([(), ("release",)])) if with_approval else (),
        expires=draw(st.sampled_from([None, "30m", "2h"])) if with_approval else None,
        self_approval=draw(st.sampled_from([None, True])) if with_approval else None,
        soak=draw(st.sampled_from([None, 0, 60, 3600])),
        windows=draw(windows_),
    )


CHECK_SETS = (
    None,
    (),
    (b.webhook(),),
    (b.job(timeout="10m"),),
    (b.prometheus(count=2, interval="1m"), b.webhook(retries=0)),
    (b.commit_checks(type="gitea", url="https://g/o/r", secretRef={"name": "g"}),),
)
# Mostly none, so that promotions still happen often enough to test the other properties.
checks_ = st.sampled_from((None,) * 10 + CHECK_SETS)
FINDINGS: tuple[findings.Finding | str, ...] = (
    "crash",
    findings.Sample(0.001),
    findings.Sample(0.5),
    findings.Started(1, "Job started"),
    findings.Answer(True, "answered 204"),
    findings.Answer(False, "answered 422"),
    findings.Answer(None, "0 of 1 Jobs finished"),
    errors.TemporaryError("HTTP 503"),
    errors.PermanentError("forbidden"),
)


@st.composite
def pipelines(draw: st.DrawFn) -> pipeline.Pipeline:
    """A valid Pipeline with 1-5 environments of 1-3 targets (some remote)."""
    count = draw(st.integers(1, 5))
    envs = [
        b.environment(
            name,
            targets=draw(st.integers(1, 3)),
            promotion=draw(promotions()),
            cluster=draw(st.sampled_from([None, "eu"])),
            verify=draw(checks_),
        )
        for name in ENV_NAMES[:count]
    ]
    return b.make(
        *envs,
        promotion=draw(promotions()),
        suspend=draw(st.sampled_from([None, False, True])),
        generation=draw(st.integers(1, 5)),
        verify=draw(checks_),
    )


@st.composite
def observed(draw: st.DrawFn, subject: pipeline.Pipeline) -> Targets:
    """Random target observations; environments tend to agree so promotions really happen."""
    app = subject.spec.app_ref
    out: Targets = {}
    for env in subject.spec.environments:
        common = draw(st.sampled_from(REVISIONS))
        targets = []
        for target in env.targets:
            kind = draw(st.integers(0, 9))
            if kind == 0:
                targets.append(observations.target_status(app, target, None, error="forbidden"))
                continue
            revision = common if kind > 2 else draw(st.sampled_from(REVISIONS))
            ready = kind != 1
            targets.append(
                status.TargetStatus(
                    cluster_app_ref=observations.cluster_app_ref(app, target),
                    ready=ready,
                    revision=revision,
                    error="" if ready else "progressing",
                )
            )
        out[env.name] = targets
    return out


CHANGE = changes.summary("t", (changes.MarkerChange("a.yaml", 3, "1.0", "1.1"),))
OTHER_CHANGE = changes.summary("t", (changes.MarkerChange("a.yaml", 3, "0.9", "1.1"),))


def _rules(subject: pipeline.Pipeline, env: str) -> pipeline.ApprovalPolicy:
    spec = subject.spec.environment(env)
    assert spec is not None
    return policy.effective(subject.spec, spec).approval or pipeline.ApprovalPolicy()


@st.composite
def histories(draw: st.DrawFn, subject: pipeline.Pipeline) -> tuple[pipeline.Pipeline, datetime]:
    """``subject`` with a status made by a few random passes, and the time after them."""
    now = b.NOW
    for _ in range(draw(st.integers(0, 6))):
        now += timedelta(seconds=draw(st.integers(0, 3 * 3600)))
        owner = draw(st.sampled_from([b.ME, b.OTHER]))
        decision = decisions.decide(
            subject, draw(observed(subject)), now=now, owner=owner, may_take_over=True
        )
        current = decision.status
        for action in decision.actions:
            if isinstance(action, actions.Check):
                found = draw(st.sampled_from(FINDINGS))
                spec = verification.check_named(subject.spec, action.environment, action.check)
                if spec is not None and not isinstance(found, str):
                    current = findings.record(
                        current, action=action, spec=spec, finding=found, now=now
                    )
            if isinstance(action, actions.Preview):
                shown: status.ChangeSummary | errors.PromotionError = draw(
                    st.sampled_from(
                        [CHANGE, CHANGE, CHANGE, OTHER_CHANGE, errors.TemporaryError("HTTP 503")]
                    )
                )
                current = outcomes.record_preview(
                    current, action.environment, revision=action.revision, outcome=shown, now=now
                )
            if not isinstance(action, actions.Promote):
                continue
            outcome = draw(
                st.sampled_from(["crash", "success", "temporary", "permanent", "differs"])
            )
            env, revision = action.environment, action.revision
            if outcome == "differs":
                differs = errors.ChangeDiffers("edited", change=OTHER_CHANGE)
                current = outcomes.record_change_differs(
                    current, env, revision=revision, error=differs, now=now
                )
            elif outcome == "success":
                result = status.PromotionResult(url=f"https://git.example.com/pr/{revision}")
                current = outcomes.record_success(current, env, revision=revision, result=result)
            elif outcome != "crash":
                error: errors.PromotionError = (
                    errors.TemporaryError("HTTP 503")
                    if outcome == "temporary"
                    else errors.PermanentError("HTTP 401")
                )
                current = outcomes.record_failure(
                    current, env, revision=revision, error=error, now=now
                )
        for env, env_status in current.environments.items():
            record = env_status.promotion
            if record is None or not draw(st.booleans()):
                continue
            who = draw(st.sampled_from(PEOPLE))
            decide_how = approvals.reject if draw(st.integers(0, 5)) == 0 else approvals.approve
            with contextlib.suppress(approvals.ApprovalRefused):
                current = decide_how(
                    current,
                    env,
                    policy=_rules(subject, env),
                    approver=who,
                    revision=record.revision,
                    comment="generated",
                    now=now,
                )
        subject = subject.model_copy(update={"status": current})
    return subject, now


@dataclass(frozen=True)
class Case:
    """One generated input of ``decide()``."""

    subject: pipeline.Pipeline
    targets: Targets
    now: datetime
    owner: str
    may_take_over: bool


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A pipeline with a generated past, fresh observations, a later ``now``, an owner and
    whether it holds the Lease."""
    subject, then = draw(histories(draw(pipelines())))
    now = then + timedelta(seconds=draw(st.integers(0, 2 * 24 * 3600)))
    owner = draw(st.sampled_from([b.ME, b.OTHER]))
    return Case(subject, draw(observed(subject)), now, owner, draw(st.booleans()))


PASSING: tuple[findings.Finding, ...] = (
    findings.Sample(0.001),
    findings.Started(1, "Job started"),
    findings.Answer(True, "answered 204"),
)
MOSTLY_PASSING = FINDINGS + PASSING * 4


@st.composite
def verified_cases(draw: st.DrawFn) -> Case:
    """dev -> staging (with checks) -> prod, where staging runs 1.1 (mostly ready) and prod 1.0,
    after a few passes whose check steps found random things: staging's checks run, pass or
    fail, and prod may be promoted."""
    subject = b.make(
        "dev",
        b.environment("staging", verify=draw(st.sampled_from(CHECK_SETS[2:]))),
        b.environment("prod", promotion=draw(st.one_of(st.none(), promotions()))),
        promotion=b.promotion(),
    )
    staging: b.Seen = draw(st.sampled_from(["1.1", "1.1", ("1.1", False)]))
    seen = b.targets_of(subject, dev="1.1", staging=staging, prod="1.0")
    now = b.NOW
    for _ in range(draw(st.integers(0, 4))):
        now += timedelta(seconds=draw(st.integers(0, 900)))
        decision = decisions.decide(subject, seen, now=now, owner=b.ME, may_take_over=True)
        current = decision.status
        for action in decision.actions:
            found = draw(st.sampled_from(MOSTLY_PASSING))
            spec = (
                verification.check_named(subject.spec, action.environment, action.check)
                if isinstance(action, actions.Check)
                else None
            )
            if (
                isinstance(action, actions.Check)
                and spec is not None
                and not isinstance(found, str)
            ):
                current = findings.record(current, action=action, spec=spec, finding=found, now=now)
        subject = subject.model_copy(update={"status": current})
    now += timedelta(seconds=draw(st.integers(0, 900)))
    return Case(subject, seen, now, draw(st.sampled_from([b.ME, b.OTHER])), draw(st.booleans()))


def _promoted_after_verification(case: Case, decision: decisions.Decision) -> list[str]:
    """Revisions promoted in ``decision`` out of an environment with checks (not by a pin)."""
    found = []
    for action in decision.actions:
        if not isinstance(action, actions.Promote):
            continue
        env = decision.status.environments[action.environment]
        source = case.subject.spec.environment(action.source)
        pinned = env.hold is not None and bool(env.hold.revision)
        if source is not None and verification.checks_for(case.subject.spec, source) and not pinned:
            found.append(action.source)
    return found


def _decide(case: Case) -> decisions.Decision:
    return decisions.decide(
        case.subject,
        case.targets,
        now=case.now,
        owner=case.owner,
        may_take_over=case.may_take_over,
    )


def size_of(current: status.PipelineStatus) -> int:
    """Bytes of the status as the API server stores it (compact JSON, UTF-8)."""
    return len(json.dumps(current.to_wire(), separators=(",", ":")).encode())


# ------------------------------------------------------------------------------ properties


@PROFILE
@given(cases())
def test_never_promotes_what_the_source_does_not_run_ready_everywhere(case: Case) -> None:
    """Every Promote names a revision each target of the source runs, ready."""
    for action in _decide(case).actions:
        if isinstance(action, actions.Promote):
            source = case.targets[action.source]
            assert source
            assert all(t.ready and t.revision == action.revision for t in source)
            names = [env.name for env in case.subject.spec.environments]
            assert names.index(action.source) == names.index(action.environment) - 1


@PROFILE
@given(cases())
def test_never_skips_a_required_approval(case: Case) -> None:
    """A Promote into an environment with an approval policy has the quorum in its record."""
    decision = _decide(case)
    for action in decision.actions:
        if not isinstance(action, actions.Promote):
            continue
        env = case.subject.spec.environment(action.environment)
        assert env is not None
        rule = policy.effective(case.subject.spec, env).approval
        record = decision.status.environments[action.environment].promotion
        assert record is not None
        assert record.revision == action.revision
        if rule is not None:
            assert approvals.missing(rule, record) == 0


@st.composite
def abandoned(draw: st.DrawFn) -> Case:
    """Another instance wrote its ``Promoting`` intent for the candidate and stopped (died or was
    deposed) after 1..MAX-1 attempts; this instance decides later, with or without the Lease."""
    env = draw(st.sampled_from(["staging", "prod"]))
    source = "dev" if env == "staging" else "staging"
    intent = b.record(
        "1.1",
        status.PromotionPhase.PROMOTING,
        source=source,
        owner=b.OTHER,
        attempts=draw(st.integers(1, decisions.MAX_ATTEMPTS - 1)),
    )
    subject = b.make(promotion=b.notified(), current=b.with_records(**{env: intent}))
    seen = {"dev": "1.1", "staging": "1.1" if env == "prod" else "1.0", "prod": "1.0"}
    later = b.NOW + timedelta(seconds=draw(st.integers(0, 3600)))
    return Case(subject, b.targets_of(subject, **seen), later, b.ME, draw(st.booleans()))


def _foreign_intents(case: Case) -> dict[str, status.PromotionRecord]:
    return {
        name: env.promotion
        for name, env in case.subject.status.environments.items()
        if env.promotion is not None
        and env.promotion.phase is status.PromotionPhase.PROMOTING
        and env.promotion.owner not in (None, case.owner)
    }


@PROFILE
@given(abandoned())
def test_another_owners_intent_is_taken_over_only_with_the_lease(case: Case) -> None:
    """Without the Lease: no Promote for an environment holding another owner's intent, and the
    intent stays as it was. With it: the intent is resumed (attempts + 1, this owner)."""
    assert _foreign_intents(case)
    decision = _decide(case)
    promoted = {a.environment for a in decision.actions if isinstance(a, actions.Promote)}
    for name, record in _foreign_intents(case).items():
        after = decision.status.environments[name].promotion
        assert after is not None
        if case.may_take_over:
            assert name in promoted
            assert (after.owner, after.attempts) == (case.owner, record.attempts + 1)
        else:
            assert name not in promoted
            assert (after.owner, after.attempts) == (record.owner, record.attempts)


@PROFILE
@given(cases())
def test_deciding_again_changes_nothing(case: Case) -> None:
    """decide() on its own output with the same inputs: same status, no new action."""
    first = _decide(case)
    again = decisions.decide(
        case.subject.model_copy(update={"status": first.status}),
        case.targets,
        now=case.now,
        owner=case.owner,
        may_take_over=case.may_take_over,
    )
    assert again.status == first.status
    # Only reads (a Preview, a check's observe step) may be asked for again before their
    # result is recorded.
    repeated = [
        a
        for a in again.actions
        if not isinstance(a, actions.Preview) and not (isinstance(a, actions.Check) and a.reads)
    ]
    assert repeated == []


@PROFILE
@given(st.one_of(verified_cases(), cases()))
def test_never_promotes_a_revision_its_source_has_not_verified(case: Case) -> None:
    """A Promote (but a pin's) moves a revision only after every check of the source passed it."""
    decision = _decide(case)
    promoted = {a.source: a.revision for a in decision.actions if isinstance(a, actions.Promote)}
    for source in _promoted_after_verification(case, decision):
        found = decision.status.environments[source].verification
        event("promoted after verification")
        assert found is not None and found.revision == promoted[source]
        assert found.phase is checks_api.CheckPhase.PASSED


@PROFILE
@given(cases())
def test_every_step_moves_along_an_edge_its_state_declares(case: Case) -> None:
    """The transition table never moves a record along an undeclared edge (see the diagram)."""
    decision = _decide(case)
    for step in decision.trail:
        before, after = step.before, step.after
        if after is None or before == after:
            continue
        same = before is not None and (before.revision, before.requested_at) == (
            after.revision,
            after.requested_at,
        )
        edge = (before.phase if same and before is not None else None, after.phase)
        event(f"edge {type(step.state).__name__}")
        assert edge in transitions.TABLE[type(step.state)].edges


@PROFILE
@given(cases())
def test_status_stays_valid_and_small(case: Case) -> None:
    """The status parses back under the schema's bounds and stays within the size budget."""
    decision = _decide(case)
    wire = decision.status.to_wire()
    assert status.PipelineStatus.model_validate(wire) == decision.status
    assert size_of(decision.status) <= STATUS_BUDGET


anyone = st.builds(
    approvals.Approver,
    st.text(max_size=300),
    st.lists(st.text(max_size=300), max_size=8).map(tuple),
)


@PROFILE
@given(cases(), st.data())
def test_approve_and_reject_only_ever_refuse(case: Case, data: st.DataObject) -> None:
    """Any input: a new valid status or ApprovalRefused; approving twice is a no-op."""
    current, now = _decide(case).status, case.now
    waiting = [
        name
        for name, env in current.environments.items()
        if env.promotion is not None
        and env.promotion.phase is status.PromotionPhase.WAITING_APPROVAL
    ]
    # Mostly aim at a record that can take a decision, sometimes at anything at all.
    env = data.draw(st.sampled_from(waiting or ["nowhere"]) | st.sampled_from([*ENV_NAMES, "x"]))
    record = current.environments.get(env, status.EnvironmentStatus()).promotion
    known = [record.revision] if record is not None else list(REVISIONS)
    revision = data.draw(st.sampled_from(known) | st.text(max_size=300))
    who = data.draw(st.sampled_from(PEOPLE) | anyone)
    comment = data.draw(st.text(max_size=1000))
    act = approvals.reject if data.draw(st.integers(0, 3)) == 0 else approvals.approve
    rule = (
        _rules(case.subject, env)
        if case.subject.spec.environment(env)
        else pipeline.ApprovalPolicy()
    )
    refused: approvals.ApprovalRefused | None = None
    try:
        after = act(
            current, env, policy=rule, approver=who, revision=revision, comment=comment, now=now
        )
    except approvals.ApprovalRefused as exc:
        refused = exc
    if refused is not None:
        event(f"refused: {refused.refusal.value}")
        assert str(refused)
        return
    event("recorded")
    status.PipelineStatus.model_validate(after.to_wire())
    twice = act(after, env, policy=rule, approver=who, revision=revision, comment=comment, now=now)
    assert twice is after


# ------------------------------------------------------------------------------ worst case


def test_worst_case_status_size() -> None:
    """The largest status decide() can write for an object at the CRD's maxima fits the budget.

    Measured: 394 KiB (targets 209 KiB, promotion records 111 KiB, history 53 KiB, conditions
    15 KiB): well below etcd's 1.5 MiB, but above DESIGN §3's 256 KiB target.
    """
    subject, targets = worst.worst_case()
    decision = decisions.decide(subject, targets, now=b.NOW, owner=b.ME, may_take_over=True)
    status.PipelineStatus.model_validate(decision.status.to_wire())
    size = size_of(decision.status)
    print(f"worst-case status: {size} bytes ({size / 1024:.0f} KiB)")
    assert len(decision.status.environments) == pipeline.MAX_ENVIRONMENTS
    assert len(decision.status.history) == status.MAX_HISTORY
    assert size <= STATUS_BUDGET


def test_worst_case_is_really_at_the_maxima() -> None:
    """The worst case is built from the bounds the models enforce, so it parses unchanged."""
    subject, targets = worst.worst_case()
    assert pipeline.Pipeline.model_validate(subject.to_wire()) == subject
    for env_targets in targets.values():
        for target in env_targets:
            assert status.TargetStatus.model_validate(target.to_wire()) == target


def _sizes(values: Mapping[str, Sequence[status.TargetStatus]]) -> int:
    return sum(len(v) for v in values.values())


def test_generated_cases_cover_the_interesting_phases() -> None:
    """The generators reach approvals, promotions and finished records (not just no-ops)."""
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(cases())
    def collect(case: Case) -> None:
        assert _sizes(case.targets) >= len(case.subject.spec.environments)
        for env in _decide(case).status.environments.values():
            if env.promotion is not None:
                seen.add(env.promotion.phase.value)

    collect()
    assert {"WaitingApproval", "Promoting", "Succeeded"} <= seen


def test_generated_cases_promote_after_verification_too() -> None:
    """The verification property is not vacuous: some generated passes promote a verified
    revision out of an environment with checks, and some are held by them."""
    states: set[str] = set()
    promoted: list[str] = []

    @settings(max_examples=150, deadline=None, database=None, derandomize=True)
    @given(verified_cases())
    def collect(case: Case) -> None:
        decision = _decide(case)
        promoted.extend(_promoted_after_verification(case, decision))
        states.update(type(state).__name__ for state in decision.states.values())

    collect()
    assert promoted
    assert {"Verifying", "VerificationFailed"} <= states
