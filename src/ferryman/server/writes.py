"""The server's one write path into a Pipeline's status, shared by approvals and operator actions.

Read the Pipeline, compute its next status with a pure function of the domain, write it with the
resourceVersion that was read. A 409 means someone (another user, the controller) wrote
meanwhile: read again and compute again, a bounded number of times. A change that leaves the
status as it was writes nothing. After a write the Pipeline is enqueued: the controller, not this
code, acts on what was recorded; and what the write measured (a rejection, a rollback:
``domain.delivery``) goes to the delivery metrics, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ferryman.api import pipeline, status, validation
from ferryman.domain import delivery
from ferryman.ports import kubernetes as k8s
from ferryman.server import errors
from ferryman.server.deps import Deps

# The next status of a parsed Pipeline; raises ``errors.HttpError`` when the change is refused.
Change = Callable[[pipeline.Pipeline], status.PipelineStatus]


@dataclass(frozen=True)
class Written:
    """The Pipeline after the change: as stored, parsed with its new status; did it move?"""

    obj: k8s.JSON
    subject: pipeline.Pipeline
    changed: bool


def _not_found(namespace: str, name: str) -> errors.HttpError:
    return errors.HttpError(404, f'pipeline "{namespace}/{name}" not found', reason="NotFound")


async def write(deps: Deps, namespace: str, name: str, change: Change, *, doing: str) -> Written:
    """Apply ``change`` to ``namespace/name`` and store it (see the module docstring).

    ``doing`` completes "fix it before …" when the spec is invalid.
    """
    for _ in range(deps.options.max_write_attempts):
        obj = await deps.store.get(namespace, name)
        if obj is None:
            raise _not_found(namespace, name)
        parsed, problems = validation.validate(obj)
        if parsed is None or problems:
            message = f'pipeline "{namespace}/{name}" has an invalid spec; fix it before {doing}'
            raise errors.HttpError(409, message)
        updated = change(parsed)
        if updated == parsed.status:
            return Written(obj, parsed, changed=False)
        try:
            stored = await deps.store.write_status(obj, updated.to_wire())
        except k8s.Conflict:
            continue
        except k8s.NotFound as exc:
            raise _not_found(namespace, name) from exc
        if deps.delivery is not None:  # a rejection, a rollback: measured once, by this write
            deps.delivery.record(namespace, name, delivery.measures(parsed.status, updated))
        deps.trigger.enqueue(namespace, name)
        return Written(stored, parsed.model_copy(update={"status": updated}), changed=True)
    message = f'pipeline "{namespace}/{name}" kept changing; try again'
    raise errors.HttpError(409, message, reason="Conflict")
