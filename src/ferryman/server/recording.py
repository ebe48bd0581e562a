"""Record one approval or rejection in a Pipeline's status, for the approval API and the UI.

The rules (who may decide, quorum, expiry, four-eyes, fail-closed rejection) are
``domain.approvals``'; this module applies them through the server's one write path
(``writes``: resourceVersion-checked, re-read on 409). The same user deciding twice changes
nothing and writes nothing. After a write it records an Event naming the actor; the controller,
not this code, promotes.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from ferryman.api import pipeline, status
from ferryman.domain import approvals, policy
from ferryman.ports import auth
from ferryman.ports import kubernetes as k8s
from ferryman.server import errors, writes
from ferryman.server.deps import Deps

log = logging.getLogger(__name__)


class Verb(enum.StrEnum):
    """What the caller decides (also the RBAC verb checked for it)."""

    APPROVE = "approve"  # add an approval
    REJECT = "reject"  # end the promotion of the revision (fail-closed)


_STATUS = {
    approvals.Refusal.UNKNOWN_ENVIRONMENT: 404,
    approvals.Refusal.NOT_WAITING: 409,
    approvals.Refusal.WRONG_REVISION: 409,
    approvals.Refusal.ALREADY_DECIDED: 409,
    approvals.Refusal.EXPIRED: 409,
    approvals.Refusal.NOT_AN_APPROVER: 403,
    approvals.Refusal.SELF_APPROVAL: 403,
}


@dataclass(frozen=True)
class Verdict:
    """One approval or rejection of ``revision`` into ``environment`` of ``namespace/name``."""

    namespace: str
    name: str
    environment: str
    revision: str
    comment: str
    verb: Verb


@dataclass(frozen=True)
class Outcome:
    """The promotion record after the verdict, and whether this call changed it."""

    record: status.PromotionRecord
    changed: bool


def _apply(
    parsed: pipeline.Pipeline, verdict: Verdict, identity: auth.Identity, deps: Deps
) -> status.PipelineStatus:
    """The verdict applied to ``parsed``'s status (raises ``HttpError`` when it is refused)."""
    where = f'pipeline "{verdict.namespace}/{verdict.name}"'
    env = parsed.spec.environment(verdict.environment)
    if env is None:
        raise errors.HttpError(
            404, f'{where} has no environment "{verdict.environment}"', reason="NotFound"
        )
    rule = policy.effective(parsed.spec, env).approval
    if rule is None:
        raise errors.HttpError(
            409,
            f'environment "{verdict.environment}" of {where} does not require approval',
            reason=approvals.Refusal.NOT_WAITING.value,
        )
    decide = approvals.approve if verdict.verb is Verb.APPROVE else approvals.reject
    try:
        return decide(
            parsed.status,
            verdict.environment,
            policy=rule,
            approver=approvals.Approver(identity.user, identity.groups),
            revision=verdict.revision,
            comment=verdict.comment,
            now=deps.clock.now(),
        )
    except approvals.ApprovalRefused as exc:
        raise errors.HttpError(_STATUS[exc.refusal], str(exc), reason=exc.refusal.value) from exc


async def record(deps: Deps, verdict: Verdict, identity: auth.Identity) -> Outcome:
    """Apply ``verdict`` by ``identity`` and store it (see the module docstring)."""
    written = await writes.write(
        deps,
        verdict.namespace,
        verdict.name,
        lambda parsed: _apply(parsed, verdict, identity, deps),
        doing="deciding",
    )
    env = written.subject.status.environments.get(verdict.environment)
    record = env.promotion if env is not None else None
    if record is None:  # approve/reject refuse an environment without a record
        raise errors.HttpError(409, f'environment "{verdict.environment}" waits for nothing')
    if written.changed:
        await _announce(deps, written.obj, verdict, identity)
    return Outcome(record, changed=written.changed)


async def _announce(deps: Deps, obj: k8s.JSON, verdict: Verdict, identity: auth.Identity) -> None:
    verb = "Approved" if verdict.verb is Verb.APPROVE else "Rejected"
    message = f"{verb} by {identity.user}"
    if verdict.comment:
        message += f": {verdict.comment}"
    event = k8s.EventRecord(
        reason="ApprovalRecorded" if verdict.verb is Verb.APPROVE else "Rejected",
        message=message,
        action=verdict.verb.value.capitalize(),
        annotations={"environment": verdict.environment, "version": verdict.revision},
    )
    log.info(
        "%s promotion pipeline=%s/%s environment=%s revision=%s user=%s",
        verb,
        verdict.namespace,
        verdict.name,
        verdict.environment,
        verdict.revision,
        identity.user,
    )
    try:
        await deps.events.emit(obj, event)
    except k8s.KubernetesError as exc:
        # Status already holds the verdict; a lost Event must not turn the answer into an error.
        log.warning("Could not record event reason=%s error=%s", event.reason, type(exc).__name__)
