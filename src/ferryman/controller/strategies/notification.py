"""The ``notification`` strategy: a Kubernetes Event on the Pipeline, reason ``Promote``.

As in the original controller, the Event carries the annotations ``environment`` and ``version``
(what Flux's notification-controller forwards as event metadata). Its name derives from
(pipeline uid, environment, revision, the record's requestedAt), so a repeated attempt after a
crash finds the Event already there and sends nothing twice, while a later promotion of the same
revision (a rollback) sends its own.
"""

from __future__ import annotations

from ferryman.api import pipeline, status
from ferryman.domain import changes, errors, naming, timefmt
from ferryman.ports import kubernetes as k8s
from ferryman.ports import promotion

REASON = "Promote"


class NotificationStrategy:
    """Promote by recording an Event that Flux forwards to the environment's automation."""

    name = "notification"

    def __init__(self, events: k8s.EventSink) -> None:
        self._events = events

    async def preview(self, request: promotion.PromotionRequest) -> status.ChangeSummary:
        """An event changes no file: the change is empty (its digest binds nothing)."""
        return changes.summary(request.token, ())

    async def promote(self, request: promotion.PromotionRequest) -> status.PromotionResult:
        key = naming.event_key(
            pipeline_uid=request.pipeline_uid,
            environment=request.environment,
            revision=request.revision,
            requested=timefmt.iso(request.requested_at) if request.requested_at else "",
        )
        subject: k8s.JSON = {
            "apiVersion": pipeline.API_VERSION,
            "kind": pipeline.KIND,
            "metadata": {
                "name": request.pipeline_name,
                "namespace": request.namespace,
                "uid": request.pipeline_uid,
            },
        }
        event = k8s.EventRecord(
            reason=REASON,
            action="Promote",
            message=(
                f"Promote pipeline {request.namespace}/{request.pipeline_name} to "
                f"{request.environment} with version {request.revision}"
            ),
            annotations={"environment": request.environment, "version": request.revision},
            name=f"{request.pipeline_name}.promote.{key}",
        )
        try:
            await self._events.emit(subject, event)
        except k8s.KubernetesError as exc:
            raise errors.TemporaryError(f"could not record the Promote event: {exc}") from exc
        return status.PromotionResult(key=key)
