"""What an app object says about itself: the revision it runs and whether it is ready.

One function per app kind, all pure: the controller hands in the object as JSON (or the reason it
could not read it) and gets a ``TargetStatus``. Garbage in a status never raises — it becomes the
target's (bounded) error, so one broken object cannot stall a pipeline.

Flux re-applies what it already runs on every interval: kustomize-controller sets
``Ready=Unknown`` (reason ``Progressing``) at the start of *each* reconcile, and helm-controller
does so while it corrects drift. Such an object is *settling*: its last attempted revision is the
one it last applied and runs, and its generation is observed. A settling target keeps the
readiness it had (so a soak time longer than Flux's interval can pass); a genuinely new attempt —
another revision, other values, a new generation — is not settling and is not ready.
Argo CD Applications follow the same idea with their own fields (``domain.argocd``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ferryman.api import pipeline, status
from ferryman.domain import argocd, fields, revisions, text

HELM_GROUP = "helm.toolkit.fluxcd.io"
KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"
ARGO_GROUP = argocd.GROUP
PROGRESSING = "Progressing"  # fluxcd/pkg apis/meta ProgressingReason


@dataclass(frozen=True)
class Observation:
    """Revision and readiness of one app object."""

    ready: bool
    revision: str = ""
    error: str = ""
    settling: bool = False  # Ready=Unknown/Progressing while re-applying what it runs
    suspended: bool = False  # spec.suspend: Flux does not reconcile it


def group_of(api_version: str) -> str:
    """``helm.toolkit.fluxcd.io/v2`` -> ``helm.toolkit.fluxcd.io``; ``v1`` -> ``""``."""
    return api_version.rpartition("/")[0]


def _ready(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    conditions = fields.get(obj, "status", "conditions")
    if not isinstance(conditions, list):
        return None
    return next(
        (c for c in conditions if isinstance(c, Mapping) and c.get("type") == "Ready"), None
    )


def _ready_condition(obj: Mapping[str, Any]) -> tuple[bool, str]:
    """kstatus readiness: a current ``Ready`` condition with status True (message otherwise)."""
    ready = _ready(obj)
    if ready is None:
        return False, "no Ready condition yet"
    generation = fields.get(obj, "metadata", "generation")
    observed = ready.get("observedGeneration", fields.get(obj, "status", "observedGeneration"))
    if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
        return False, f"generation {generation} not yet observed (at {observed})"
    if ready.get("status") == "True":
        return True, ""
    message = ready.get("message") or ready.get("reason") or "not ready"
    return False, str(message)


def _generation_observed(obj: Mapping[str, Any], *names: str) -> bool:
    """``metadata.generation`` equals every one of ``status.<names>`` that is set."""
    generation = fields.get(obj, "metadata", "generation")
    seen = [fields.get(obj, "status", name) for name in names]
    return all(value == generation for value in seen if value is not None)


def _progressing(obj: Mapping[str, Any]) -> bool:
    ready = _ready(obj)
    return ready is not None and (ready.get("status"), ready.get("reason")) == (
        "Unknown",
        PROGRESSING,
    )


def _helm_settling(obj: Mapping[str, Any], revision: str) -> bool:
    """helm-controller re-applies the release it runs (drift correction, not an upgrade)."""
    latest = _helm_snapshot(obj) or {}
    attempted_config = fields.get(obj, "status", "lastAttemptedConfigDigest")
    same_config = attempted_config is None or attempted_config == latest.get("configDigest")
    return (
        fields.get(obj, "status", "lastAttemptedRevision") == revision
        and same_config
        and _generation_observed(obj, "observedGeneration", "lastAttemptedGeneration")
    )


def _flux_settling(obj: Mapping[str, Any], revision: str) -> bool:
    """kustomize-controller (or any Flux kind) re-applies the revision it last applied."""
    attempted = fields.get(obj, "status", "lastAttemptedRevision")
    applied = fields.get(obj, "status", "lastAppliedRevision")
    return (
        bool(revision)
        and attempted == applied == revision
        and _generation_observed(obj, "observedGeneration")
    )


def _helm_snapshot(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The snapshot of ``status.history`` with the highest release version (the latest)."""
    history = fields.get(obj, "status", "history")
    if not isinstance(history, list):
        return None
    snapshots = [s for s in history if isinstance(s, Mapping) and isinstance(s.get("version"), int)]
    return max(snapshots, key=lambda s: int(s["version"])) if snapshots else None


def _helm_revision(obj: Mapping[str, Any]) -> str:
    latest = _helm_snapshot(obj)
    if latest is not None:
        chart_version = latest.get("chartVersion")
        if isinstance(chart_version, str) and chart_version:
            return chart_version
    for field in ("lastAttemptedRevision", "lastAppliedRevision"):
        value = fields.get(obj, "status", field)
        if isinstance(value, str) and value:
            return value
    return ""


def _argo(obj: Mapping[str, Any], path: str | None) -> Observation:
    """An Argo CD Application (``domain.argocd``)."""
    ready, message = argocd.readiness(obj)
    return Observation(
        ready,
        fields.text_at(obj, path) if path else argocd.revision(obj),
        message,
        settling=not ready and argocd.settling(obj),
        suspended=argocd.suspended(obj),
    )


def observe(app_ref: pipeline.AppRef, obj: Mapping[str, Any]) -> Observation:
    """Read revision and readiness from an app object of the kind ``app_ref`` names.

    ``revisionPath``, when set, names where the revision is for every kind (HelmRelease and
    Argo CD Application included); readiness always comes from the kind's own rule.
    """
    group = group_of(app_ref.api_version)
    path = app_ref.revision_path
    if argocd.is_application(group, app_ref.kind):
        return _argo(obj, path)
    helm = group == HELM_GROUP and app_ref.kind == revisions.HELM_RELEASE
    if path:
        revision = fields.text_at(obj, path)
    elif helm:
        revision = _helm_revision(obj)
    else:
        revision = fields.text_at(obj, "status.lastAppliedRevision")
    ready, message = _ready_condition(obj)
    settling = (
        not ready
        and _progressing(obj)
        and (_helm_settling(obj, revision) if helm else _flux_settling(obj, revision))
    )
    suspended = fields.get(obj, "spec", "suspend") is True
    return Observation(ready, revision, message, settling=settling, suspended=suspended)


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
    reason: str = "",
    previous: status.TargetStatus | None = None,
) -> status.TargetStatus:
    """Status of one target from its object, or from the reason it could not be read.

    ``reason`` names why an unreadable target could not be read (a condition reason such as
    ``TargetClusterNotFound``); ``previous`` is this target's status of the last pass, whose
    readiness a settling object keeps (module doc).
    """
    ref = cluster_app_ref(app_ref, target)
    if obj is None:
        why = (
            error or f'{app_ref.kind} "{app_ref.name}" not found in namespace "{target.namespace}"'
        )
        return status.TargetStatus(
            cluster_app_ref=ref,
            ready=False,
            error=text.bounded(why, status.MAX_TARGET_ERROR_LENGTH),
            reason=reason or None,
        )
    seen = observe(app_ref, obj)
    if seen.settling and previous is not None and previous.cluster_app_ref == ref:
        kept = previous.ready and revisions.same(previous.revision, seen.revision)
        seen = Observation(kept, seen.revision, seen.error, suspended=seen.suspended)
    if seen.ready and not seen.revision:
        # Ready but silent about what it runs: nothing can be promoted from or judged by it.
        seen = Observation(ready=False, error=f"{app_ref.kind} is ready but reports no revision")
    return status.TargetStatus(
        cluster_app_ref=ref,
        ready=seen.ready,
        revision=text.bounded(seen.revision, status.MAX_REVISION_LENGTH),
        error="" if seen.ready else text.bounded(seen.error, status.MAX_TARGET_ERROR_LENGTH),
        suspended=True if seen.suspended else None,
    )
