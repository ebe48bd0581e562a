"""What an app object says about itself: the revision it runs and whether it is ready.

One function per app kind, all pure: the controller hands in the object as JSON (or the reason it
could not read it) and gets a ``TargetStatus``. Garbage in a status never raises — it becomes the
target's (bounded) error, so one broken object cannot stall a pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ferryman.api import pipeline, status
from ferryman.domain import text

HELM_GROUP = "helm.toolkit.fluxcd.io"
KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"
ARGO_GROUP = "argoproj.io"


@dataclass(frozen=True)
class Observation:
    """Revision and readiness of one app object."""

    ready: bool
    revision: str = ""
    error: str = ""


def group_of(api_version: str) -> str:
    """``helm.toolkit.fluxcd.io/v2`` -> ``helm.toolkit.fluxcd.io``; ``v1`` -> ``""``."""
    return api_version.rpartition("/")[0]


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _ready_condition(obj: Mapping[str, Any]) -> tuple[bool, str]:
    """kstatus readiness: a current ``Ready`` condition with status True (message otherwise)."""
    conditions = _get(obj, "status", "conditions")
    if not isinstance(conditions, list):
        return False, "no Ready condition yet"
    ready = next(
        (c for c in conditions if isinstance(c, Mapping) and c.get("type") == "Ready"), None
    )
    if ready is None:
        return False, "no Ready condition yet"
    generation = _get(obj, "metadata", "generation")
    observed = ready.get("observedGeneration", _get(obj, "status", "observedGeneration"))
    if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
        return False, f"generation {generation} not yet observed (at {observed})"
    if ready.get("status") == "True":
        return True, ""
    message = ready.get("message") or ready.get("reason") or "not ready"
    return False, str(message)


def _helm_revision(obj: Mapping[str, Any]) -> str:
    history = _get(obj, "status", "history")
    if isinstance(history, list):
        snapshots = [
            s for s in history if isinstance(s, Mapping) and isinstance(s.get("version"), int)
        ]
        if snapshots:
            latest = max(snapshots, key=lambda s: int(s["version"]))
            chart_version = latest.get("chartVersion")
            if isinstance(chart_version, str) and chart_version:
                return chart_version
    for field in ("lastAttemptedRevision", "lastAppliedRevision"):
        value = _get(obj, "status", field)
        if isinstance(value, str) and value:
            return value
    return ""


def _path_revision(obj: Mapping[str, Any], path: str) -> str:
    value = _get(obj, *[part for part in path.split(".") if part])
    return value if isinstance(value, str) else ""


def _argo(obj: Mapping[str, Any]) -> Observation:
    revision = _get(obj, "status", "sync", "revision")
    health = _get(obj, "status", "health", "status")
    revision = revision if isinstance(revision, str) else ""
    if health == "Healthy":
        return Observation(ready=True, revision=revision)
    message = _get(obj, "status", "health", "message")
    detail = message if isinstance(message, str) and message else f"health is {health or 'unknown'}"
    return Observation(ready=False, revision=revision, error=detail)


def observe(app_ref: pipeline.AppRef, obj: Mapping[str, Any]) -> Observation:
    """Read revision and readiness from an app object of the kind ``app_ref`` names."""
    group = group_of(app_ref.api_version)
    if group == ARGO_GROUP and app_ref.kind == "Application":
        return _argo(obj)
    if group == HELM_GROUP and app_ref.kind == "HelmRelease":
        revision = _helm_revision(obj)
    elif app_ref.revision_path:
        revision = _path_revision(obj, app_ref.revision_path)
    else:
        revision = _path_revision(obj, "status.lastAppliedRevision")
    ready, message = _ready_condition(obj)
    return Observation(ready=ready, revision=revision, error=message)


def cluster_app_ref(
    app_ref: pipeline.AppRef, target: pipeline.Target
) -> status.ClusterAppReference:
    """The fully qualified reference of the app object of ``target``."""
    cluster = None
    if target.cluster_ref is not None:
        ref = target.cluster_ref
        cluster = status.ClusterRef(
            api_version=ref.api_version, kind=ref.kind, name=ref.name, namespace=ref.namespace
        )
    return status.ClusterAppReference(
        api_version=app_ref.api_version,
        kind=app_ref.kind,
        name=app_ref.name,
        namespace=target.namespace,
        cluster_ref=cluster,
    )


def target_status(
    app_ref: pipeline.AppRef,
    target: pipeline.Target,
    obj: Mapping[str, Any] | None,
    *,
    error: str = "",
) -> status.TargetStatus:
    """Status of one target from its object, or from the reason it could not be read."""
    ref = cluster_app_ref(app_ref, target)
    if obj is None:
        reason = (
            error or f'{app_ref.kind} "{app_ref.name}" not found in namespace "{target.namespace}"'
        )
        error = text.bounded(reason, status.MAX_TARGET_ERROR_LENGTH)
        return status.TargetStatus(cluster_app_ref=ref, ready=False, error=error)
    seen = observe(app_ref, obj)
    if seen.ready and not seen.revision:
        # Ready but silent about what it runs: nothing can be promoted from or judged by it.
        seen = Observation(ready=False, error=f"{app_ref.kind} is ready but reports no revision")
    return status.TargetStatus(
        cluster_app_ref=ref,
        ready=seen.ready,
        revision=text.bounded(seen.revision, status.MAX_REVISION_LENGTH),
        error="" if seen.ready else text.bounded(seen.error, status.MAX_TARGET_ERROR_LENGTH),
    )
