"""A local stand-in for Flux: apply a Git repository's manifests and report them ready like Flux.

``ferryman up`` has no cluster and no Flux, yet the controller must see exactly what it sees on a
real cluster. ``LocalFlux`` polls a (bare) Git repository with the git CLI; for every environment
it applies the HelmReleases and Kustomizations under that environment's path to the embedded API
(create, or replace the spec: the API server bumps ``metadata.generation``), marks them
``Ready=Unknown``/``Progressing`` at once and, after ``ready_delay`` seconds, writes the status the
real controllers write:

- HelmRelease ``v2`` (helm-controller): ``status.history[]`` snapshots (newest first, release
  ``version`` counting up, ``chartVersion`` from the manifest, ``firstDeployed``/``lastDeployed``,
  ``status: deployed``), ``lastAttemptedRevision``, ``lastAttemptedGeneration``,
  ``observedGeneration`` and ``Ready``/``Released`` conditions carrying ``observedGeneration``.
- Kustomization ``v1`` (kustomize-controller): ``lastAppliedRevision`` /
  ``lastAttemptedRevision`` as ``<branch>@sha1:<commit>`` and a ``Ready`` condition.

A chart version listed in ``failing`` is "deployed" as a failed upgrade instead: a ``failed``
snapshot and ``Ready=False`` with helm-controller's message — how the demo shows the health gate.

The statuses are validated by the real CRDs (the embedded API enforces their schemas). The applier
is level-triggered: after a restart it re-reads the branch, leaves objects whose spec and status
are current alone, and finishes any readiness that was pending when it stopped.

It talks to the API server through a tiny JSON client over the standard library (the embedded
mode keeps client libraries inside ``adapters``), driven from ``asyncio`` via worker threads.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import json
import logging
import ssl
import tempfile
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import yaml

log = logging.getLogger(__name__)

JSON = dict[str, Any]
HELM_API: Final = "helm.toolkit.fluxcd.io/v2"
KUSTOMIZE_API: Final = "kustomize.toolkit.fluxcd.io/v1"
# (apiVersion, kind) -> plural: the kinds this applier plays the controller of.
KINDS: Final = {
    (HELM_API, "HelmRelease"): "helmreleases",
    (KUSTOMIZE_API, "Kustomization"): "kustomizations",
}
MAX_HISTORY: Final = 5  # helm-controller keeps this many snapshots by default
FAILURE_MESSAGE: Final = "context deadline exceeded: pods did not become ready"


class FluxError(RuntimeError):
    """The repository or the API server cannot be read or written; the message says which."""


# --------------------------------------------------------------------------- API client


@dataclasses.dataclass(frozen=True)
class ApiResponse:
    """One answer of the API server."""

    status: int
    body: JSON


class KubeClient:
    """Blocking JSON requests to the server a kubeconfig names, with its bearer token."""

    def __init__(self, kubeconfig: Path, *, timeout: float = 10.0) -> None:
        config = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
        cluster = config["clusters"][0]["cluster"]
        self.server: str = cluster["server"].rstrip("/")
        self._token: str = config["users"][0]["user"]["token"]
        self._timeout = timeout
        self._context: ssl.SSLContext | None = None
        if self.server.startswith("https://"):
            ca = cluster.get("certificate-authority-data")
            self._context = ssl.create_default_context()
            if ca:
                self._context.load_verify_locations(cadata=base64.b64decode(ca).decode("ascii"))

    def request(self, method: str, path: str, body: JSON | None = None) -> ApiResponse:
        """Send one request; HTTP errors are answers (``status`` >= 400), not exceptions."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the kubeconfig's own API server
            self.server + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self._token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 - the kubeconfig's own API server
                request, timeout=self._timeout, context=self._context
            ) as response:
                return ApiResponse(response.status, json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                answer = json.loads(raw or b"{}")
            except ValueError:
                answer = {"message": raw.decode("utf-8", "replace")}
            return ApiResponse(exc.code, answer if isinstance(answer, dict) else {})
        except (urllib.error.URLError, OSError) as exc:
            raise FluxError(f"the API server at {self.server} cannot be reached: {exc}") from exc


def object_path(api_version: str, plural: str, namespace: str, name: str = "") -> str:
    """The REST path of a namespaced object (or its collection when ``name`` is empty)."""
    root = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    path = f"{root}/namespaces/{namespace}/{plural}"
    return f"{path}/{name}" if name else path


# --------------------------------------------------------------------------- statuses


def timestamp(now: datetime) -> str:
    """RFC 3339 in UTC with seconds, as Kubernetes writes times."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _condition(
    kind: str, status: str, reason: str, message: str, generation: int, now: datetime
) -> JSON:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": timestamp(now),
    }


def chart_version(obj: Mapping[str, Any]) -> str:
    """The chart version a HelmRelease asks for (``spec.chart.spec.version``), ``*`` when absent."""
    chart = ((obj.get("spec") or {}).get("chart") or {}).get("spec") or {}
    return str(chart.get("version") or "*")


def helm_progressing(obj: Mapping[str, Any], now: datetime) -> JSON:
    """The status while helm-controller works on a new generation: ``Ready=Unknown``."""
    status = dict(obj.get("status") or {})
    generation = int(obj["metadata"]["generation"])
    status["conditions"] = [
        _condition("Ready", "Unknown", "Progressing", "Fulfilling prerequisites", generation, now),
        *[c for c in status.get("conditions") or [] if c.get("type") not in ("Ready",)],
    ]
    return status


def _release_history(obj: Mapping[str, Any], now: datetime, *, failed: bool) -> list[JSON]:
    """``status.history`` after one more release: the new snapshot first, the old one superseded."""
    meta = obj["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    spec = obj.get("spec") or {}
    chart = ((spec.get("chart") or {}).get("spec") or {}).get("chart") or name
    version = chart_version(obj)
    history: list[JSON] = [dict(s) for s in (obj.get("status") or {}).get("history") or []]
    release = max((int(s.get("version", 0)) for s in history), default=0) + 1
    first = history[-1]["firstDeployed"] if history else timestamp(now)
    for snapshot in history:
        if snapshot.get("status") == "deployed":
            snapshot["status"] = "superseded"
    snapshot = {
        "name": name,
        "namespace": namespace,
        "version": release,
        "chartName": chart,
        "chartVersion": version,
        "appVersion": version,
        "configDigest": _digest(spec.get("values") or {}),
        "digest": _digest([name, namespace, release, chart, version]),
        "firstDeployed": first,
        "lastDeployed": timestamp(now),
        "status": "failed" if failed else "deployed",
    }
    return [snapshot, *history]


def helm_released(obj: Mapping[str, Any], now: datetime, *, failed: bool) -> JSON:
    """The status helm-controller writes after installing/upgrading to the spec's chart version."""
    meta = obj["metadata"]
    namespace, generation = meta["namespace"], int(meta["generation"])
    previous = dict(obj.get("status") or {})
    history = _release_history(obj, now, failed=failed)
    latest = history[0]
    action = "upgrade" if len(history) > 1 else "install"
    verb = "Upgrade" if action == "upgrade" else "Install"
    release_name = f"{namespace}/{latest['name']}.v{latest['version']}"
    chart = f"{latest['chartName']}@{latest['chartVersion']}"
    if failed:
        reason = f"{verb}Failed"
        message = (
            f"Helm {action} failed for release {release_name} with chart {chart}: {FAILURE_MESSAGE}"
        )
    else:
        reason = f"{verb}Succeeded"
        message = f"Helm {action} succeeded for release {release_name} with chart {chart}"
    ready = "False" if failed else "True"
    status: JSON = {
        "observedGeneration": generation,
        "lastAttemptedGeneration": generation,
        "lastAttemptedRevision": latest["chartVersion"],
        "lastAttemptedReleaseAction": action,
        "lastAttemptedConfigDigest": latest["configDigest"],
        "helmChart": f"{namespace}/{namespace}-{latest['name']}",
        "storageNamespace": namespace,
        "conditions": [
            _condition("Ready", ready, reason, message, generation, now),
            _condition("Released", ready, reason, message, generation, now),
        ],
        "history": history[:MAX_HISTORY],
    }
    if failed:
        status["failures"] = int(previous.get("failures") or 0) + 1
        status[f"{action}Failures"] = int(previous.get(f"{action}Failures") or 0) + 1
    return status


def kustomization_applied(obj: Mapping[str, Any], revision: str, now: datetime) -> JSON:
    """The status kustomize-controller writes after applying ``revision`` (``branch@sha1:...``)."""
    generation = int(obj["metadata"]["generation"])
    return {
        "observedGeneration": generation,
        "lastAppliedRevision": revision,
        "lastAttemptedRevision": revision,
        "conditions": [
            _condition(
                "Ready",
                "True",
                "ReconciliationSucceeded",
                f"Applied revision: {revision}",
                generation,
                now,
            )
        ],
    }


def is_current(obj: Mapping[str, Any], revision: str) -> bool:
    """Whether the object's status already reports its generation at ``revision``."""
    status = obj.get("status") or {}
    generation = obj["metadata"].get("generation")
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") == "Unknown":
        return False
    if ready.get("observedGeneration") != generation:
        return False
    return status.get("lastAttemptedRevision") == revision


# --------------------------------------------------------------------------- git


async def git(repository: Path, *args: str) -> str:
    """Run ``git --git-dir=<repository> <args>`` and return its standard output."""
    process = await asyncio.create_subprocess_exec(
        "git",
        f"--git-dir={repository}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1", "HOME": tempfile.gettempdir()},
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise FluxError(
            f"git {' '.join(args)} failed in {repository}: {err.decode(errors='replace').strip()}"
        )
    return out.decode()


async def read_manifests(repository: Path, commit: str, path: str) -> list[JSON]:
    """Every YAML document under ``path`` at ``commit`` (files in name order)."""
    listing = await git(repository, "ls-tree", "-r", "--name-only", commit, "--", path)
    documents: list[JSON] = []
    for name in sorted(listing.split()):
        if not name.endswith((".yaml", ".yml")):
            continue
        text = await git(repository, "show", f"{commit}:{name}")
        try:
            loaded = [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]
        except yaml.YAMLError as exc:
            log.warning("Skipped unreadable manifest file=%s commit=%s: %s", name, commit, exc)
            continue
        documents.extend(loaded)
    return documents


# --------------------------------------------------------------------------- the applier


@dataclasses.dataclass(frozen=True)
class FluxConfig:
    """What the applier watches and how it behaves."""

    repository: Path  # a bare repository (or a working copy's .git directory)
    paths: Mapping[str, str]  # environment name -> directory in the repository
    branch: str = "main"
    interval: float = 1.0  # seconds between polls of the branch
    ready_delay: float = 3.0  # seconds between applying a change and reporting it ready
    failing: frozenset[str] = frozenset()  # chart versions whose upgrade fails


async def poll(sync: Callable[[], Awaitable[object]], interval: float, what: str) -> None:
    """Call ``sync`` every ``interval`` seconds until cancelled; a ``FluxError`` is logged and
    retried on the next poll (the stand-ins' reconcile loop)."""
    while True:
        try:
            await sync()
        except FluxError as exc:
            log.warning("%s sync failed: %s", what, exc)
        await asyncio.sleep(interval)


async def cancel_all(pending: dict[Any, asyncio.Task[None]]) -> None:
    """Cancel the delayed tasks in ``pending``, wait for them to end, and forget them."""
    tasks = list(pending.values())
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    pending.clear()


class LocalFlux:
    """Plays source-, helm- and kustomize-controller for one repository (see module docstring)."""

    def __init__(self, config: FluxConfig, client: KubeClient) -> None:
        self.config = config
        self._client = client
        self._applied_commit = ""
        self._pending: dict[tuple[str, str, str], asyncio.Task[None]] = {}
        self._namespaces: set[str] = set()
        self.changed = asyncio.Event()  # set after every readiness report (tests wait on it)

    @property
    def idle(self) -> bool:
        """True when no readiness report is waiting for its delay."""
        return not self._pending

    async def _call(self, method: str, path: str, body: JSON | None = None) -> ApiResponse:
        return await asyncio.to_thread(self._client.request, method, path, body)

    async def head(self) -> str:
        """The commit the watched branch points at."""
        return (
            await git(self.config.repository, "rev-parse", f"refs/heads/{self.config.branch}")
        ).strip()

    async def run(self) -> None:
        """Poll and apply until cancelled; errors are logged and retried on the next poll."""
        try:
            await poll(self.sync, self.config.interval, "Flux")
        finally:
            await self.close()

    async def close(self) -> None:
        """Cancel readiness reports still waiting for their delay."""
        await cancel_all(self._pending)

    async def sync(self) -> bool:
        """Apply the branch's tip if it changed since the last sync; True when it did."""
        commit = await self.head()
        if commit == self._applied_commit:
            return False
        revision = f"{self.config.branch}@sha1:{commit}"
        for environment, path in self.config.paths.items():
            for document in await read_manifests(self.config.repository, commit, path):
                await self.apply(document, revision=revision, environment=environment)
        self._applied_commit = commit
        return True

    async def _ensure_namespace(self, namespace: str) -> None:
        if namespace in self._namespaces:
            return
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        answer = await self._call("POST", "/api/v1/namespaces", body)
        if answer.status not in (200, 201, 409):
            raise FluxError(f'namespace "{namespace}" cannot be created: {_message(answer)}')
        self._namespaces.add(namespace)

    async def apply(self, document: JSON, *, revision: str, environment: str) -> None:
        """Create or update one object, then report it ready after the delay."""
        api_version, kind = document.get("apiVersion", ""), document.get("kind", "")
        plural = KINDS.get((api_version, kind))
        meta = document.get("metadata") or {}
        if plural is None or not meta.get("name"):
            log.info(
                "Skipped manifest kind=%s apiVersion=%s (not applied by the local Flux)",
                kind,
                api_version,
            )
            return
        namespace = meta.get("namespace") or "default"
        name = meta["name"]
        await self._ensure_namespace(namespace)
        path = object_path(api_version, plural, namespace, name)
        current = await self._call("GET", path)
        if current.status == 404:
            body = {
                "apiVersion": api_version,
                "kind": kind,
                "metadata": {
                    k: v for k, v in meta.items() if k in ("name", "labels", "annotations")
                }
                | {"namespace": namespace},
                "spec": document.get("spec") or {},
            }
            created = await self._call("POST", object_path(api_version, plural, namespace), body)
            if created.status not in (200, 201):
                raise FluxError(f"{kind} {namespace}/{name} cannot be created: {_message(created)}")
            obj = created.body
            log.info("Applied %s %s/%s environment=%s", kind, namespace, name, environment)
        elif current.status == 200:
            obj = current.body
            if obj.get("spec") != document.get("spec"):
                obj["spec"] = document.get("spec") or {}
                updated = await self._call("PUT", path, obj)
                if updated.status != 200:
                    raise FluxError(
                        f"{kind} {namespace}/{name} cannot be updated: {_message(updated)}"
                    )
                obj = updated.body
                log.info("Applied %s %s/%s environment=%s", kind, namespace, name, environment)
        else:
            raise FluxError(f"{kind} {namespace}/{name} cannot be read: {_message(current)}")
        wanted = chart_version(obj) if kind == "HelmRelease" else revision
        if is_current(obj, wanted):
            return
        key = (kind, namespace, name)
        previous = self._pending.pop(key, None)
        if previous is not None:
            previous.cancel()
        if kind == "HelmRelease":
            await self._write_status(path, lambda o: helm_progressing(o, _now()))
        self._pending[key] = asyncio.ensure_future(self._report_ready(key, path, revision))

    async def _report_ready(self, key: tuple[str, str, str], path: str, revision: str) -> None:
        await asyncio.sleep(self.config.ready_delay)
        kind = key[0]

        def finished(obj: JSON) -> JSON:
            if kind == "HelmRelease":
                failed = chart_version(obj) in self.config.failing
                return helm_released(obj, _now(), failed=failed)
            return kustomization_applied(obj, revision, _now())

        try:
            await self._write_status(path, finished)
        except FluxError as exc:
            log.warning("Readiness report failed %s %s/%s: %s", *key, exc)
            self._applied_commit = ""  # try the whole branch again on the next poll
        else:
            log.info("Reported %s %s/%s ready", *key)
        finally:
            if self._pending.get(key) is asyncio.current_task():
                del self._pending[key]
            self.changed.set()

    async def _write_status(self, path: str, compute: Callable[[JSON], JSON]) -> None:
        """Read the object, compute its status, ``PUT .../status`` (re-read on 409, bounded)."""
        for _ in range(5):
            current = await self._call("GET", path)
            if current.status != 200:
                raise FluxError(f"{path} cannot be read: {_message(current)}")
            obj = current.body
            obj["status"] = compute(obj)
            answer = await self._call("PUT", path + "/status", obj)
            if answer.status == 200:
                return
            if answer.status != 409:
                raise FluxError(f"the status of {path} was refused: {_message(answer)}")
        raise FluxError(f"the status of {path} kept changing (5 conflicts in a row)")


def _message(answer: ApiResponse) -> str:
    return str(answer.body.get("message") or f"HTTP {answer.status}")


def _now() -> datetime:
    return datetime.now(UTC)


def environment_paths(names: Sequence[str]) -> dict[str, str]:
    """The conventional layout: each environment's manifests in a directory of its name."""
    return {name: name for name in names}
