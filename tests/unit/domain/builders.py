"""Terse builders for domain tests: pipelines, observed targets and promotion records in one line.

The scenarios in ``test_decisions.py`` read like sentences only if building their inputs costs a
few words, so this module fixes sensible defaults (a HelmRelease ``podinfo``, one target per
environment in a namespace named after it, the ``notification`` strategy, a fixed ``NOW``) and
lets each test say only what differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ferryman.api import pipeline, status
from ferryman.api import verification as checks
from ferryman.domain import actions, changes, decisions, observations, records

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday
ME = "ferryman-0"
OTHER = "ferryman-1"
APP = pipeline.AppRef(api_version="helm.toolkit.fluxcd.io/v2", kind="HelmRelease", name="podinfo")
Phase = status.PromotionPhase
# The change of a notification promotion (no file changes): what waiting records show.
CHANGE = changes.summary("default:podinfo:prod", ())


def ago(**delta: float) -> datetime:
    """``NOW`` minus a ``timedelta(**delta)``."""
    return NOW - timedelta(**delta)


def later(**delta: float) -> datetime:
    """``NOW`` plus a ``timedelta(**delta)``."""
    return NOW + timedelta(**delta)


def strategy(name: str = "notification") -> pipeline.Strategy:
    """A strategy object with only ``name`` chosen."""
    if name == "pull-request":
        return pipeline.Strategy.model_validate(
            {
                "pull-request": {
                    "type": "github",
                    "url": "https://github.com/org/fleet",
                    "baseBranch": "main",
                    "secretRef": {"name": "github"},
                }
            }
        )
    if name == "git-push":
        return pipeline.Strategy.model_validate(
            {"git-push": {"url": "https://git.example.com/fleet.git", "branch": "main"}}
        )
    return pipeline.Strategy(notification=pipeline.NotificationPromotion())


def promotion(
    *,
    via: str | None = "notification",
    manual: bool | None = None,
    required: int | None = None,
    users: Sequence[str] = (),
    groups: Sequence[str] = (),
    expires: str | None = None,
    self_approval: bool | None = None,
    soak: int | None = None,
    windows: Sequence[pipeline.Window] | None = None,
) -> pipeline.Promotion:
    """A ``Promotion``; ``required`` (or approver lists) adds an approval policy."""
    approval = None
    if required is not None or users or groups or expires is not None:
        approvers = (
            pipeline.Approvers(users=tuple(users), groups=tuple(groups))
            if users or groups
            else None
        )
        approval = pipeline.ApprovalPolicy(
            required=required or 1,
            approvers=approvers,
            prevent_self_approval=self_approval,
            expires_after=expires,
        )
    return pipeline.Promotion(
        manual=manual,
        strategy=strategy(via) if via is not None else None,
        approval=approval,
        min_ready_seconds=soak,
        windows=tuple(windows) if windows is not None else None,
    )


def window(kind: str, schedule: str, duration: str, zone: str | None = None) -> pipeline.Window:
    """An allow or deny window."""
    return pipeline.Window(
        kind=pipeline.WindowKind(kind), schedule=schedule, duration=duration, time_zone=zone
    )


def environment(
    name: str,
    *,
    targets: int = 1,
    promotion: pipeline.Promotion | None = None,
    cluster: str | None = None,
    verify: Sequence[checks.Check] | None = None,
) -> pipeline.Environment:
    """An environment with ``targets`` targets in namespaces ``<name>``, ``<name>-1``, ...
    (``verify``: its verification checks)."""
    ref = (
        pipeline.ClusterReference(kind="GitopsCluster", name=cluster, namespace="flux-system")
        if cluster is not None
        else None
    )
    return pipeline.Environment(
        name=name,
        targets=tuple(
            pipeline.Target(namespace=name if i == 0 else f"{name}-{i}", cluster_ref=ref)
            for i in range(targets)
        ),
        promotion=promotion,
        verification=checks.Verification(checks=tuple(verify)) if verify is not None else None,
    )


DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")


def make(
    *environments: pipeline.Environment | str,
    promotion: pipeline.Promotion | None = None,
    suspend: bool | None = None,
    generation: int = 1,
    current: status.PipelineStatus | None = None,
    app: pipeline.AppRef = APP,
    verify: Sequence[checks.Check] | None = None,
) -> pipeline.Pipeline:
    """A Pipeline ``default/podinfo`` (dev, staging, prod unless ``environments`` are given;
    ``verify``: pipeline-wide checks)."""
    envs = tuple(
        environment(e) if isinstance(e, str) else e for e in (environments or DEFAULT_ENVIRONMENTS)
    )
    return pipeline.Pipeline(
        metadata=pipeline.ObjectMeta(
            name="podinfo", namespace="default", uid="uid-1", generation=generation
        ),
        spec=pipeline.PipelineSpec(
            app_ref=app,
            environments=envs,
            promotion=promotion,
            suspend=suspend,
            verification=checks.Verification(checks=tuple(verify)) if verify is not None else None,
        ),
        status=current or status.PipelineStatus(),
    )


def notified() -> pipeline.Promotion:
    """The pipeline-wide default of most scenarios: promote by notification, no gates."""
    return promotion()


One = str | tuple[str, bool]
Seen = One | list[One] | None


def _one(app: pipeline.AppRef, target: pipeline.Target, seen: One) -> status.TargetStatus:
    revision, ready = (seen, True) if isinstance(seen, str) else seen
    return status.TargetStatus(
        cluster_app_ref=observations.cluster_app_ref(app, target),
        ready=ready,
        revision=revision,
        error="" if ready else "upgrade in progress",
    )


def targets_of(subject: pipeline.Pipeline, **seen: Seen) -> dict[str, list[status.TargetStatus]]:
    """Observed targets per environment.

    ``dev="1.1"``: every target runs 1.1, ready; ``dev=("1.1", False)``: runs it, not ready;
    ``dev=["1.1", "1.0"]``: one value per target; ``None`` or leaving an environment out: its
    objects could not be read.
    """
    app = subject.spec.app_ref
    out: dict[str, list[status.TargetStatus]] = {}
    for env in subject.spec.environments:
        what = seen.get(env.name)
        if what is None:
            out[env.name] = [
                observations.target_status(app, t, None, error="forbidden") for t in env.targets
            ]
        elif isinstance(what, list):
            each: list[One] = what
            out[env.name] = [_one(app, t, w) for t, w in zip(env.targets, each, strict=True)]
        else:
            out[env.name] = [_one(app, t, what) for t in env.targets]
    return out


def record(
    revision: str,
    phase: status.PromotionPhase,
    *,
    source: str = "staging",
    approvals: Sequence[str | tuple[str, Sequence[str]]] = (),
    **fields: Any,
) -> status.PromotionRecord:
    """A promotion record; ``approvals`` are user names or ``(user, groups)`` pairs."""
    entries = tuple(
        status.ApprovalRecord(user=a, at=ago(minutes=5))
        if isinstance(a, str)
        else status.ApprovalRecord(user=a[0], groups=tuple(a[1]), at=ago(minutes=5))
        for a in approvals
    )
    defaults: dict[str, Any] = {"requested_at": ago(hours=1)}
    if phase is Phase.WAITING_APPROVAL:
        defaults["approval_requested_at"] = ago(hours=1)
    if phase in (Phase.WAITING_APPROVAL, Phase.APPROVED):
        defaults["change"] = CHANGE  # a record waits for approval only once its change is shown
    return status.PromotionRecord.model_validate(
        {
            "revision": revision,
            "from": source,
            "phase": phase,
            "approvals": entries,
            **defaults,
            **fields,
        }
    )


def with_records(
    current: status.PipelineStatus | None = None, **records_: status.PromotionRecord
) -> status.PipelineStatus:
    """A status holding the given records (and the compat mirror they imply)."""
    result = current or status.PipelineStatus()
    for env, rec in records_.items():
        result = records.replace(result, env, rec)
    return result


def held(
    current: status.PipelineStatus | None = None,
    *,
    env: str = "prod",
    reason: status.HoldReason = status.HoldReason.HOLD,
    revision: str | None = None,
    at: datetime | None = None,
    comment: str = "incident 42",
) -> status.PipelineStatus:
    """A status where alice holds ``env`` (a pin when ``revision`` is given)."""
    result = current or status.PipelineStatus()
    hold = status.HoldRecord(
        reason=reason, user="alice", at=at or ago(minutes=1), comment=comment, revision=revision
    )
    envs = dict(result.environments)
    envs[env] = (envs.get(env) or status.EnvironmentStatus()).model_copy(update={"hold": hold})
    return result.model_copy(update={"environments": envs})


def run(
    subject: pipeline.Pipeline,
    seen: Mapping[str, Sequence[status.TargetStatus]],
    *,
    now: datetime = NOW,
    owner: str = ME,
    may_take_over: bool = True,
) -> decisions.Decision:
    """``decide()`` with the defaults of these tests (this instance holds the Lease)."""
    return decisions.decide(subject, seen, now=now, owner=owner, may_take_over=may_take_over)


def again(
    subject: pipeline.Pipeline,
    decision: decisions.Decision,
    seen: Mapping[str, Sequence[status.TargetStatus]],
    *,
    now: datetime = NOW,
    owner: str = ME,
    may_take_over: bool = True,
) -> decisions.Decision:
    """Decide once more on the status ``decision`` returned (what the next pass sees)."""
    return run(
        subject.model_copy(update={"status": decision.status}),
        seen,
        now=now,
        owner=owner,
        may_take_over=may_take_over,
    )


def webhook(name: str = "smoke", **fields: Any) -> checks.Check:
    """A webhook check (``https://hooks.example.com/verify``, Secret ``hooks``)."""
    spec = {"url": "https://hooks.example.com/verify", "secretRef": {"name": "hooks"}, **fields}
    return checks.Check.model_validate({"name": name, "webhook": spec})


def prometheus(name: str = "error-rate", threshold: str = "< 0.01", **fields: Any) -> checks.Check:
    """A Prometheus check of the error rate (``count``, ``interval``... in ``fields``)."""
    spec = {
        "address": "http://prometheus.monitoring:9090",
        "query": 'sum(rate(http_requests_total{code=~"5.."}[5m]))',
        "threshold": threshold,
        **fields,
    }
    return checks.Check.model_validate({"name": name, "prometheus": spec})


JOB_TEMPLATE = {
    "spec": {
        "backoffLimit": 0,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "smoke", "image": "curlimages/curl", "args": ["-f", "x"]}],
            }
        },
    }
}


def job(name: str = "smoke-test", **fields: Any) -> checks.Check:
    """A Job check running a smoke test in each target namespace."""
    return checks.Check.model_validate({"name": name, "job": {"template": JOB_TEMPLATE, **fields}})


def commit_checks(name: str = "ci", **fields: Any) -> checks.Check:
    """A commitStatus check (provider from the pull-request strategy)."""
    return checks.Check.model_validate({"name": name, "commitStatus": fields})


def check(name: str, phase: str = "Running", **fields: Any) -> checks.CheckStatus:
    """One check's status (started an hour ago unless said otherwise)."""
    return checks.CheckStatus.model_validate(
        {"name": name, "phase": phase, "startedAt": ago(hours=1), **fields}
    )


def verified(
    revision: str, phase: str, *found: checks.CheckStatus, run: int = 1
) -> checks.VerificationStatus:
    """A verification of ``revision`` with these checks."""
    return checks.VerificationStatus.model_validate(
        {"revision": revision, "run": run, "phase": phase, "checks": found}
    )


def verifying(
    current: status.PipelineStatus | None, env: str, found: checks.VerificationStatus
) -> status.PipelineStatus:
    """``current`` with ``env``'s verification set."""
    result = current or status.PipelineStatus()
    envs = dict(result.environments)
    envs[env] = (envs.get(env) or status.EnvironmentStatus()).model_copy(
        update={"verification": found}
    )
    return result.model_copy(update={"environments": envs})


def describe(action: actions.Action) -> str:
    """A compact, comparable spelling of an action."""
    if isinstance(action, actions.Check):
        commit = f" @{action.commit}" if action.commit else ""
        return (
            f"Check {action.environment} {action.revision}#{action.run} {action.check} "
            f"{action.kind} {action.step}{commit}"
        )
    if isinstance(action, actions.Preview):
        return f"Preview {action.revision} {action.source}->{action.environment}"
    if isinstance(action, actions.Promote):
        return (
            f"Promote {action.revision} {action.source}->{action.environment} "
            f"#{action.attempt} via {action.strategy}"
        )
    suffix = f" by {action.actor}" if action.actor else ""
    warn = " (warning)" if action.warning else ""
    return f"Notify {action.environment} {action.reason} {action.revision}{suffix}{warn}"


def pending_message(decision: decisions.Decision) -> str | None:
    """``PromotionPending``'s message when it is True, ``None`` when nothing is pending."""
    condition = decision.status.condition("PromotionPending")
    assert condition is not None
    return condition.message if condition.status == "True" else None


def phases(decision: decisions.Decision) -> dict[str, str]:
    """Phase of the record of every environment that has one."""
    return {
        name: env.promotion.phase.value
        for name, env in decision.status.environments.items()
        if env.promotion is not None
    }
