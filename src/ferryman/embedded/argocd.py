"""A local stand-in for Argo CD: sync Applications from a Git repository and report them as
Argo CD's application-controller does.

``ferryman up --app-kind argocd`` has no cluster and no Argo CD, yet the controller must see
exactly what it sees on a real one. ``LocalArgoCD`` polls a (bare) Git repository with the git
CLI and, for every environment, applies the ``Application`` manifests under that environment's
path to the embedded API (what an app-of-apps root Application does), then plays
application-controller for each of them, in the shapes of argoproj/argo-cd
``pkg/apis/application/v1alpha1/types.go`` (the fixtures in ``tests/fixtures/argocd/`` show the
same shapes; the e2e test validates these statuses against Argo CD's own CRD):

1. a new desired revision — the chart version a Helm source's ``targetRevision`` names, else the
   branch's commit — is compared: ``sync.status: OutOfSync`` with ``sync.revision``; with
   automated sync on, a sync operation starts at once (``operationState.phase: Running``,
   initiated by ``automated``), as ``autoSync`` does;
2. after ``ready_delay`` the sync succeeds: ``Synced``, ``operationState`` ``Succeeded``
   ("successfully synced (all tasks run)"), a ``history`` entry appended, health
   ``Progressing`` while the Deployment rolls out;
3. after another ``ready_delay`` health is ``Healthy`` — or ``Degraded`` for a revision listed in
   ``failing`` (the demo's health gate).

An Application whose automated sync is off stays ``OutOfSync`` until someone syncs it (never,
here). Level-triggered: after a restart it re-reads the branch, leaves Applications whose status
is current alone and finishes a rollout that was under way.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from ferryman.embedded import flux

log = logging.getLogger(__name__)

JSON = dict[str, Any]
API: Final = "argoproj.io/v1alpha1"
KIND: Final = "Application"
PLURAL: Final = "applications"
CONTROLLER_NAMESPACE: Final = "argocd"
RUNNING: Final = "one or more tasks are running"  # gitops-engine sync_context.go
SUCCEEDED: Final = "successfully synced (all tasks run)"
ROLLING: Final = "Waiting for rollout to finish: 0 of 1 updated replicas are available..."
DEGRADED: Final = 'Deployment "{name}" exceeded its progress deadline'
HISTORY_LIMIT: Final = 10  # spec.revisionHistoryLimit's default


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _source(obj: Mapping[str, Any]) -> JSON:
    source = _spec(obj).get("source")
    return copy.deepcopy(dict(source)) if isinstance(source, Mapping) else {}


def automated(obj: Mapping[str, Any]) -> bool:
    """Automated sync on: ``spec.syncPolicy.automated`` present and not ``enabled: false``."""
    policy = _spec(obj).get("syncPolicy")
    auto = policy.get("automated") if isinstance(policy, Mapping) else None
    return isinstance(auto, Mapping) and auto.get("enabled") is not False


def desired_revision(obj: Mapping[str, Any], commit: str) -> str:
    """What application-controller resolves the source to: a Helm chart's version, else the
    commit of the branch the source tracks."""
    source = _source(obj)
    if source.get("chart"):
        return str(source.get("targetRevision") or "")
    return commit


def _operation(obj: Mapping[str, Any], revision: str) -> JSON:
    policy = _spec(obj).get("syncPolicy") or {}
    prune = bool((policy.get("automated") or {}).get("prune"))
    return {
        "initiatedBy": {"automated": True},
        "retry": {"limit": 5},
        "sync": {"prune": prune, "revision": revision},
    }


def compared(obj: Mapping[str, Any], revision: str, now: datetime) -> JSON:
    """The status after comparing with ``revision``: OutOfSync (and nothing else changed)."""
    status = copy.deepcopy(dict(obj.get("status") or {}))
    source = _source(obj)
    status["sync"] = {
        "comparedTo": {"destination": dict(_spec(obj).get("destination") or {}), "source": source},
        "revision": revision,
        "status": "OutOfSync",
    }
    status.setdefault("health", {"status": "Missing"})
    status["reconciledAt"] = flux.timestamp(now)
    status["sourceType"] = "Helm" if source.get("chart") else "Directory"
    status["controllerNamespace"] = CONTROLLER_NAMESPACE
    return status


def sync_started(obj: Mapping[str, Any], revision: str, now: datetime) -> JSON:
    """Automated sync of ``revision`` begins (``autoSync``, then the sync's first step)."""
    status = compared(obj, revision, now)
    status["operationState"] = {
        "operation": _operation(obj, revision),
        "phase": "Running",
        "message": RUNNING,
        "startedAt": flux.timestamp(now),
        "syncResult": {"revision": revision, "source": _source(obj)},
    }
    return status


def _deployment(obj: Mapping[str, Any], health: JSON) -> JSON:
    destination = _spec(obj).get("destination") or {}
    return {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
        "namespace": str(destination.get("namespace") or obj["metadata"]["namespace"]),
        "name": str(obj["metadata"]["name"]),
        "status": "Synced",
        "health": health,
    }


def sync_finished(obj: Mapping[str, Any], revision: str, now: datetime) -> JSON:
    """The sync succeeded: Synced, a history entry, health Progressing while pods roll."""
    status = compared(obj, revision, now)
    started = str((status.get("operationState") or {}).get("startedAt") or flux.timestamp(now))
    source = _source(obj)
    deployment = _deployment(obj, {"status": "Progressing", "message": ROLLING})
    history = [dict(entry) for entry in status.get("history") or []]
    next_id = max((int(entry.get("id", 0)) for entry in history), default=-1) + 1
    history.append(
        {
            "deployStartedAt": started,
            "deployedAt": flux.timestamp(now),
            "id": next_id,
            "initiatedBy": {"automated": True},
            "revision": revision,
            "source": source,
        }
    )
    result = {key: deployment[key] for key in ("group", "version", "kind", "namespace", "name")}
    status.update(
        sync={**status["sync"], "status": "Synced"},  # compared with revision, now in sync
        health={"status": "Progressing"},
        history=history[-HISTORY_LIMIT:],
        resources=[deployment],
        reconciledAt=flux.timestamp(now),
        operationState={
            "operation": _operation(obj, revision),
            "phase": "Succeeded",
            "message": SUCCEEDED,
            "startedAt": started,
            "finishedAt": flux.timestamp(now),
            "syncResult": {
                "revision": revision,
                "source": source,
                "resources": [
                    result
                    | {
                        "status": "Synced",
                        "message": f"deployment.apps/{result['name']} configured",
                        "hookPhase": "Running",
                        "syncPhase": "Sync",
                    }
                ],
            },
        },
    )
    return status


def rolled_out(obj: Mapping[str, Any], now: datetime, *, failed: bool) -> JSON:
    """The rollout finished: health Healthy, or Degraded when its pods never became ready."""
    status = copy.deepcopy(dict(obj.get("status") or {}))
    name = str(obj["metadata"]["name"])
    health = (
        {"status": "Degraded", "message": DEGRADED.format(name=name)}
        if failed
        else {"status": "Healthy"}
    )
    status["resources"] = [_deployment(obj, health)]
    status["health"] = {"status": health["status"], "lastTransitionTime": flux.timestamp(now)}
    status["reconciledAt"] = flux.timestamp(now)
    return status


def is_current(obj: Mapping[str, Any], revision: str) -> bool:
    """Whether the status reports ``revision`` synced and rolled out (healthy or not)."""
    status = obj.get("status") or {}
    sync = status.get("sync") or {}
    history = status.get("history") or [{}]
    return (
        sync.get("status") == "Synced"
        and sync.get("revision") == revision
        and (status.get("operationState") or {}).get("phase") == "Succeeded"
        and (status.get("health") or {}).get("status") in ("Healthy", "Degraded")
        and history[-1].get("revision") == revision
    )


@dataclasses.dataclass(frozen=True)
class ArgoConfig:
    """What the stand-in watches and how it behaves."""

    repository: Path  # a bare repository (or a working copy's .git directory)
    paths: Mapping[str, str]  # environment name -> directory in the repository
    branch: str = "main"
    interval: float = 1.0  # seconds between polls of the branch
    ready_delay: float = 3.0  # seconds for a sync, and again for its rollout
    failing: frozenset[str] = frozenset()  # revisions whose rollout ends Degraded


class LocalArgoCD:
    """Plays Argo CD (root app-of-apps, application-controller) for one repository."""

    def __init__(self, config: ArgoConfig, client: flux.KubeClient) -> None:
        self.config = config
        self._client = client
        self._applied_commit = ""
        self._pending: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._namespaces: set[str] = set()

    @property
    def idle(self) -> bool:
        """True when no sync or rollout is waiting for its delay."""
        return not self._pending

    async def _call(self, method: str, path: str, body: JSON | None = None) -> flux.ApiResponse:
        return await asyncio.to_thread(self._client.request, method, path, body)

    async def run(self) -> None:
        """Poll and sync until cancelled; errors are logged and retried on the next poll."""
        try:
            await flux.poll(self.sync, self.config.interval, "Argo CD")
        finally:
            await self.close()

    async def close(self) -> None:
        """Cancel syncs and rollouts still waiting for their delay."""
        await flux.cancel_all(self._pending)

    async def sync(self) -> bool:
        """Apply the branch's tip if it changed since the last sync; True when it did."""
        ref = f"refs/heads/{self.config.branch}"
        commit = (await flux.git(self.config.repository, "rev-parse", ref)).strip()
        if commit == self._applied_commit:
            return False
        for environment, path in self.config.paths.items():
            for document in await flux.read_manifests(self.config.repository, commit, path):
                await self.apply(document, commit=commit, environment=environment)
        self._applied_commit = commit
        return True

    async def _ensure_namespace(self, namespace: str) -> None:
        if namespace in self._namespaces:
            return
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        answer = await self._call("POST", "/api/v1/namespaces", body)
        if answer.status not in (200, 201, 409):
            raise flux.FluxError(f'namespace "{namespace}" cannot be created: {_message(answer)}')
        self._namespaces.add(namespace)

    async def _upsert(self, document: JSON, namespace: str, name: str) -> JSON:
        """Create the Application or replace its spec (the API server bumps its generation)."""
        path = flux.object_path(API, PLURAL, namespace, name)
        current = await self._call("GET", path)
        if current.status == 404:
            meta = document.get("metadata") or {}
            body = {
                "apiVersion": API,
                "kind": KIND,
                "metadata": {k: v for k, v in meta.items() if k in ("name", "labels")}
                | {"namespace": namespace},
                "spec": document.get("spec") or {},
            }
            created = await self._call("POST", flux.object_path(API, PLURAL, namespace), body)
            if created.status not in (200, 201):
                raise flux.FluxError(
                    f"{KIND} {namespace}/{name} cannot be created: {_message(created)}"
                )
            return created.body
        if current.status != 200:
            raise flux.FluxError(f"{KIND} {namespace}/{name} cannot be read: {_message(current)}")
        obj = current.body
        if obj.get("spec") != document.get("spec"):
            obj["spec"] = document.get("spec") or {}
            updated = await self._call("PUT", path, obj)
            if updated.status != 200:
                raise flux.FluxError(
                    f"{KIND} {namespace}/{name} cannot be updated: {_message(updated)}"
                )
            obj = updated.body
        return obj

    async def apply(self, document: JSON, *, commit: str, environment: str) -> None:
        """Apply one Application and, if it needs it, compare and sync it."""
        meta = document.get("metadata") or {}
        if (document.get("apiVersion"), document.get("kind")) != (API, KIND) or not meta.get(
            "name"
        ):
            log.info(
                "Skipped manifest kind=%s (not applied by the local Argo CD)", document.get("kind")
            )
            return
        namespace, name = str(meta.get("namespace") or "default"), str(meta["name"])
        await self._ensure_namespace(namespace)
        obj = await self._upsert(document, namespace, name)
        log.info("Applied %s %s/%s environment=%s", KIND, namespace, name, environment)
        revision = desired_revision(obj, commit)
        if is_current(obj, revision):
            return
        key, path = (namespace, name), flux.object_path(API, PLURAL, namespace, name)
        previous = self._pending.pop(key, None)
        if previous is not None:
            previous.cancel()
        if not automated(obj):
            await self._write_status(path, lambda o: compared(o, revision, _now()))
            return
        await self._write_status(path, lambda o: sync_started(o, revision, _now()))
        self._pending[key] = asyncio.ensure_future(self._roll_out(key, path, revision))

    async def _roll_out(self, key: tuple[str, str], path: str, revision: str) -> None:
        failed = revision in self.config.failing
        try:
            await asyncio.sleep(self.config.ready_delay)
            await self._write_status(path, lambda o: sync_finished(o, revision, _now()))
            await asyncio.sleep(self.config.ready_delay)
            await self._write_status(path, lambda o: rolled_out(o, _now(), failed=failed))
        except flux.FluxError as exc:
            log.warning("Sync of %s/%s failed: %s", *key, exc)
            self._applied_commit = ""  # try the whole branch again on the next poll
        else:
            log.info("Synced %s %s/%s to %s", KIND, *key, revision)
        finally:
            if self._pending.get(key) is asyncio.current_task():
                del self._pending[key]

    async def _write_status(self, path: str, compute: Callable[[JSON], JSON]) -> None:
        """Read the Application, compute its status, ``PUT`` it back (re-read on 409).

        Argo CD's CRD has no status subresource (``subresources: {}``): application-controller
        writes the status with the object, and so does this stand-in.
        """
        for _ in range(5):
            current = await self._call("GET", path)
            if current.status != 200:
                raise flux.FluxError(f"{path} cannot be read: {_message(current)}")
            obj = current.body
            obj["status"] = compute(obj)
            answer = await self._call("PUT", path, obj)
            if answer.status == 200:
                return
            if answer.status != 409:
                raise flux.FluxError(f"the status of {path} was refused: {_message(answer)}")
        raise flux.FluxError(f"the status of {path} kept changing (5 conflicts in a row)")


def _message(answer: flux.ApiResponse) -> str:
    return str(answer.body.get("message") or f"HTTP {answer.status}")


def _now() -> datetime:
    return datetime.now(UTC)
