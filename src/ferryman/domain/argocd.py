"""What an Argo CD ``Application`` says about itself: the revision it runs and whether it is ready.

Read from the status application-controller writes (argoproj/argo-cd
``pkg/apis/application/v1alpha1/types.go``: ``ApplicationStatus``, ``SyncStatus``,
``AppHealthStatus``, ``OperationState``, ``RevisionHistory``; ``controller/state.go`` fills them;
the fixtures in ``tests/fixtures/argocd/`` show each shape):

- **revision**: ``status.sync.revision``, what the last comparison resolved the source to — the
  commit of a Git source (a branch or tag resolves to its commit), the chart version of a Helm
  source, a digest of an OCI one. A multi-source app leaves it empty and lists one revision per
  source, in ``spec.sources`` order, in ``status.sync.revisions``: Ferryman reads the first
  (``revisionPath: .status.sync.revisions.1`` picks another).
- **ready**: health ``Healthy``, sync ``Synced``, no sync operation requested (the top-level
  ``operation``) or running (``operationState.phase`` ``Running``/``Terminating``), and the last
  operation did not fail (``Failed``/``Error``). ``sync.revision`` is what Argo CD compares the
  cluster with, so an ``OutOfSync`` app does not run it yet.
- **settling**: Argo CD re-syncs the revision it already runs (self-heal of drift, or someone
  pressing Sync again): it compares with exactly the revision(s) and source(s) of its last
  successful sync — the last ``status.history`` entry, which Argo CD appends only after a full,
  successful sync — its health is ``Healthy`` or ``Progressing`` and no operation failed. Such a
  target keeps its readiness, as a Flux object re-applying what it runs does.
- **suspended**: automated sync switched off with ``spec.syncPolicy.automated.enabled: false``
  (Argo CD's ``toggle-auto-sync`` action): Argo CD would not apply a promotion, so it waits. An
  app that never had automated sync is not suspended: people sync it by hand, and a promotion
  waits for them in ``Promoted``.

Pure functions of the object as JSON; nothing here reads a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ferryman.domain import fields

GROUP: Final = "argoproj.io"
KIND: Final = "Application"
HEALTHY: Final = "Healthy"
SYNCED: Final = "Synced"
RUNNING: Final = frozenset({"Running", "Terminating"})  # gitops-engine OperationPhase
FAILED: Final = {"Failed": "the last sync failed", "Error": "the last sync ended in an error"}
SETTLING_HEALTH: Final = frozenset({"Healthy", "Progressing"})


def is_application(group: str, kind: str) -> bool:
    """Whether ``group``/``kind`` name an Argo CD Application."""
    return (group, kind) == (GROUP, KIND)


def revision(obj: Mapping[str, Any]) -> str:
    """``sync.revision``, else the first of a multi-source app's ``sync.revisions``."""
    single = fields.get(obj, "status", "sync", "revision")
    if isinstance(single, str) and single:
        return single
    first = fields.get(obj, "status", "sync", "revisions", "0")
    return first if isinstance(first, str) else ""


def _compared(obj: Mapping[str, Any]) -> str:
    """The revision(s) Argo CD compares with, for messages."""
    many = fields.get(obj, "status", "sync", "revisions")
    if isinstance(many, list) and many:
        return ", ".join(str(item) for item in many)
    return revision(obj) or "an unknown revision"


def _text(obj: Mapping[str, Any], *path: str) -> str:
    value = fields.get(obj, *path)
    return value if isinstance(value, str) else ""


def _operation_problem(obj: Mapping[str, Any]) -> str:
    """Why a requested, running or failed sync operation keeps the app from being ready."""
    phase = _text(obj, "status", "operationState", "phase")
    message = fields.get(obj, "status", "operationState", "message")
    detail = f": {message}" if isinstance(message, str) and message else ""
    if phase in FAILED:
        return f"{FAILED[phase]}{detail}"
    if phase in RUNNING:
        return f"a sync is {phase.lower()}{detail}"
    if isinstance(obj.get("operation"), Mapping):
        return "a sync was requested"
    return ""


def _error_condition(obj: Mapping[str, Any]) -> str:
    conditions = fields.get(obj, "status", "conditions")
    for condition in conditions if isinstance(conditions, list) else ():
        kind = fields.get(condition, "type")
        if isinstance(kind, str) and kind.endswith("Error"):
            return f" ({kind}: {fields.get(condition, 'message') or 'no message'})"
    return ""


def readiness(obj: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether the app runs its revision healthy and in sync, else why not (module doc)."""
    problem = _operation_problem(obj)
    if problem:
        return False, problem
    health = _text(obj, "status", "health", "status")
    if health != HEALTHY:
        message = fields.get(obj, "status", "health", "message")
        if isinstance(message, str) and message:
            return False, message
        return False, f"health is {health or 'unknown'}"
    sync = fields.get(obj, "status", "sync", "status")
    if sync != SYNCED:
        what = sync or "sync status unknown"
        return False, f"{what} with {_compared(obj)}{_error_condition(obj)}"
    return True, ""


def _last_deploy(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    history = fields.get(obj, "status", "history")
    if not isinstance(history, list) or not history or not isinstance(history[-1], Mapping):
        return None
    last: Mapping[str, Any] = history[-1]
    return last


def settling(obj: Mapping[str, Any]) -> bool:
    """Argo CD re-syncs the revision and source of its last successful sync (module doc)."""
    last = _last_deploy(obj)
    sync = fields.get(obj, "status", "sync")
    if last is None or not isinstance(sync, Mapping) or not revision(obj):
        return False
    compared = sync.get("comparedTo")
    compared = compared if isinstance(compared, Mapping) else {}
    same = all(
        (sync.get(key) or None) == (last.get(key) or None) for key in ("revision", "revisions")
    ) and all(
        (compared.get(key) or None) == (last.get(key) or None) for key in ("source", "sources")
    )
    phase = _text(obj, "status", "operationState", "phase")
    health = _text(obj, "status", "health", "status")
    return same and phase not in FAILED and health in SETTLING_HEALTH


def suspended(obj: Mapping[str, Any]) -> bool:
    """Automated sync switched off (``spec.syncPolicy.automated.enabled: false``)."""
    return fields.get(obj, "spec", "syncPolicy", "automated", "enabled") is False


def observed_parts(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What of an Application besides its status the rules above read: the requested
    ``operation`` and ``spec.syncPolicy.automated`` (informer caches keep only these)."""
    kept: dict[str, Any] = {}
    automated = fields.get(obj, "spec", "syncPolicy", "automated")
    if isinstance(automated, Mapping):
        kept["spec"] = {"syncPolicy": {"automated": dict(automated)}}
    if "operation" in obj:
        kept["operation"] = obj["operation"]
    return kept
