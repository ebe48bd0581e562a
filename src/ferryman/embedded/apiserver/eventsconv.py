"""One Event store, two views: core ``v1`` Events and ``events.k8s.io/v1`` Events.

Objects are stored in the core form; the events.k8s.io view is converted on the way in and out
with Kubernetes' field mapping (``note``↔``message``, ``regarding``↔``involvedObject``,
``reportingController``↔``reportingComponent``, ``deprecatedSource``↔``source``,
``deprecatedCount``↔``count``, ``deprecatedFirstTimestamp``/``deprecatedLastTimestamp``↔
``firstTimestamp``/``lastTimestamp``). Shared fields (``eventTime``, ``series``, ``action``,
``reason``, ``type``, ``related``, ``reportingInstance``) pass through unchanged.
"""

from __future__ import annotations

from typing import Any

#: events.k8s.io/v1 field → core/v1 field
_RENAMES = {
    "note": "message",
    "regarding": "involvedObject",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "deprecatedCount": "count",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
}
_SHARED = (
    "metadata",
    "eventTime",
    "series",
    "action",
    "reason",
    "type",
    "related",
    "reportingInstance",
)


def to_core(event: dict[str, Any]) -> dict[str, Any]:
    """An ``events.k8s.io/v1`` Event in its stored core/v1 form."""
    core: dict[str, Any] = {"apiVersion": "v1", "kind": "Event"}
    for key in _SHARED:
        if key in event:
            core[key] = event[key]
    for new, old in _RENAMES.items():
        if new in event:
            core[old] = event[new]
    if "source" not in core and event.get("reportingController"):
        # Older readers (kubectl describe) show source.component; keep it filled.
        core["source"] = {"component": event["reportingController"]}
        if event.get("reportingInstance"):
            core["source"]["host"] = event["reportingInstance"]
    return core


def from_core(core: dict[str, Any], api_version: str = "events.k8s.io/v1") -> dict[str, Any]:
    """The ``events.k8s.io/v1`` view of a stored core Event."""
    event: dict[str, Any] = {"apiVersion": api_version, "kind": "Event"}
    for key in _SHARED:
        if key in core:
            event[key] = core[key]
    for new, old in _RENAMES.items():
        if old in core:
            event[new] = core[old]
    if "reportingController" not in event and isinstance(core.get("source"), dict):
        component = core["source"].get("component")
        if component:
            event["reportingController"] = component
    return event
