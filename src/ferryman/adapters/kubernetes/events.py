"""``EventSink`` over ``events.k8s.io/v1`` Events regarding a Pipeline.

An Event with a deterministic name is created at most once: ``AlreadyExists`` means an earlier
attempt (before a crash, or on another replica) already recorded it, which is exactly the
exactly-once property the notification strategy relies on.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import lightkube

from ferryman.adapters.kubernetes import errors, resources, urls
from ferryman.domain import controls
from ferryman.ports import kubernetes as k8s

REPORTING_CONTROLLER = "pipelines.weave.works/ferryman"


def _name(pipeline: k8s.JSON, event: k8s.EventRecord) -> str:
    if event.name:
        return event.name
    meta = pipeline["metadata"]
    digest = hashlib.sha256(
        f"{meta.get('uid')}|{event.reason}|{event.message}|{datetime.now(UTC).isoformat()}".encode()
    ).hexdigest()[:10]
    return f"{meta['name']}.{digest}"


class LightkubeEventSink:
    """Writes Events to the Pipeline's namespace."""

    def __init__(self, client: lightkube.AsyncClient, *, instance: str) -> None:
        self._client = client
        self._instance = instance

    async def emit(self, pipeline: k8s.JSON, event: k8s.EventRecord) -> bool:
        meta = pipeline["metadata"]
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {
                "name": _name(pipeline, event),
                "namespace": meta["namespace"],
                "annotations": dict(event.annotations),
            },
            "eventTime": now,
            "reportingController": REPORTING_CONTROLLER,
            "reportingInstance": self._instance,
            "action": event.action,
            "reason": event.reason,
            # Comments and errors come from people and other systems: no control character of
            # theirs reaches `kubectl get events` or `describe` (the status keeps the original).
            "note": controls.stripped(event.message)[:1024],
            "type": "Warning" if event.warning else "Normal",
            "regarding": {
                "apiVersion": pipeline["apiVersion"],
                "kind": pipeline["kind"],
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
        }
        try:
            with errors.translated():
                # lightkube takes the URL's namespace from the body: it must need no escaping.
                urls.plain(meta["namespace"])
                await self._client.create(resources.build(resources.EVENT, body))
        except k8s.Conflict:
            return False
        return True
