"""The largest Pipeline the CRD admits and what its targets report: every list at its
``maxItems``, every string at its ``maxLength`` (ASCII: one byte a character).

Shared by the status-size benchmark (P6, ``bench/status_size_bench.py``) and the domain property
test that keeps the worst-case status within its budget (``tests/unit/domain/test_properties.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from ferryman.api import pipeline, status
from ferryman.api import verification as checks
from ferryman.domain import observations, records

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
OWNER = "ferryman-0"
Targets = dict[str, Sequence[status.TargetStatus]]


def _with_records(
    current: status.PipelineStatus, **by_environment: status.PromotionRecord
) -> status.PipelineStatus:
    for env, record in by_environment.items():
        current = records.replace(current, env, record)
    return current


def _long(length: int, tag: str = "") -> str:
    return (tag + "x" * length)[:length]


def worst_case() -> tuple[pipeline.Pipeline, Targets]:
    """Every list at its maxItems and every string at its maxLength (ASCII: 1 byte a char)."""
    approvers = pipeline.Approvers(
        users=tuple(_long(253, f"u{i}") for i in range(pipeline.MAX_APPROVERS)),
        groups=tuple(_long(253, f"g{i}") for i in range(pipeline.MAX_APPROVERS)),
    )
    rule = pipeline.ApprovalPolicy(
        required=pipeline.MAX_REQUIRED_APPROVALS, approvers=approvers, expires_after="720h"
    )
    cluster = pipeline.ClusterReference(
        api_version=_long(253), kind="GitopsCluster", name=_long(253), namespace=_long(63)
    )
    names = [_long(63, f"e{i}") for i in range(pipeline.MAX_ENVIRONMENTS)]
    # Every environment verifies with the most checks, each with the longest name.
    check_names = [_long(32, f"c{i}") for i in range(checks.MAX_CHECKS)]
    verify = checks.Verification(
        checks=tuple(
            checks.Check(
                name=name,
                webhook=checks.WebhookCheck(
                    url="https://hooks.example.com/verify",
                    secret_ref=checks.SecretReference(name="hooks"),
                ),
            )
            for name in check_names
        )
    )
    envs = [
        pipeline.Environment(
            name=name,
            targets=tuple(
                pipeline.Target(namespace=_long(63, f"n{t}"), cluster_ref=cluster)
                for t in range(pipeline.MAX_TARGETS)
            ),
            promotion=pipeline.Promotion(
                strategy=pipeline.Strategy(notification=pipeline.NotificationPromotion()),
                approval=rule,
            ),
            verification=verify,
        )
        for name in names
    ]
    app = pipeline.AppRef(api_version=_long(253), kind=_long(63), name=_long(253))
    group = tuple(_long(253, f"g{i}") for i in range(status.MAX_RECORDED_GROUPS))
    approval_records = tuple(
        status.ApprovalRecord(
            user=_long(253, f"u{i}"),
            groups=group,
            at=NOW,
            comment=_long(status.MAX_COMMENT_LENGTH),
            digest="f" * 64,
        )
        for i in range(status.MAX_APPROVAL_RECORDS - 1)
    )
    change = status.ChangeSummary(
        digest="e" * 64,
        markers=2**31,
        lines=tuple(
            status.ChangeLine(path=_long(128), old=_long(64), new=_long(64))
            for _ in range(status.MAX_CHANGE_LINES)
        ),
    )
    # Held at the revision the records promote (pinned before they were requested), so the
    # records stay open and as large as they can be.
    hold = status.HoldRecord(
        reason=status.HoldReason.ROLLBACK,
        user=_long(253),
        at=NOW - timedelta(days=1),
        comment=_long(status.MAX_COMMENT_LENGTH),
        revision=_long(256, "r"),
    )
    result = status.PromotionResult(
        url=_long(status.MAX_URL_LENGTH),
        branch=_long(255),
        commit=_long(64),
        number=2**62,
        key=_long(64),
    )
    records_ = {
        name: status.PromotionRecord.model_validate(
            {
                "revision": _long(256, "r"),
                "from": names[index - 1],
                "phase": status.PromotionPhase.WAITING_APPROVAL,
                "requestedAt": NOW,
                "approvalRequestedAt": NOW,
                "approvals": approval_records,
                "attempts": 9,
                "owner": _long(128),
                "lastError": _long(status.MAX_ERROR_LENGTH),
                "lastErrorReason": "X" * 64,
                "result": result,
                "trigger": status.HoldReason.ROLLBACK,
                "replaces": _long(256, "p"),
                "change": change,
            }
        )
        for index, name in enumerate(names)
        if index > 0
    }
    current = _with_records(
        status.PipelineStatus(
            history=tuple(
                status.HistoryEntry(
                    environment=_long(63),
                    revision=_long(256),
                    phase=status.PromotionPhase.SUCCEEDED,
                    at=NOW,
                    by=_long(253),
                    url=_long(status.MAX_URL_LENGTH),
                    trigger=status.HoldReason.ROLLBACK,
                    replaced=_long(256),
                    comment=_long(status.MAX_COMMENT_LENGTH),
                )
                for _ in range(status.MAX_HISTORY)
            )
        ),
        **records_,
    )
    # Finished checks (kept as they are by decide()) with every field at its maximum.
    verified = checks.VerificationStatus(
        revision=_long(256, "r"),
        run=checks.MAX_COUNTER,
        phase=checks.CheckPhase.FAILED,
        checks=tuple(
            checks.CheckStatus(
                name=name,
                phase=checks.CheckPhase.FAILED,
                started_at=NOW,
                finished_at=NOW,
                next_at=NOW,
                count=checks.MAX_COUNTER,
                failed=checks.MAX_COUNTER,
                errors=checks.MAX_COUNTER,
                value=_long(checks.MAX_CHECK_VALUE),
                message=_long(checks.MAX_CHECK_MESSAGE),
            )
            for name in check_names
        ),
    )
    current = current.model_copy(
        update={
            "environments": {
                name: env.model_copy(update={"hold": hold, "verification": verified})
                for name, env in current.environments.items()
            }
        }
    )
    subject = pipeline.Pipeline(
        metadata=pipeline.ObjectMeta(name="podinfo", namespace="default", generation=1),
        spec=pipeline.PipelineSpec(app_ref=app, environments=tuple(envs)),
        status=current,
    )
    targets = {
        env.name: [
            status.TargetStatus(
                cluster_app_ref=observations.cluster_app_ref(app, target),
                ready=False,
                revision=_long(256, "r"),
                error=_long(status.MAX_TARGET_ERROR_LENGTH),
            )
            for target in env.targets
        ]
        for env in envs
    }
    return subject, targets
