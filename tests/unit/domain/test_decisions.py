"""The promotion state machine, one named scenario per row, grouped by named state (DESIGN §4).

``SCENARIOS`` is keyed on the states of ``domain.states``: to see what happens in state X, read
the rows under ``"X"``. Every row states the states each environment went through in the pass
(``trail``: momentary states, then the resting one), the phase of each environment's promotion
record afterwards, the actions ``decide()`` returns (``Promote``/``Notify``, spelt by
``builders.describe``) and the message of ``PromotionPending`` (``None`` when nothing is
pending). Rows that need more say so in ``check``.
Every row is also decided a second time on its own output, which must change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import pytest
from tests.unit.domain import builders as b

from ferryman.api import conditions, pipeline, status
from ferryman.api import verification as checks
from ferryman.domain import actions, decisions, observations, transitions

Phase = status.PromotionPhase
Seen = Mapping[str, b.Seen] | Callable[[pipeline.Pipeline], Mapping[str, list[status.TargetStatus]]]
Check = Callable[[decisions.Decision], None]


@dataclass(frozen=True)
class Scenario:
    """One row: the pipeline, what its targets run, and what ``decide()`` must answer."""

    subject: pipeline.Pipeline
    seen: Seen
    phases: dict[str, str]
    actions: list[str]
    pending: str | None
    now: datetime = b.NOW
    owner: str = b.ME
    may_take_over: bool = True  # this instance holds the Lease (or runs without election)
    check: Check | None = None
    requeue_at: datetime | None = field(default=None)
    trail: str = field(kw_only=True)  # "staging: NewCandidate > ReadyToPromote; prod: InSync"


def _targets(
    scenario: Scenario,
) -> Mapping[str, Sequence[status.TargetStatus]]:
    if callable(scenario.seen):
        return scenario.seen(scenario.subject)
    return b.targets_of(scenario.subject, **scenario.seen)


# ---------------------------------------------------------------- shapes used by several rows

NOTIFIED = b.notified()
NOTHING = pipeline.Promotion()  # no strategy: observe only
SYNCED = {"dev": "1.1", "staging": "1.1", "prod": "1.0"}  # prod is the one behind


def prod_with(
    policy: pipeline.Promotion,
    rec: status.PromotionRecord | None = None,
    *,
    promotion: pipeline.Promotion = NOTIFIED,
) -> pipeline.Pipeline:
    """dev -> staging -> prod: ``promotion`` pipeline-wide, ``policy`` on prod, ``rec`` there."""
    current = b.with_records(prod=rec) if rec is not None else None
    return b.make(
        "dev",
        "staging",
        b.environment("prod", promotion=policy),
        promotion=promotion,
        current=current,
    )


def prod_held(
    policy: pipeline.Promotion,
    rec: status.PromotionRecord | None = None,
    *,
    reason: status.HoldReason = status.HoldReason.HOLD,
    revision: str | None = None,
    current: status.PipelineStatus | None = None,
) -> pipeline.Pipeline:
    """dev -> staging -> prod with ``policy`` on prod, ``rec`` there, and alice's hold on prod."""
    base = b.with_records(current, prod=rec) if rec is not None else current
    return b.make(
        "dev",
        "staging",
        b.environment("prod", promotion=policy),
        promotion=NOTIFIED,
        current=b.held(base, reason=reason, revision=revision),
    )


HELD_SINCE = "2026-12-01T09:59:00Z"
ROLLBACK = status.HoldReason.ROLLBACK


def staging_with(rec: status.PromotionRecord) -> pipeline.Pipeline:
    """The default pipeline with ``rec`` as the record of staging."""
    return b.make(promotion=NOTIFIED, current=b.with_records(staging=rec))


def dev_ready_since(moment: datetime, revision: str = "1.1") -> status.PipelineStatus:
    """A status saying dev has run ``revision`` ready since ``moment``."""
    return status.PipelineStatus(
        environments={
            "dev": status.EnvironmentStatus(revision=revision, ready=True, ready_since=moment)
        }
    )


def history(count: int) -> tuple[status.HistoryEntry, ...]:
    """``count`` older history entries, newest first."""
    return tuple(
        status.HistoryEntry(
            environment="prod", revision=f"0.{count - i}", phase=Phase.SUCCEEDED, at=b.ago(days=i)
        )
        for i in range(count)
    )


def helm_v2beta1_targets(subject: pipeline.Pipeline) -> dict[str, list[status.TargetStatus]]:
    """Targets read from real-looking HelmRelease v2beta1 objects (chart version in history)."""

    def release(version: str) -> dict[str, object]:
        return {
            "metadata": {"generation": 3},
            "status": {
                "observedGeneration": 3,
                "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded"}],
                "lastAttemptedRevision": version,
                "history": [{"version": 2, "chartVersion": version}],
            },
        }

    versions = {"dev": "6.1.0", "staging": "6.0.0", "prod": "6.0.0"}
    app = subject.spec.app_ref
    return {
        env.name: [
            observations.target_status(app, t, release(versions[env.name])) for t in env.targets
        ]
        for env in subject.spec.environments
    }


# ---------------------------------------------------------------- verification shapes

SMOKE = b.webhook()  # a signed call that must answer 2xx
ERRORS = b.prometheus(count=10, interval="1m")  # the error rate stays low for 10 minutes
SMOKE_TEST = b.job()  # a Job in staging's namespace
READY_SYNCED = "All targets checked: dev=1.1, staging=1.1, prod=1.0"
STAGING_WAITS = "prod: waiting for staging's checks of 1.1: smoke running, error-rate running"


def staging_checked(
    current: status.PipelineStatus | None = None,
    *,
    verify: Sequence[checks.Check] = (SMOKE, ERRORS),
    prod: pipeline.Promotion | None = None,
) -> pipeline.Pipeline:
    """dev -> staging (with ``verify`` checks) -> prod (``prod`` policy), by notification."""
    return b.make(
        "dev",
        b.environment("staging", verify=verify),
        b.environment("prod", promotion=prod),
        promotion=NOTIFIED,
        current=current,
    )


def staging_verified(
    phase: str, *found: checks.CheckStatus, revision: str = "1.1"
) -> status.PipelineStatus:
    """A status whose staging verification of ``revision`` stands at ``phase``."""
    return b.verifying(None, "staging", b.verified(revision, phase, *found))


def verification_of(env: str, revision: str, phase: str, **per_check: dict[str, object]) -> Check:
    """Check ``env``'s verification: its revision, phase and some fields of each named check."""

    def check(decision: decisions.Decision) -> None:
        found = decision.status.environments[env].verification
        assert found is not None
        assert (found.revision, found.phase.value) == (revision, phase)
        for name, fields in per_check.items():
            one = found.check(name)
            assert one is not None, name
            wire = one.to_wire()
            assert {key: wire.get(key) for key in fields} == fields, (name, wire)

    return check


# ---------------------------------------------------------------- checks


def ready_is(status_: str, reason: str, message: str) -> Check:
    def check(decision: decisions.Decision) -> None:
        ready = decision.status.condition(conditions.READY)
        assert ready is not None
        assert (ready.status, ready.reason, ready.message) == (status_, reason, message)

    return check


def mirror(env: str, revision: str | None) -> Check:
    def check(decision: decisions.Decision) -> None:
        waiting = decision.status.environments[env].waiting_approval
        assert (waiting.revision if waiting else None) == revision

    return check


def latest_history(env: str, revision: str, phase: Phase, by: str | None = None) -> Check:
    def check(decision: decisions.Decision) -> None:
        entry = decision.status.history[0]
        assert (entry.environment, entry.revision, entry.phase, entry.by) == (
            env,
            revision,
            phase,
            by,
        )
        assert entry.at == b.NOW

    return check


def trigger_is(env: str, trigger: status.HoldReason) -> Check:
    def check(decision: decisions.Decision) -> None:
        record = decision.status.environments[env].promotion
        assert record is not None and record.trigger is trigger

    return check


def all_of(*checks: Check) -> Check:
    def check(decision: decisions.Decision) -> None:
        for one in checks:
            one(decision)

    return check


def no_history(decision: decisions.Decision) -> None:
    assert decision.status.history == ()


def bounded_history(decision: decisions.Decision) -> None:
    entries = decision.status.history
    assert len(entries) == status.MAX_HISTORY
    assert (entries[0].environment, entries[0].revision) == ("staging", "1.1")
    assert entries[1].revision == "0.20"
    assert entries[-1].revision == "0.2"


def resumed_by_me(decision: decisions.Decision) -> None:
    record = decision.status.environments["staging"].promotion
    assert record is not None
    assert (record.owner, record.attempts, record.next_attempt_at) == (b.ME, 2, None)


def kept_by(owner: str, *, attempts: int) -> Check:
    def check(decision: decisions.Decision) -> None:
        record = decision.status.environments["staging"].promotion
        assert record is not None
        assert (record.owner, record.attempts) == (owner, attempts)

    return check


def observed_everything(decision: decisions.Decision) -> None:
    envs = decision.status.environments
    assert [(n, e.revision, e.ready) for n, e in envs.items()] == [
        ("dev", "1.1", True),
        ("staging", "1.0", True),
        ("prod", "1.0", True),
    ]
    assert envs["dev"].ready_since == b.NOW


def no_stalled(decision: decisions.Decision) -> None:
    assert decision.status.condition(conditions.STALLED) is None
    assert [c.type for c in decision.status.conditions] == [
        conditions.PROMOTION_PENDING,
        conditions.READY,
    ]


def generation_seven(decision: decisions.Decision) -> None:
    assert decision.status.observed_generation == 7
    assert {c.observed_generation for c in decision.status.conditions} == {7}


def transition_times(ready: datetime, pending: datetime) -> Check:
    def check(decision: decisions.Decision) -> None:
        got_ready = decision.status.condition(conditions.READY)
        got_pending = decision.status.condition(conditions.PROMOTION_PENDING)
        assert got_ready is not None
        assert got_pending is not None
        assert (got_ready.last_transition_time, got_pending.last_transition_time) == (
            ready,
            pending,
        )

    return check


def remote_targets(decision: decisions.Decision) -> None:
    targets = decision.status.environments["staging"].targets
    refs = [t.cluster_app_ref.cluster_ref for t in targets]
    assert [(r.name, r.namespace) if r else None for r in refs] == [
        ("staging-eu", "flux-system"),
        ("staging-eu", "flux-system"),
    ]
    assert [t.cluster_app_ref.namespace for t in targets] == ["staging", "staging-1"]


def helm_refs(decision: decisions.Decision) -> None:
    dev = decision.status.environments["dev"]
    assert dev.revision == "6.1.0"
    assert dev.targets[0].cluster_app_ref.api_version == "helm.toolkit.fluxcd.io/v2beta1"


def previous_conditions(ready: Literal["True", "False"]) -> status.PipelineStatus:
    """Conditions written three days ago: Ready ``ready``, nothing pending."""
    old = b.ago(days=3)
    return status.PipelineStatus(
        conditions=(
            status.Condition(
                type=conditions.PROMOTION_PENDING,
                status="False",
                reason=conditions.ALL_IN_SYNC,
                message="no promotion is pending",
                last_transition_time=old,
            ),
            status.Condition(
                type=conditions.READY,
                status=ready,
                reason="Whatever",
                last_transition_time=old,
            ),
            status.Condition(
                type=conditions.STALLED,
                status="True",
                reason=conditions.INVALID_SPEC,
                message="spec.environments: must not be empty",
                last_transition_time=old,
            ),
        )
    )


def suspended_in(env: str, **seen: b.Seen) -> Seen:
    """``seen`` with every target of ``env`` reporting ``spec.suspend: true``."""

    def targets(subject: pipeline.Pipeline) -> dict[str, list[status.TargetStatus]]:
        out = b.targets_of(subject, **seen)
        out[env] = [t.model_copy(update={"suspended": True}) for t in out[env]]
        return out

    return targets


WAITING = Phase.WAITING_APPROVAL
RELEASE = ["release-managers"]
# Revisions as Flux writes them (fluxcd/pkg git.Commit.String, helm-controller's OCI suffix).
COMMIT = "450796ddb2ab6724ee1cc32a4be56da032d1cca0"
OTHER_COMMIT = "67e2c98a60dc92283531412a9e604dd4bae005a9"
KUSTOMIZATION = pipeline.AppRef(
    api_version="kustomize.toolkit.fluxcd.io/v1", kind="Kustomization", name="podinfo"
)


def kustomized(rec: status.PromotionRecord | None = None) -> pipeline.Pipeline:
    """The default pipeline over a Kustomization; ``rec`` is staging's record."""
    current = b.with_records(staging=rec) if rec is not None else None
    return b.make(promotion=NOTIFIED, app=KUSTOMIZATION, current=current)


TWO_FROM_RELEASE = b.promotion(required=2, groups=RELEASE)
PR_URL = "https://github.com/org/fleet/pull/7"
WORKDAY = [b.window("allow", "0 9 * * 1-5", "8h")]

SCENARIOS: dict[str, dict[str, Scenario]] = {
    "Arrived": {
        "a promoted branch revision arrives as the bare commit it points at": Scenario(
            kustomized(b.record(f"main@sha1:{COMMIT}", Phase.PROMOTED, source="dev")),
            {"dev": f"main@sha1:{COMMIT}", "staging": f"sha1:{COMMIT}", "prod": f"sha1:{COMMIT}"},
            {"staging": "Succeeded"},
            [f"Notify staging Succeeded main@sha1:{COMMIT}"],
            None,
            trail="staging: Arrived > InSync; prod: InSync",
        ),
        "a waiting revision deployed by hand counts as succeeded": Scenario(
            prod_with(b.promotion(required=1), b.record("1.1", WAITING)),
            {"dev": "1.1", "staging": "1.1", "prod": "1.1"},
            {"prod": "Succeeded"},
            ["Notify prod Succeeded 1.1"],
            None,
            check=latest_history("prod", "1.1", Phase.SUCCEEDED),
            trail="staging: InSync; prod: Arrived > InSync",
        ),
        "staging runs the revision: Succeeded, history names the approver, prod is next": Scenario(
            staging_with(
                b.record(
                    "1.1",
                    Phase.PROMOTED,
                    source="dev",
                    approvals=["alice"],
                    result=status.PromotionResult(url=PR_URL, number=7),
                )
            ),
            {"dev": "1.1", "staging": "1.1", "prod": "1.0"},
            {"staging": "Succeeded", "prod": "Promoting"},
            ["Notify staging Succeeded 1.1", "Promote 1.1 staging->prod #1 via notification"],
            "prod: promoting 1.1",
            check=latest_history("staging", "1.1", Phase.SUCCEEDED, by="alice"),
            trail="staging: Arrived > InSync; prod: NewCandidate > ReadyToPromote",
        ),
        "history is bounded at 20 entries, newest first": Scenario(
            b.make(
                promotion=NOTIFIED,
                current=b.with_records(
                    status.PipelineStatus(history=history(status.MAX_HISTORY)),
                    staging=b.record("1.1", Phase.PROMOTED, source="dev"),
                ),
            ),
            {"dev": "1.1", "staging": "1.1", "prod": "1.1"},
            {"staging": "Succeeded"},
            ["Notify staging Succeeded 1.1"],
            None,
            check=bounded_history,
            trail="staging: Arrived > InSync; prod: InSync",
        ),
        "a record held by soak time succeeds when its revision is deployed by hand": Scenario(
            staging_with(b.record("1.1", Phase.PENDING, source="dev")),
            {"dev": "1.1", "staging": "1.1", "prod": "1.0"},
            {"staging": "Succeeded", "prod": "Promoting"},
            ["Notify staging Succeeded 1.1", "Promote 1.1 staging->prod #1 via notification"],
            "prod: promoting 1.1",
            trail="staging: Arrived > InSync; prod: NewCandidate > ReadyToPromote",
        ),
        "an Approved record succeeds when the environment runs it before the promotion": Scenario(
            prod_with(
                b.promotion(required=1),
                b.record("1.1", Phase.APPROVED, approvals=["alice"]),
            ),
            {"dev": "1.1", "staging": "1.1", "prod": "1.1"},
            {"prod": "Succeeded"},
            ["Notify prod Succeeded 1.1"],
            None,
            check=latest_history("prod", "1.1", Phase.SUCCEEDED, by="alice"),
            trail="staging: InSync; prod: Arrived > InSync",
        ),
        "the environment runs the revision before the strategy reports: Succeeded": Scenario(
            staging_with(b.record("1.1", Phase.PROMOTING, source="dev", owner=b.ME, attempts=1)),
            {"dev": "1.1", "staging": "1.1", "prod": "1.1"},
            {"staging": "Succeeded"},
            ["Notify staging Succeeded 1.1"],
            None,
            trail="staging: Arrived > InSync; prod: InSync",
        ),
    },
    "SourceNotReady": {
        "staging moved to a revision not ready yet: its verdict on the old one stays": Scenario(
            staging_checked(
                staging_verified("Running", b.check("smoke", count=1, nextAt=b.ago(minutes=1))),
                verify=[SMOKE],
            ),
            {"dev": "1.2", "staging": ("1.2", False), "prod": "1.0"},
            {},
            [],
            "staging: staging runs 1.2 but is not ready",
            check=verification_of("staging", "1.1", "Running", smoke={"count": 1}),
            trail="staging: RollingOut; prod: SourceNotReady",
        ),
        "source not ready: nothing promoted, an environment in sync is not held": Scenario(
            b.make(promotion=NOTIFIED),
            {"dev": ("1.1", False), "staging": "1.0", "prod": "1.0"},
            {},
            [],
            None,
            trail="staging: SourceNotReady; prod: InSync",
        ),
        "source not ready holds an environment that is not running yet": Scenario(
            b.make(promotion=NOTIFIED),
            {"dev": ("1.1", False)},
            {},
            [],
            "staging: dev is not ready; prod: staging is not ready",
            trail="staging: SourceNotReady; prod: SourceNotReady",
        ),
        "source not ready holds an environment with an unfinished promotion": Scenario(
            prod_with(b.promotion(required=1), b.record("1.1", WAITING), promotion=NOTHING),
            {"dev": "1.2", "staging": ("1.2", False), "prod": "1.0"},
            {"prod": "WaitingApproval"},
            [],
            "prod: staging is not ready",
            trail="staging: Unmanaged; prod: SourceNotReady",
        ),
        "source not ready does not hold an environment whose promotion finished": Scenario(
            staging_with(b.record("1.1", Phase.SUCCEEDED, source="dev")),
            {"dev": ("1.2", False), "staging": "1.1", "prod": "1.1"},
            {"staging": "Succeeded"},
            [],
            None,
            trail="staging: SourceNotReady; prod: InSync",
        ),
        "targets disagree: nothing promoted": Scenario(
            b.make(b.environment("dev", targets=2), "staging", "prod", promotion=NOTIFIED),
            {"dev": ["1.1", "1.0"]},
            {},
            [],
            "staging: targets of dev disagree on the revision; prod: staging is not ready",
            trail="staging: SourceNotReady; prod: SourceNotReady",
        ),
        "no strategy: a source that is not ready holds nothing": Scenario(
            b.make(b.environment("dev", targets=2), "staging", "prod"),
            {"dev": ["1.1", "1.0"]},
            {},
            [],
            None,
            trail="staging: SourceNotReady; prod: SourceNotReady",
        ),
        "Ready is False when a target is unreadable": Scenario(
            b.make(),
            {"dev": "1.0", "prod": "1.0"},
            {},
            [],
            None,
            check=ready_is(
                "False", conditions.TARGET_NOT_READABLE, "staging: staging/podinfo: forbidden"
            ),
            trail="staging: Unmanaged; prod: SourceNotReady",
        ),
        "Ready is False while a target is not ready at its revision": Scenario(
            b.make(),
            {"dev": "1.0", "staging": ("1.0", False), "prod": "1.0"},
            {},
            [],
            None,
            check=ready_is(
                "False",
                conditions.ENVIRONMENT_NOT_READY,
                "staging: staging/podinfo: upgrade in progress",
            ),
            trail="staging: Unmanaged; prod: SourceNotReady",
        ),
    },
    "InSync": {
        "a tag and the branch it was cut from are one commit: in sync": Scenario(
            kustomized(),
            {
                "dev": f"main@sha1:{COMMIT}",
                "staging": f"v1.0.1@sha1:{COMMIT}",
                "prod": f"refs/tags/v1.0.1@sha1:{COMMIT}",
            },
            {},
            [],
            None,
            trail="staging: InSync; prod: InSync",
        ),
        "first pass on a fresh pipeline: everything in sync, nothing to do": Scenario(
            b.make(promotion=NOTIFIED),
            {"dev": "1.0", "staging": "1.0", "prod": "1.0"},
            {},
            [],
            None,
            check=all_of(
                ready_is(
                    "True",
                    conditions.RECONCILIATION_SUCCEEDED,
                    "All targets checked: dev=1.0, staging=1.0, prod=1.0",
                ),
                no_history,
            ),
            trail="staging: InSync; prod: InSync",
        ),
        "Stalled is removed once the spec is valid": Scenario(
            b.make(promotion=NOTIFIED, current=previous_conditions("False")),
            {"dev": "1.0", "staging": "1.0", "prod": "1.0"},
            {},
            [],
            None,
            check=no_stalled,
            trail="staging: InSync; prod: InSync",
        ),
        "observedGeneration follows metadata.generation": Scenario(
            b.make(promotion=NOTIFIED, generation=7),
            {"dev": "1.0", "staging": "1.0", "prod": "1.0"},
            {},
            [],
            None,
            check=generation_seven,
            trail="staging: InSync; prod: InSync",
        ),
        "lastTransitionTime is kept while a condition's status is unchanged": Scenario(
            b.make(promotion=NOTIFIED, current=previous_conditions("True")),
            {"dev": "1.0", "staging": "1.0", "prod": "1.0"},
            {},
            [],
            None,
            check=transition_times(ready=b.ago(days=3), pending=b.ago(days=3)),
            trail="staging: InSync; prod: InSync",
        ),
        "a pinned environment on the revision the source runs is simply in sync": Scenario(
            prod_held(b.promotion(), reason=status.HoldReason.PIN, revision="1.1"),
            {"dev": "1.1", "staging": "1.1", "prod": "1.1"},
            {},
            [],
            None,
            trail="staging: InSync; prod: InSync",
        ),
    },
    "Pinned": {
        "a rolled-back environment stays put while the source offers a newer revision": Scenario(
            prod_held(b.promotion(required=1), reason=ROLLBACK, revision="1.0"),
            SYNCED,
            {},
            [],
            f"prod: 1.1 waits: rolled back to 1.0 by alice since {HELD_SINCE}: incident 42",
            trail="staging: InSync; prod: Pinned",
        ),
    },
    "Overtaken": {
        "newer revision supersedes a waiting approval": Scenario(
            prod_with(b.promotion(required=1), b.record("1.1", WAITING, approvals=["mallory"])),
            {"dev": "1.2", "staging": "1.2", "prod": "1.0"},
            {"prod": "Pending"},
            ["Notify prod Superseded 1.1", "Preview 1.2 staging->prod"],
            "prod: preparing the change of 1.2 for approval",
            check=all_of(latest_history("prod", "1.1", Phase.SUPERSEDED), mirror("prod", None)),
            trail="staging: InSync; prod: Overtaken > NewCandidate > AwaitingChange",
        ),
        "an environment already running the candidate supersedes an older open record": Scenario(
            prod_with(b.promotion(required=1), b.record("1.1", WAITING)),
            {"dev": "1.2", "staging": "1.2", "prod": "1.2"},
            {"prod": "Superseded"},
            ["Notify prod Superseded 1.1"],
            None,
            check=mirror("prod", None),
            trail="staging: InSync; prod: Overtaken > InSync",
        ),
        "a newer candidate supersedes a record held by soak time": Scenario(
            b.make(
                "dev",
                b.environment("staging", promotion=b.promotion(soak=600)),
                "prod",
                promotion=NOTIFIED,
                current=b.with_records(staging=b.record("1.1", Phase.PENDING, source="dev")),
            ),
            {"dev": "1.2", "staging": "1.0", "prod": "1.0"},
            {"staging": "Pending"},
            ["Notify staging Superseded 1.1"],
            "staging: soak time: source must stay ready until 2026-12-01T10:10:00Z",
            check=latest_history("staging", "1.1", Phase.SUPERSEDED),
            trail="staging: Overtaken > NewCandidate > Gated; prod: InSync",
        ),
        "a newer candidate supersedes an Approved record: approvals never carry over": Scenario(
            prod_with(
                b.promotion(required=1), b.record("1.1", Phase.APPROVED, approvals=["alice"])
            ),
            {"dev": "1.2", "staging": "1.2", "prod": "1.0"},
            {"prod": "Pending"},
            ["Notify prod Superseded 1.1", "Preview 1.2 staging->prod"],
            "prod: preparing the change of 1.2 for approval",
            trail="staging: InSync; prod: Overtaken > NewCandidate > AwaitingChange",
        ),
        "a newer candidate supersedes a Promoted record (its pull request is outdated)": Scenario(
            staging_with(
                b.record(
                    "1.1",
                    Phase.PROMOTED,
                    source="dev",
                    attempts=1,
                    result=status.PromotionResult(url=PR_URL, number=7),
                )
            ),
            {"dev": "1.2", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            ["Notify staging Superseded 1.1", "Promote 1.2 dev->staging #1 via notification"],
            "staging: promoting 1.2",
            trail="staging: Overtaken > NewCandidate > ReadyToPromote; prod: InSync",
        ),
        "a newer candidate supersedes a Promoting record; its late outcome is ignored": Scenario(
            staging_with(b.record("1.1", Phase.PROMOTING, source="dev", owner=b.ME, attempts=1)),
            {"dev": "1.2", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            ["Notify staging Superseded 1.1", "Promote 1.2 dev->staging #1 via notification"],
            "staging: promoting 1.2",
            trail="staging: Overtaken > NewCandidate > ReadyToPromote; prod: InSync",
        ),
    },
    "Unmanaged": {
        "no strategy: observe only (original behaviour)": Scenario(
            b.make(),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {},
            [],
            None,
            check=observed_everything,
            trail="staging: Unmanaged; prod: InSync",
        ),
    },
    "RollingOut": {
        "a succeeded revision the environment no longer runs ready is not promoted again": Scenario(
            staging_with(b.record("1.1", Phase.SUCCEEDED, source="dev")),
            {"dev": "1.1", "staging": ("1.1", False), "prod": "1.0"},
            {"staging": "Succeeded"},
            [],
            "staging: staging runs 1.1 but is not ready",
            trail="staging: RollingOut; prod: SourceNotReady",
        ),
        "an environment rolling out the candidate with no record is not promoted again": Scenario(
            b.make("dev", "staging", promotion=NOTIFIED),
            {"dev": "1.1", "staging": ("1.1", False)},
            {},
            [],
            "staging: staging runs 1.1 but is not ready",
            trail="staging: RollingOut",
        ),
    },
    "Unobservable": {
        "a target that cannot be read is never promoted into": Scenario(
            b.make(promotion=NOTIFIED),
            {"dev": "1.1", "prod": "1.0"},
            {},
            [],
            "staging: cannot see what staging runs (staging/podinfo: forbidden)",
            check=ready_is(
                "False", conditions.TARGET_NOT_READABLE, "staging: staging/podinfo: forbidden"
            ),
            trail="staging: Unobservable; prod: SourceNotReady",
        ),
    },
    "NewCandidate": {
        "a new revision in dev is promoted to staging at once": Scenario(
            b.make(promotion=NOTIFIED),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            ["Promote 1.1 dev->staging #1 via notification"],
            "staging: promoting 1.1",
            check=observed_everything,
            trail="staging: NewCandidate > ReadyToPromote; prod: InSync",
        ),
        "a rollback promotes a revision the source does not run, without its soak time": Scenario(
            prod_held(b.promotion(soak=600), reason=ROLLBACK, revision="1.1"),
            {"dev": "1.2", "staging": "1.2", "prod": "1.2"},
            {"prod": "Promoting"},
            ["Promote 1.1 staging->prod #1 via notification"],
            "prod: promoting 1.1",
            check=trigger_is("prod", ROLLBACK),
            trail="staging: InSync; prod: NewCandidate > ReadyToPromote",
        ),
        "a rollback goes through the approval gate, whatever the source runs": Scenario(
            prod_held(b.promotion(required=1), reason=ROLLBACK, revision="1.0"),
            {"dev": ("1.2", False), "staging": "1.1", "prod": "1.1"},
            {"prod": "Pending"},
            ["Preview 1.0 staging->prod"],
            "prod: preparing the change of 1.0 for approval",
            check=all_of(trigger_is("prod", ROLLBACK), mirror("prod", None)),
            trail="staging: SourceNotReady; prod: NewCandidate > AwaitingChange",
        ),
        "a pin asks again for a revision whose earlier promotion was rejected": Scenario(
            prod_held(
                b.promotion(required=1),
                b.record(
                    "1.0",
                    Phase.REJECTED,
                    rejection=status.RejectionRecord(user="bob", at=b.ago(minutes=30)),
                ),
                reason=status.HoldReason.PIN,
                revision="1.0",
            ),
            {"dev": "1.1", "staging": "1.1", "prod": "0.9"},
            {"prod": "Pending"},
            ["Preview 1.0 staging->prod"],
            "prod: preparing the change of 1.0 for approval",
            check=trigger_is("prod", status.HoldReason.PIN),
            trail="staging: InSync; prod: NewCandidate > AwaitingChange",
        ),
    },
    "Finished": {
        "an expired revision is not requested again": Scenario(
            prod_with(b.promotion(required=1), b.record("1.1", Phase.EXPIRED)),
            SYNCED,
            {"prod": "Expired"},
            [],
            "prod: the approval request for 1.1 expired",
            trail="staging: InSync; prod: Finished",
        ),
        "rejected revision is not promoted again": Scenario(
            prod_with(
                b.promotion(required=1),
                b.record(
                    "1.1",
                    Phase.REJECTED,
                    rejection=status.RejectionRecord(user="bob", at=b.ago(minutes=1)),
                ),
            ),
            SYNCED,
            {"prod": "Rejected"},
            [],
            "prod: 1.1 was rejected by bob",
            check=ready_is(
                "True",
                conditions.RECONCILIATION_SUCCEEDED,
                "All targets checked: dev=1.1, staging=1.1, prod=1.0",
            ),
            trail="staging: InSync; prod: Finished",
        ),
        "a superseded revision is not promoted again": Scenario(
            prod_with(b.promotion(required=1), b.record("1.1", Phase.SUPERSEDED)),
            SYNCED,
            {"prod": "Superseded"},
            [],
            "prod: the promotion of 1.1 into prod was superseded",
            trail="staging: InSync; prod: Finished",
        ),
    },
    "Delivered": {
        "Promoted waits for the environment to run the revision": Scenario(
            staging_with(
                b.record(
                    "1.1",
                    Phase.PROMOTED,
                    source="dev",
                    attempts=1,
                    result=status.PromotionResult(url=PR_URL, number=7),
                )
            ),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoted"},
            [],
            f"staging: waiting for staging to run 1.1 ({PR_URL})",
            trail="staging: Delivered; prod: InSync",
        ),
        "a promoted revision the environment runs but is not ready yet keeps waiting": Scenario(
            staging_with(b.record("1.1", Phase.PROMOTED, source="dev")),
            {"dev": "1.1", "staging": ("1.1", False), "prod": "1.0"},
            {"staging": "Promoted"},
            [],
            "staging: waiting for staging to run 1.1",
            trail="staging: Delivered; prod: SourceNotReady",
        ),
        "a hold does not undo a promotion that already acted": Scenario(
            prod_held(b.promotion(), b.record("1.1", Phase.PROMOTED, attempts=1)),
            SYNCED,
            {"prod": "Promoted"},
            [],
            "prod: waiting for prod to run 1.1",
            trail="staging: InSync; prod: Delivered",
        ),
    },
    "InFlight": {
        "Promoting owned by me: no second action": Scenario(
            staging_with(b.record("1.1", Phase.PROMOTING, source="dev", owner=b.ME, attempts=1)),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            [],
            "staging: promoting 1.1",
            trail="staging: InFlight; prod: InSync",
        ),
    },
    "OwnedElsewhere": {
        "without the Lease, another instance's intent is left alone": Scenario(
            staging_with(b.record("1.1", Phase.PROMOTING, source="dev", owner=b.OTHER, attempts=1)),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            [],
            "staging: promoting 1.1",
            may_take_over=False,
            check=kept_by(b.OTHER, attempts=1),
            trail="staging: OwnedElsewhere; prod: InSync",
        ),
        "without the Lease, another instance's exhausted intent is not failed either": Scenario(
            staging_with(
                b.record(
                    "1.1",
                    Phase.PROMOTING,
                    source="dev",
                    owner=b.OTHER,
                    attempts=decisions.MAX_ATTEMPTS,
                )
            ),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            [],
            "staging: promoting 1.1",
            may_take_over=False,
            check=kept_by(b.OTHER, attempts=decisions.MAX_ATTEMPTS),
            trail="staging: OwnedElsewhere; prod: InSync",
        ),
    },
    "Retrying": {
        "a failed attempt waits for nextAttemptAt": Scenario(
            staging_with(
                b.record(
                    "1.1",
                    Phase.PROMOTING,
                    source="dev",
                    attempts=1,
                    last_error="HTTP 503",
                    next_attempt_at=b.later(seconds=40),
                )
            ),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            [],
            "staging: attempt 1 of 1.1 failed: HTTP 503; retrying at 2026-12-01T10:00:40Z",
            requeue_at=b.later(seconds=40),
            trail="staging: Retrying; prod: InSync",
        ),
    },
    "Exhausted": {
        "attempts exhausted: Failed, and Ready says so": Scenario(
            staging_with(
                b.record(
                    "1.1",
                    Phase.PROMOTING,
                    source="dev",
                    attempts=decisions.MAX_ATTEMPTS,
                    last_error="HTTP 503",
                    next_attempt_at=b.ago(seconds=1),
                )
            ),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Failed"},
            ["Notify staging Failed 1.1 (warning)"],
            "staging: promotion of 1.1 failed: HTTP 503",
            check=all_of(
                ready_is(
                    "False",
                    conditions.PROMOTION_FAILED,
                    "staging: promotion of 1.1 failed: HTTP 503",
                ),
                latest_history("staging", "1.1", Phase.FAILED),
            ),
            trail="staging: Exhausted; prod: InSync",
        ),
    },
    "RetryDue": {
        "a failed attempt is retried once nextAttemptAt has passed": Scenario(
            staging_with(
                b.record(
                    "1.1",
                    Phase.PROMOTING,
                    source="dev",
                    attempts=1,
                    last_error="HTTP 503",
                    next_attempt_at=b.ago(seconds=1),
                )
            ),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            ["Promote 1.1 dev->staging #2 via notification"],
            "staging: promoting 1.1",
            check=resumed_by_me,
            trail="staging: RetryDue; prod: InSync",
        ),
    },
    "Abandoned": {
        "Promoting owned by another instance is resumed with attempts + 1": Scenario(
            staging_with(b.record("1.1", Phase.PROMOTING, source="dev", owner=b.OTHER, attempts=1)),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            ["Promote 1.1 dev->staging #2 via notification"],
            "staging: promoting 1.1",
            check=resumed_by_me,
            trail="staging: Abandoned; prod: InSync",
        ),
        "a promotion in flight continues while a target cannot be read": Scenario(
            staging_with(b.record("1.1", Phase.PROMOTING, source="dev", owner=b.OTHER, attempts=1)),
            {"dev": "1.1", "prod": "1.0"},
            {"staging": "Promoting"},
            ["Promote 1.1 dev->staging #2 via notification"],
            "staging: promoting 1.1",
            trail="staging: Abandoned; prod: SourceNotReady",
        ),
    },
    "Held": {
        "a held environment takes no new candidate: the record waits, saying who and why": Scenario(
            prod_held(b.promotion(required=1)),
            SYNCED,
            {"prod": "Pending"},
            [],
            f"prod: 1.1 waits: held by alice since {HELD_SINCE}: incident 42",
            check=mirror("prod", None),
            trail="staging: InSync; prod: NewCandidate > Held",
        ),
        "a hold stops a waiting approval from going further": Scenario(
            prod_held(b.promotion(required=1), b.record("1.1", WAITING, approvals=["bob"])),
            SYNCED,
            {"prod": "WaitingApproval"},
            [],
            f"prod: 1.1 waits: held by alice since {HELD_SINCE}: incident 42",
            trail="staging: InSync; prod: Held",
        ),
        "a held environment does not retry a failed attempt": Scenario(
            prod_held(
                b.promotion(),
                b.record(
                    "1.1",
                    Phase.PROMOTING,
                    attempts=1,
                    last_error="HTTP 503",
                    next_attempt_at=b.ago(seconds=1),
                ),
            ),
            SYNCED,
            {"prod": "Promoting"},
            [],
            f"prod: 1.1 waits: held by alice since {HELD_SINCE}: incident 42",
            trail="staging: InSync; prod: Held",
        ),
        "a held environment's waiting approval still expires": Scenario(
            prod_held(
                b.promotion(required=1, expires="1h"),
                b.record("1.1", WAITING, approval_requested_at=b.ago(hours=2)),
            ),
            SYNCED,
            {"prod": "WaitingApproval"},
            [],
            f"prod: 1.1 waits: held by alice since {HELD_SINCE}: incident 42",
            trail="staging: InSync; prod: Held",
        ),
        "a hold stops a candidate that has served its soak time": Scenario(
            b.make(
                "dev",
                "staging",
                b.environment("prod", promotion=b.promotion(soak=60)),
                promotion=NOTIFIED,
                current=b.held(
                    status.PipelineStatus(
                        environments={
                            "staging": status.EnvironmentStatus(
                                revision="1.1", ready=True, ready_since=b.ago(hours=1)
                            )
                        }
                    )
                ),
            ),
            SYNCED,
            {"prod": "Pending"},
            [],
            f"prod: 1.1 waits: held by alice since {HELD_SINCE}: incident 42",
            trail="staging: InSync; prod: NewCandidate > Held",
        ),
    },
    "Suspended": {
        "suspend holds promotions but still observes": Scenario(
            b.make(promotion=NOTIFIED, suspend=True),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Pending"},
            [],
            "staging: the pipeline is suspended (spec.suspend)",
            check=observed_everything,
            trail="staging: NewCandidate > Suspended; prod: InSync",
        ),
        "a suspended pipeline does not carry out a pin either": Scenario(
            b.make(
                "dev",
                "staging",
                "prod",
                promotion=NOTIFIED,
                suspend=True,
                current=b.held(reason=status.HoldReason.PIN, revision="1.0"),
            ),
            {"dev": "1.1", "staging": "1.1", "prod": "1.1"},
            {"prod": "Pending"},
            [],
            "prod: the pipeline is suspended (spec.suspend)",
            trail="staging: InSync; prod: NewCandidate > Suspended",
        ),
    },
    "TargetSuspended": {
        "a suspended target holds the promotion into its environment": Scenario(
            b.make(promotion=NOTIFIED),
            suspended_in("staging", dev="1.1", staging="1.0", prod="1.0"),
            {"staging": "Pending"},
            [],
            "staging: HelmRelease staging/podinfo is suspended (spec.suspend), so "
            "1.1 waits until it is resumed",
            trail="staging: NewCandidate > TargetSuspended; prod: InSync",
        ),
        "a delivered promotion into a suspended target says why it does not arrive": Scenario(
            staging_with(b.record("1.1", Phase.PROMOTED, source="dev", attempts=1)),
            suspended_in("staging", dev="1.1", staging="1.0", prod="1.0"),
            {"staging": "Promoted"},
            [],
            "staging: HelmRelease staging/podinfo is suspended (spec.suspend), so "
            "1.1 waits until it is resumed",
            trail="staging: TargetSuspended; prod: InSync",
        ),
    },
    "VerificationFailed": {
        "a failed check blocks the revision with its message": Scenario(
            staging_checked(
                staging_verified(
                    "Failed",
                    b.check("smoke", "Failed", count=1, message="answered 422: checkout broken"),
                    b.check("error-rate", count=3, nextAt=b.later(seconds=30)),
                )
            ),
            SYNCED,
            {"prod": "Pending"},
            [],
            "prod: 1.1 failed smoke in staging: answered 422: checkout broken",
            check=ready_is("True", conditions.RECONCILIATION_SUCCEEDED, READY_SYNCED),
            trail="staging: InSync; prod: NewCandidate > VerificationFailed",
        ),
        "a Job check past its timeout fails, and says so in an Event": Scenario(
            staging_checked(
                staging_verified(
                    "Running", b.check("smoke-test", count=1, startedAt=b.ago(minutes=31))
                ),
                verify=[SMOKE_TEST],
            ),
            SYNCED,
            {"prod": "Pending"},
            [
                "Notify staging VerificationFailed 1.1 (warning)",
            ],
            "prod: 1.1 failed smoke-test in staging: did not finish within 30m",
            check=verification_of(
                "staging", "1.1", "Failed", **{"smoke-test": {"phase": "Failed"}}
            ),
            trail="staging: InSync; prod: NewCandidate > VerificationFailed",
        ),
        "a commit check fails at once when no commit promoted the revision": Scenario(
            staging_checked(verify=[b.commit_checks()]),
            SYNCED,
            {"prod": "Pending"},
            ["Notify staging VerificationFailed 1.1 (warning)"],
            "prod: 1.1 failed ci in staging: no commit that promoted 1.1 into staging is known",
            trail="staging: InSync; prod: NewCandidate > VerificationFailed",
        ),
        "an approved promotion waits too when a re-run of the checks fails": Scenario(
            staging_checked(
                b.with_records(
                    staging_verified(
                        "Failed", b.check("smoke", "Failed", count=1, message="answered 500")
                    ),
                    prod=b.record("1.1", Phase.APPROVED, approvals=["alice"]),
                ),
                verify=[SMOKE],
                prod=b.promotion(required=1),
            ),
            SYNCED,
            {"prod": "Approved"},
            [],
            "prod: 1.1 failed smoke in staging: answered 500",
            trail="staging: InSync; prod: VerificationFailed",
        ),
    },
    "Gated": {
        "soak time shows while the checks run alongside it": Scenario(
            staging_checked(verify=[SMOKE], prod=b.promotion(soak=600)),
            SYNCED,
            {"prod": "Pending"},
            ["Check staging 1.1#1 smoke webhook start"],
            "prod: soak time: source must stay ready until 2026-12-01T10:10:00Z",
            requeue_at=b.later(minutes=2),
            trail="staging: InSync; prod: NewCandidate > Gated",
        ),
        "staging waits for soak time": Scenario(
            b.make(
                "dev",
                b.environment("staging", promotion=b.promotion(soak=600)),
                "prod",
                promotion=NOTIFIED,
            ),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Pending"},
            [],
            "staging: soak time: source must stay ready until 2026-12-01T10:10:00Z",
            requeue_at=b.later(minutes=10),
            trail="staging: NewCandidate > Gated; prod: InSync",
        ),
        "allow window closed: prod waits for the next opening": Scenario(
            prod_with(b.promotion(windows=WORKDAY)),
            SYNCED,
            {"prod": "Pending"},
            [],
            "prod: outside allowed windows; next opens at 2026-12-02T09:00:00Z",
            now=b.later(hours=8),
            requeue_at=b.later(hours=23),
            trail="staging: InSync; prod: NewCandidate > Gated",
        ),
        "deny window wins over an open allow window": Scenario(
            prod_with(b.promotion(windows=[*WORKDAY, b.window("deny", "0 0 1 12 *", "48h")])),
            SYNCED,
            {"prod": "Pending"},
            [],
            "prod: deny window '0 0 1 12 *' is open until 2026-12-03T00:00:00Z",
            requeue_at=b.later(days=1, hours=14),
            trail="staging: InSync; prod: NewCandidate > Gated",
        ),
        "windows follow the schedule's time zone": Scenario(
            prod_with(b.promotion(windows=[b.window("allow", "0 9 * * *", "1h", "Europe/Berlin")])),
            SYNCED,
            {"prod": "Pending"},
            [],
            "prod: outside allowed windows; next opens at 2026-12-02T08:00:00Z",
            trail="staging: InSync; prod: NewCandidate > Gated",
        ),
        "requeue_at is the earliest instant a gate can change": Scenario(
            b.make(
                "dev",
                b.environment("staging", promotion=b.promotion(soak=600)),
                b.environment("prod", promotion=b.promotion(windows=WORKDAY)),
                promotion=NOTIFIED,
            ),
            {"dev": "1.2", "staging": "1.1", "prod": "1.0"},
            {"staging": "Pending", "prod": "Promoting"},
            ["Promote 1.1 staging->prod #1 via notification"],
            "staging: soak time: source must stay ready until 2026-12-01T10:10:00Z; "
            "prod: promoting 1.1",
            requeue_at=b.later(minutes=10),
            trail="staging: NewCandidate > Gated; prod: NewCandidate > ReadyToPromote",
        ),
        "an Approved promotion still waits for a window that closed": Scenario(
            prod_with(
                b.promotion(required=1, windows=WORKDAY),
                b.record("1.1", Phase.APPROVED, approvals=["alice"]),
            ),
            SYNCED,
            {"prod": "Approved"},
            [],
            "prod: outside allowed windows; next opens at 2026-12-02T09:00:00Z",
            now=b.later(hours=8),
            trail="staging: InSync; prod: Gated",
        ),
        "a pinned revision still waits for a closed allow window": Scenario(
            prod_held(b.promotion(windows=WORKDAY), reason=ROLLBACK, revision="1.0"),
            {"dev": "1.1", "staging": "1.1", "prod": "1.1"},
            {"prod": "Pending"},
            [],
            "prod: outside allowed windows; next opens at 2026-12-02T09:00:00Z",
            now=b.later(hours=8),
            check=trigger_is("prod", ROLLBACK),
            trail="staging: InSync; prod: NewCandidate > Gated",
        ),
    },
    "Verifying": {
        "staging starts its checks of 1.1 together, prod waits for them": Scenario(
            staging_checked(),
            SYNCED,
            {"prod": "Pending"},
            [
                "Check staging 1.1#1 smoke webhook start",
                "Check staging 1.1#1 error-rate prometheus observe",
            ],
            STAGING_WAITS,
            requeue_at=b.later(minutes=2),
            check=verification_of(
                "staging",
                "1.1",
                "Running",
                smoke={
                    "count": 1,
                    "nextAt": "2026-12-01T10:02:00Z",
                    "startedAt": "2026-12-01T10:00:00Z",
                },
                **{"error-rate": {"count": 0, "nextAt": None}},
            ),
            trail="staging: InSync; prod: NewCandidate > Verifying",
        ),
        "an unexpired lease is not started again; measurements keep their rhythm": Scenario(
            staging_checked(
                staging_verified(
                    "Running",
                    b.check("smoke", count=1, nextAt=b.later(minutes=1)),
                    b.check("error-rate", count=3, nextAt=b.later(seconds=30)),
                )
            ),
            SYNCED,
            {"prod": "Pending"},
            [],
            STAGING_WAITS,
            requeue_at=b.later(seconds=30),
            trail="staging: InSync; prod: NewCandidate > Verifying",
        ),
        "a call a dead controller left behind is made again once its lease ends": Scenario(
            staging_checked(
                staging_verified("Running", b.check("smoke", count=1, nextAt=b.ago(seconds=1))),
                verify=[SMOKE],
            ),
            SYNCED,
            {"prod": "Pending"},
            ["Check staging 1.1#1 smoke webhook start"],
            "prod: waiting for staging's checks of 1.1: smoke running",
            check=verification_of("staging", "1.1", "Running", smoke={"count": 2}),
            trail="staging: InSync; prod: NewCandidate > Verifying",
        ),
        "the Jobs of a Job check are created once, then read": Scenario(
            staging_checked(
                staging_verified(
                    "Running", b.check("smoke-test", count=1, startedAt=b.ago(minutes=5))
                ),
                verify=[SMOKE_TEST],
            ),
            SYNCED,
            {"prod": "Pending"},
            ["Check staging 1.1#1 smoke-test job observe"],
            "prod: waiting for staging's checks of 1.1: smoke-test running",
            requeue_at=b.later(minutes=25),
            trail="staging: InSync; prod: NewCandidate > Verifying",
        ),
        "a commit check reads the commit that promoted the revision": Scenario(
            staging_checked(
                b.with_records(
                    staging=b.record(
                        "1.1",
                        Phase.SUCCEEDED,
                        source="dev",
                        result=status.PromotionResult(commit="abc123", url=PR_URL),
                    )
                ),
                verify=[b.commit_checks()],
            ),
            SYNCED,
            {"staging": "Succeeded", "prod": "Pending"},
            ["Check staging 1.1#1 ci commitStatus observe @abc123"],
            "prod: waiting for staging's checks of 1.1: ci running",
            requeue_at=b.later(minutes=30),
            trail="staging: InSync; prod: NewCandidate > Verifying",
        ),
        "a newer revision is verified afresh after a failed one": Scenario(
            staging_checked(
                staging_verified("Failed", b.check("smoke", "Failed", message="answered 422")),
                verify=[SMOKE],
            ),
            {"dev": "1.2", "staging": "1.2", "prod": "1.0"},
            {"prod": "Pending"},
            ["Check staging 1.2#1 smoke webhook start"],
            "prod: waiting for staging's checks of 1.2: smoke running",
            check=verification_of("staging", "1.2", "Running", smoke={"count": 1}),
            trail="staging: InSync; prod: NewCandidate > Verifying",
        ),
        "pipeline-wide checks verify every environment at the revision it runs": Scenario(
            b.make(promotion=NOTIFIED, verify=[SMOKE_TEST]),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Pending"},
            [
                "Check dev 1.1#1 smoke-test job start",
                "Check staging 1.0#1 smoke-test job start",
                "Check prod 1.0#1 smoke-test job start",
            ],
            "staging: waiting for dev's checks of 1.1: smoke-test running",
            requeue_at=b.later(minutes=2),
            trail="staging: NewCandidate > Verifying; prod: InSync",
        ),
    },
    "Approved": {
        "prod with 2 approvals is approved and promoted; the mirror is cleared": Scenario(
            prod_with(
                TWO_FROM_RELEASE,
                b.record("1.1", WAITING, approvals=[("alice", RELEASE), ("bob", RELEASE)]),
            ),
            SYNCED,
            {"prod": "Promoting"},
            ["Notify prod Approved 1.1 by bob", "Promote 1.1 staging->prod #1 via notification"],
            "prod: promoting 1.1",
            check=mirror("prod", None),
            trail="staging: InSync; prod: Approved > ReadyToPromote",
        ),
        "approvals on a Pending record (an older writer) count once the gates open": Scenario(
            prod_with(b.promotion(required=1), b.record("1.1", Phase.PENDING, approvals=["alice"])),
            SYNCED,
            {"prod": "Promoting"},
            [
                "Notify prod Approved 1.1 by alice",
                "Promote 1.1 staging->prod #1 via notification",
            ],
            "prod: promoting 1.1",
            trail="staging: InSync; prod: Approved > ReadyToPromote",
        ),
    },
    "AwaitingChange": {
        "manual: true means one approval": Scenario(
            b.make(promotion=b.promotion(manual=True)),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Pending"},
            ["Preview 1.1 dev->staging"],
            "staging: preparing the change of 1.1 for approval",
            check=mirror("staging", None),
            trail="staging: NewCandidate > AwaitingChange; prod: InSync",
        ),
        "environment-level promotion inherits the pipeline's approval policy": Scenario(
            b.make(
                "dev",
                "staging",
                b.environment("prod", promotion=b.promotion(via="git-push")),
                promotion=b.promotion(required=2, via="pull-request"),
            ),
            SYNCED,
            {"prod": "Pending"},
            ["Preview 1.1 staging->prod"],
            "prod: preparing the change of 1.1 for approval",
            trail="staging: InSync; prod: NewCandidate > AwaitingChange",
        ),
        "a candidate needing approval first renders the change approvers will see": Scenario(
            prod_with(b.promotion(required=1)),
            SYNCED,
            {"prod": "Pending"},
            ["Preview 1.1 staging->prod"],
            "prod: preparing the change of 1.1 for approval",
            trail="staging: InSync; prod: NewCandidate > AwaitingChange",
        ),
        "a change that could not be rendered is tried again at nextAttemptAt": Scenario(
            prod_with(
                b.promotion(required=1),
                b.record(
                    "1.1",
                    Phase.PENDING,
                    last_error="HTTP 503 from git",
                    next_attempt_at=b.later(seconds=20),
                ),
            ),
            SYNCED,
            {"prod": "Pending"},
            [],
            "prod: cannot show the change of 1.1 for approval: HTTP 503 from git; "
            "retrying at 2026-12-01T10:00:20Z",
            requeue_at=b.later(seconds=20),
            trail="staging: InSync; prod: AwaitingChange",
        ),
    },
    "ApprovalExpired": {
        "approval expired": Scenario(
            prod_with(
                b.promotion(required=1, expires="1h"),
                b.record("1.1", WAITING, approval_requested_at=b.ago(hours=2)),
            ),
            SYNCED,
            {"prod": "Expired"},
            ["Notify prod Expired 1.1 (warning)"],
            "prod: the approval request for 1.1 expired",
            check=all_of(latest_history("prod", "1.1", Phase.EXPIRED), mirror("prod", None)),
            trail="staging: InSync; prod: ApprovalExpired",
        ),
    },
    "AwaitingApproval": {
        "prod waits for 2 approvals and has 1": Scenario(
            prod_with(TWO_FROM_RELEASE, b.record("1.1", WAITING, approvals=[("alice", RELEASE)])),
            SYNCED,
            {"prod": "WaitingApproval"},
            [],
            "prod: waiting for 1 more approval of 1.1 from group release-managers",
            check=mirror("prod", "1.1"),
            trail="staging: InSync; prod: AwaitingApproval",
        ),
        "approvals from non-approvers don't count": Scenario(
            prod_with(
                b.promotion(users=["alice"]), b.record("1.1", WAITING, approvals=["mallory"])
            ),
            SYNCED,
            {"prod": "WaitingApproval"},
            [],
            "prod: waiting for 1 more approval of 1.1 from user alice",
            trail="staging: InSync; prod: AwaitingApproval",
        ),
        "the same user approving twice counts once": Scenario(
            prod_with(
                b.promotion(required=2), b.record("1.1", WAITING, approvals=["alice", "alice"])
            ),
            SYNCED,
            {"prod": "WaitingApproval"},
            [],
            "prod: waiting for 1 more approval of 1.1",
            trail="staging: InSync; prod: AwaitingApproval",
        ),
        "an open approval request is looked at again when it expires": Scenario(
            prod_with(
                b.promotion(required=1, expires="1h"),
                b.record("1.1", WAITING, approval_requested_at=b.ago(minutes=30)),
            ),
            SYNCED,
            {"prod": "WaitingApproval"},
            [],
            "prod: waiting for 1 more approval of 1.1",
            requeue_at=b.later(minutes=30),
            trail="staging: InSync; prod: AwaitingApproval",
        ),
        "an Approved record waits again when the policy now asks for more approvals": Scenario(
            prod_with(
                b.promotion(required=2), b.record("1.1", Phase.APPROVED, approvals=["alice"])
            ),
            SYNCED,
            {"prod": "WaitingApproval"},
            ["Notify prod WaitingApproval 1.1"],
            "prod: waiting for 1 more approval of 1.1",
            check=mirror("prod", "1.1"),
            trail="staging: InSync; prod: AwaitingApproval",
        ),
        "once its change is shown, the record asks for approval": Scenario(
            prod_with(b.promotion(required=1), b.record("1.1", Phase.PENDING, change=b.CHANGE)),
            SYNCED,
            {"prod": "WaitingApproval"},
            ["Notify prod WaitingApproval 1.1"],
            "prod: waiting for 1 more approval of 1.1",
            check=mirror("prod", "1.1"),
            trail="staging: InSync; prod: AwaitingApproval",
        ),
    },
    "ReadyToPromote": {
        "a new commit on dev's branch is promoted by its full revision": Scenario(
            kustomized(),
            {
                "dev": f"main@sha1:{COMMIT}",
                "staging": f"sha1:{OTHER_COMMIT}",
                "prod": f"sha1:{OTHER_COMMIT}",
            },
            {"staging": "Promoting"},
            [f"Promote main@sha1:{COMMIT} dev->staging #1 via notification"],
            f"staging: promoting main@sha1:{COMMIT}",
            trail="staging: NewCandidate > ReadyToPromote; prod: InSync",
        ),
        "the same chart version from another OCI digest is a new revision": Scenario(
            b.make(promotion=NOTIFIED),
            {
                "dev": "6.6.1+0cc9a8446c95",
                "staging": "6.6.1+cdd538a0167e",
                "prod": "6.6.1+cdd538a0167e",
            },
            {"staging": "Promoting"},
            ["Promote 6.6.1+0cc9a8446c95 dev->staging #1 via notification"],
            "staging: promoting 6.6.1+0cc9a8446c95",
            trail="staging: NewCandidate > ReadyToPromote; prod: InSync",
        ),
        "a suspended source does not hold the environment after it": Scenario(
            b.make(promotion=NOTIFIED),
            suspended_in("dev", dev="1.1", staging="1.0", prod="1.0"),
            {"staging": "Promoting"},
            ["Promote 1.1 dev->staging #1 via notification"],
            "staging: promoting 1.1",
            trail="staging: NewCandidate > ReadyToPromote; prod: InSync",
        ),
        "staging's checks passed: prod is promoted": Scenario(
            staging_checked(
                staging_verified(
                    "Passed",
                    b.check("smoke", "Passed", count=1),
                    b.check("error-rate", "Passed", count=10),
                )
            ),
            SYNCED,
            {"prod": "Promoting"},
            ["Promote 1.1 staging->prod #1 via notification"],
            "prod: promoting 1.1",
            trail="staging: InSync; prod: NewCandidate > ReadyToPromote",
        ),
        "a rollback is not held by the source's failed checks": Scenario(
            staging_checked(
                b.held(
                    staging_verified("Failed", b.check("smoke", "Failed", message="no")),
                    reason=ROLLBACK,
                    revision="0.9",
                ),
                verify=[SMOKE],
            ),
            SYNCED,
            {"prod": "Promoting"},
            ["Promote 0.9 staging->prod #1 via notification"],
            "prod: promoting 0.9",
            check=trigger_is("prod", ROLLBACK),
            trail="staging: InSync; prod: NewCandidate > ReadyToPromote",
        ),
        "soak time served: staging is promoted": Scenario(
            b.make(
                "dev",
                b.environment("staging", promotion=b.promotion(soak=600)),
                "prod",
                promotion=NOTIFIED,
                current=dev_ready_since(b.ago(minutes=10)),
            ),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            ["Promote 1.1 dev->staging #1 via notification"],
            "staging: promoting 1.1",
            trail="staging: NewCandidate > ReadyToPromote; prod: InSync",
        ),
        "allow window open: prod is promoted and looked at again when it closes": Scenario(
            prod_with(b.promotion(windows=WORKDAY)),
            SYNCED,
            {"prod": "Promoting"},
            ["Promote 1.1 staging->prod #1 via notification"],
            "prod: promoting 1.1",
            requeue_at=b.later(hours=7),
            trail="staging: InSync; prod: NewCandidate > ReadyToPromote",
        ),
        "environment-level promotion overrides manual and strategy (compat rule)": Scenario(
            b.make(
                "dev",
                "staging",
                b.environment("prod", promotion=b.promotion(via="git-push")),
                promotion=b.promotion(manual=True, via="pull-request"),
            ),
            SYNCED,
            {"prod": "Promoting"},
            ["Promote 1.1 staging->prod #1 via git-push"],
            "prod: promoting 1.1",
            trail="staging: InSync; prod: NewCandidate > ReadyToPromote",
        ),
        "environment-level promotion without a strategy keeps the pipeline's strategy": Scenario(
            prod_with(b.promotion(via=None, soak=0), promotion=b.promotion(via="pull-request")),
            SYNCED,
            {"prod": "Promoting"},
            ["Promote 1.1 staging->prod #1 via pull-request"],
            "prod: promoting 1.1",
            trail="staging: InSync; prod: NewCandidate > ReadyToPromote",
        ),
        "lastTransitionTime moves when a condition's status flips": Scenario(
            b.make(promotion=NOTIFIED, current=previous_conditions("False")),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            ["Promote 1.1 dev->staging #1 via notification"],
            "staging: promoting 1.1",
            check=transition_times(ready=b.NOW, pending=b.NOW),
            trail="staging: NewCandidate > ReadyToPromote; prod: InSync",
        ),
        "HelmRelease v2beta1 appRef works (chart version from the release history)": Scenario(
            b.make(
                promotion=NOTIFIED,
                app=pipeline.AppRef(
                    api_version="helm.toolkit.fluxcd.io/v2beta1", kind="HelmRelease", name="podinfo"
                ),
            ),
            helm_v2beta1_targets,
            {"staging": "Promoting"},
            ["Promote 6.1.0 dev->staging #1 via notification"],
            "staging: promoting 6.1.0",
            check=helm_refs,
            trail="staging: NewCandidate > ReadyToPromote; prod: InSync",
        ),
        "remote targets are observed and promoted like local ones": Scenario(
            b.make(
                "dev",
                b.environment("staging", targets=2, cluster="staging-eu"),
                "prod",
                promotion=NOTIFIED,
            ),
            {"dev": "1.1", "staging": "1.0", "prod": "1.0"},
            {"staging": "Promoting"},
            ["Promote 1.1 dev->staging #1 via notification"],
            "staging: promoting 1.1",
            check=remote_targets,
            trail="staging: NewCandidate > ReadyToPromote; prod: InSync",
        ),
        "an Approved promotion is promoted without a second Approved event": Scenario(
            prod_with(
                b.promotion(required=1), b.record("1.1", Phase.APPROVED, approvals=["alice"])
            ),
            SYNCED,
            {"prod": "Promoting"},
            ["Promote 1.1 staging->prod #1 via notification"],
            "prod: promoting 1.1",
            trail="staging: InSync; prod: ReadyToPromote",
        ),
        "a waiting record is promoted once the approval policy is removed": Scenario(
            prod_with(b.promotion(), b.record("1.1", WAITING)),
            SYNCED,
            {"prod": "Promoting"},
            ["Promote 1.1 staging->prod #1 via notification"],
            "prod: promoting 1.1",
            check=mirror("prod", None),
            trail="staging: InSync; prod: ReadyToPromote",
        ),
    },
}


ROWS = [
    pytest.param(state, scenario, id=f"{state}: {name}")
    for state, rows in SCENARIOS.items()
    for name, scenario in rows.items()
]


def _reads(action: actions.Action) -> bool:
    return isinstance(action, actions.Preview) or (
        isinstance(action, actions.Check) and action.reads
    )


def trail_of(decision: decisions.Decision) -> str:
    """The states each environment went through, spelt as in ``Scenario.trail``."""
    per: dict[str, list[str]] = {}
    for taken in decision.trail:
        per.setdefault(taken.environment, []).append(type(taken.state).__name__)
    return "; ".join(f"{env}: {' > '.join(names)}" for env, names in per.items()) or "nothing"


@pytest.mark.parametrize(("state", "scenario"), ROWS)
def test_decide(state: str, scenario: Scenario) -> None:
    """decide() passes the row's states, yields its phases, actions and PromotionPending
    message, and is stable."""
    seen = _targets(scenario)
    decision = b.run(
        scenario.subject,
        seen,
        now=scenario.now,
        owner=scenario.owner,
        may_take_over=scenario.may_take_over,
    )

    assert trail_of(decision) == scenario.trail
    assert state in scenario.trail
    assert b.phases(decision) == scenario.phases
    assert [b.describe(action) for action in decision.actions] == scenario.actions
    assert b.pending_message(decision) == scenario.pending
    if scenario.requeue_at is not None:
        assert decision.requeue_at == scenario.requeue_at
    if scenario.check is not None:
        scenario.check(decision)

    repeated = b.again(
        scenario.subject,
        decision,
        seen,
        now=scenario.now,
        owner=scenario.owner,
        may_take_over=scenario.may_take_over,
    )
    assert repeated.status == decision.status
    # Only reads (a Preview, a check's observe step) may be asked for again before their
    # result is recorded.
    assert [a for a in repeated.actions if not _reads(a)] == []


def test_every_state_has_a_scenario() -> None:
    """Each named state is shown by at least one row, under its own name, in table order."""
    named = [kind.__name__ for kind in transitions.TABLE]
    assert list(SCENARIOS) == named
    assert sum(len(rows) for rows in SCENARIOS.values()) >= 50


def test_resting_states_name_each_environment() -> None:
    """``Decision.states`` is the resting state of every environment promotions go into."""
    subject = prod_with(b.promotion(required=1))
    decision = b.run(subject, b.targets_of(subject, **SYNCED))
    assert {env: type(s).__name__ for env, s in decision.states.items()} == {
        "staging": "InSync",
        "prod": "AwaitingChange",
    }


def test_requeue_after_counts_from_now() -> None:
    """requeue_after is the delay to requeue_at, never negative, None without a gate."""
    decision = decisions.Decision(status=status.PipelineStatus(), requeue_at=b.later(seconds=30))
    assert decision.requeue_after(b.NOW).total_seconds() == 30  # type: ignore[union-attr]
    assert decision.requeue_after(b.later(minutes=1)).total_seconds() == 0  # type: ignore[union-attr]
    assert decisions.Decision(status=status.PipelineStatus()).requeue_after(b.NOW) is None


def test_now_is_truncated_to_seconds() -> None:
    """Kubernetes stores whole seconds, so decide() never writes sub-second times."""
    subject = b.make(promotion=NOTIFIED)
    seen = b.targets_of(subject, dev="1.1", staging="1.0", prod="1.0")
    decision = b.run(subject, seen, now=b.NOW.replace(microsecond=999_999))
    record = decision.status.environments["staging"].promotion
    assert record is not None
    assert record.requested_at == b.NOW


def test_environments_missing_from_the_spec_are_dropped() -> None:
    """Status keeps environments of the current spec only, in spec order."""
    stale = status.PipelineStatus(environments={"qa": status.EnvironmentStatus(revision="0.9")})
    subject = b.make(promotion=NOTIFIED, current=stale)
    decision = b.run(subject, b.targets_of(subject, dev="1.0", staging="1.0", prod="1.0"))
    assert list(decision.status.environments) == ["dev", "staging", "prod"]


def test_ready_streak_survives_passes_and_restarts_on_a_new_revision() -> None:
    """readySince is the start of the current ready streak at the current revision."""
    subject = b.make(promotion=NOTIFIED, current=dev_ready_since(b.ago(hours=2)))
    same = b.run(subject, b.targets_of(subject, dev="1.1", staging="1.1", prod="1.1"))
    assert same.status.environments["dev"].ready_since == b.ago(hours=2)
    newer = b.run(subject, b.targets_of(subject, dev="1.2", staging="1.1", prod="1.1"))
    assert newer.status.environments["dev"].ready_since == b.NOW
    broken = b.run(subject, b.targets_of(subject, dev=("1.1", False), staging="1.1", prod="1.1"))
    assert broken.status.environments["dev"].ready_since is None


def test_common_revision() -> None:
    """The revision every target runs, or empty when they disagree or there are none."""
    subject = b.make(b.environment("dev", targets=2))
    [agree] = [b.targets_of(subject, dev="1.0")["dev"]]
    assert decisions.common_revision(agree) == "1.0"
    assert decisions.common_revision(b.targets_of(subject, dev=["1.0", "1.1"])["dev"]) == ""
    assert decisions.common_revision([]) == ""


def test_a_single_environment_pipeline_only_observes() -> None:
    """With no environment to promote into, nothing is classified, held or done."""
    subject = b.make("dev", promotion=NOTIFIED)
    decision = b.run(subject, b.targets_of(subject, dev="1.1"))
    assert (decision.trail, decision.actions, b.pending_message(decision)) == ((), (), None)
    assert decision.status.environments["dev"].revision == "1.1"
