"""Record one approval or rejection in a Pipeline's status: the single write path of both APIs.

The rules (who may decide, quorum, expiry, four-eyes, fail-closed rejection) are
``domain.approvals``'; this module reads the Pipeline, applies them, and writes the status with
the resourceVersion that was read. A 409 from the store means someone (another approver, the
controller) wrote meanwhile: read again and apply the decision again, a bounded number of times.
The same user deciding twice changes nothing and writes nothing. After a write it records an
Event naming the actor and triggers a reconcile; the controller, not this code, promotes.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from ferryman.api import status, validation
from ferryman.domain import approvals, policy
from ferryman.ports import auth
from ferryman.ports import kubernetes as k8s
from ferryman.server import errors
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
class Decision:
    """One approval or rejection of ``revision`` into ``environment`` of ``namespace/name``."""

    namespace: str
    name: str
    environment: str
    revision: str
    comment: str
    verb: Verb


@dataclass(frozen=True)
class Outcome:
    """The promotion record after the decision, and whether this call changed it."""

    record: status.PromotionRecord
    changed: bool


def _apply(
    obj: k8s.JSON, decision: Decision, identity: auth.Identity, deps: Deps
) -> tuple[Outcome, status.PipelineStatus]:
    """The decision applied to ``obj``'s status (raises ``HttpError`` when it is refused)."""
    where = f'pipeline "{decision.namespace}/{decision.name}"'
    parsed, problems = validation.validate(obj)
    if parsed is None or problems:
        raise errors.HttpError(409, f"{where} has an invalid spec; fix it before deciding")
    env = parsed.spec.environment(decision.environment)
    if env is None:
        raise errors.HttpError(
            404, f'{where} has no environment "{decision.environment}"', reason="NotFound"
        )
    rule = policy.effective(parsed.spec, env).approval
    if rule is None:
        raise errors.HttpError(
            409,
            f'environment "{decision.environment}" of {where} does not require approval',
            reason=approvals.Refusal.NOT_WAITING.value,
        )
    decide = approvals.approve if decision.verb is Verb.APPROVE else approvals.reject
    try:
        updated = decide(
            parsed.status,
            decision.environment,
            policy=rule,
            approver=approvals.Approver(identity.user, identity.groups),
            revision=decision.revision,
            comment=decision.comment,
            now=deps.clock.now(),
        )
    except approvals.ApprovalRefused as exc:
        raise errors.HttpError(_STATUS[exc.refusal], str(exc), reason=exc.refusal.value) from exc
    record = updated.environments[decision.environment].promotion
    assert record is not None  # approve/reject succeed only on an existing record
    return Outcome(record, changed=updated != parsed.status), updated


async def record(deps: Deps, decision: Decision, identity: auth.Identity) -> Outcome:
    """Apply ``decision`` by ``identity`` and store it (see the module docstring)."""
    for _ in range(deps.options.max_write_attempts):
        obj = await deps.store.get(decision.namespace, decision.name)
        if obj is None:
            raise errors.HttpError(
                404, f'pipeline "{decision.namespace}/{decision.name}" not found', reason="NotFound"
            )
        outcome, updated = _apply(obj, decision, identity, deps)
        if not outcome.changed:
            return outcome
        try:
            stored = await deps.store.write_status(obj, updated.to_wire())
        except k8s.Conflict:
            continue
        except k8s.NotFound as exc:
            raise errors.HttpError(
                404, f'pipeline "{decision.namespace}/{decision.name}" not found', reason="NotFound"
            ) from exc
        await _announce(deps, stored, decision, identity)
        deps.trigger.enqueue(decision.namespace, decision.name)
        return outcome
    raise errors.HttpError(
        409,
        f'pipeline "{decision.namespace}/{decision.name}" kept changing; try again',
        reason="Conflict",
    )


async def _announce(deps: Deps, obj: k8s.JSON, decision: Decision, identity: auth.Identity) -> None:
    verb = "Approved" if decision.verb is Verb.APPROVE else "Rejected"
    message = f"{verb} by {identity.user}"
    if decision.comment:
        message += f": {decision.comment}"
    event = k8s.EventRecord(
        reason="ApprovalRecorded" if decision.verb is Verb.APPROVE else "Rejected",
        message=message,
        action=decision.verb.value.capitalize(),
        annotations={"environment": decision.environment, "version": decision.revision},
    )
    log.info(
        "%s promotion pipeline=%s/%s environment=%s revision=%s user=%s",
        verb,
        decision.namespace,
        decision.name,
        decision.environment,
        decision.revision,
        identity.user,
    )
    try:
        await deps.events.emit(obj, event)
    except k8s.KubernetesError as exc:
        # Status already holds the decision; a lost Event must not turn the answer into an error.
        log.warning("Could not record event reason=%s error=%s", event.reason, type(exc).__name__)
