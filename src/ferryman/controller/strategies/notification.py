"""The ``notification`` strategy: the original controller's Promote event, to Kubernetes and Flux.

Like the original (fluxcd/pkg's event recorder), it records a Kubernetes Event on the Pipeline —
reason ``Promote``, annotations ``environment`` and ``version`` — and POSTs the same promotion in
Flux's event format to notification-controller's event receiver (``--events-addr``), where an
Alert on the Pipeline forwards it to Slack, a GitHub dispatch or any other provider.
notification-controller does not watch Kubernetes Events: without ``--events-addr`` no Alert
fires (the controller logs that once per promotion).

Idempotency: the Kubernetes Event's name and every byte of the Flux event derive from the
promotion record (pipeline uid, environment, revision, its requestedAt and first attempt), so an
attempt after a crash finds the Kubernetes Event already there and sends the Flux event again
unchanged, while a later promotion of the same revision (a rollback) sends its own — delivery is at
least once, and notification-controller's duplicate filter answers a repeat with 429, which counts
as delivered. The record moves to ``Promoted`` only once the receiver holds the event.
"""

from __future__ import annotations

import logging

from ferryman.api import pipeline, status
from ferryman.domain import changes, errors, naming, promotion_event, timefmt
from ferryman.ports import kubernetes as k8s
from ferryman.ports import promotion

log = logging.getLogger(__name__)

REASON = promotion_event.REASON


def flux_event(request: promotion.PromotionRequest, key: str) -> promotion_event.Promotion:
    """The promotion ``request`` as the Flux event describes it."""
    return promotion_event.Promotion(
        namespace=request.namespace,
        name=request.pipeline_name,
        uid=request.pipeline_uid,
        environment=request.environment,
        revision=request.revision,
        version=request.value,
        key=key,
        started_at=request.started_at,
    )


class NotificationStrategy:
    """Promote by announcing the revision: a Kubernetes Event and a Flux event."""

    name = "notification"

    def __init__(
        self, events: k8s.EventSink, receiver: promotion.EventReceiver | None = None
    ) -> None:
        self._events = events
        self._receiver = receiver

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
        about = flux_event(request, key)
        await self._record(request, about, key)
        if self._receiver is None:
            log.info(
                "No --events-addr: Flux is not told pipeline=%s/%s environment=%s revision=%s",
                request.namespace,
                request.pipeline_name,
                request.environment,
                request.revision,
            )
        else:
            await self._receiver.post(promotion_event.encode(about))
        return status.PromotionResult(key=key)

    async def _record(
        self, request: promotion.PromotionRequest, about: promotion_event.Promotion, key: str
    ) -> None:
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
            message=promotion_event.message(about),
            annotations={"environment": request.environment, "version": request.value},
            name=f"{request.pipeline_name}.promote.{key}",
        )
        try:
            await self._events.emit(subject, event)
        except k8s.KubernetesError as exc:
            raise errors.TemporaryError(f"could not record the Promote event: {exc}") from exc
