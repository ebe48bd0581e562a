"""A fleet for the controller benchmarks: N Pipelines of 3 environments of 3 targets, deployed.

Each Pipeline ``app-<i>`` in ``default`` promotes the HelmRelease ``app-<i>`` through ``dev``,
``staging`` and ``prod``; every environment has three targets (namespaces ``<env>-0..2``), so a
fleet of N pipelines holds 9·N HelmReleases, all ready at the same chart version — the steady
state a controller meets when it starts on an existing cluster. Objects are written over HTTPS
with the admin token by a pool of concurrent requests (plain JSON, no client library), so the
controller under test shares nothing with the code that arranges its world.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
CRDS = ROOT.parent / "shared" / "fixtures" / "crds"
PIPELINE_CRD = ROOT / "config" / "crd" / "bases" / "pipelines.weave.works_pipelines.yaml"
HELM = "helm.toolkit.fluxcd.io/v2"
PIPELINES = "/apis/pipelines.weave.works/v1alpha1/namespaces/default/pipelines"
ENVIRONMENTS = ("dev", "staging", "prod")
TARGETS = 3
CONCURRENCY = 16
RETRIES = 3


def namespaces() -> list[str]:
    """The target namespaces of every pipeline."""
    return [f"{env}-{t}" for env in ENVIRONMENTS for t in range(TARGETS)]


def pipeline(index: int) -> dict[str, Any]:
    """Pipeline ``app-<index>``: three environments of three targets, notification strategy."""
    return {
        "apiVersion": "pipelines.weave.works/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": f"app-{index}", "namespace": "default"},
        "spec": {
            "appRef": {"apiVersion": HELM, "kind": "HelmRelease", "name": f"app-{index}"},
            "promotion": {"strategy": {"notification": {}}},
            "environments": [
                {
                    "name": env,
                    "targets": [{"namespace": f"{env}-{t}"} for t in range(TARGETS)],
                }
                for env in ENVIRONMENTS
            ],
        },
    }


def helm_status(generation: int, version: str, *, ready: bool = True) -> dict[str, Any]:
    """What helm-controller writes once a release of ``version`` is (or is not) ready."""
    return {
        "observedGeneration": generation,
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "reason": "UpgradeSucceeded" if ready else "UpgradeFailed",
                "message": f"Helm upgrade of {version} {'succeeded' if ready else 'failed'}",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "observedGeneration": generation,
            }
        ],
        "history": [
            {
                "name": "app",
                "namespace": "x",
                "version": generation,
                "chartName": "app",
                "chartVersion": version,
                "configDigest": "sha256:0",
                "digest": "sha256:0",
                "status": "deployed",
                "firstDeployed": "2026-01-01T00:00:00Z",
                "lastDeployed": "2026-01-01T00:00:00Z",
            }
        ],
    }


def helm_release(namespace: str, name: str) -> dict[str, Any]:
    """A HelmRelease of the chart ``app`` (its version lives in the status history)."""
    return {
        "apiVersion": HELM,
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "interval": "1m",
            "chart": {
                "spec": {"chart": "app", "sourceRef": {"kind": "HelmRepository", "name": "app"}}
            },
        },
    }


def helm_path(namespace: str, name: str = "") -> str:
    """The REST path of a namespace's HelmReleases (or of one)."""
    base = f"/apis/{HELM}/namespaces/{namespace}/helmreleases"
    return f"{base}/{name}" if name else base


class Admin:
    """JSON over HTTPS with the admin token of an embedded API server."""

    def __init__(self, url: str, token: str, ca_file: Path) -> None:
        self.http = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {token}"},
            verify=ssl.create_default_context(cafile=str(ca_file)),
            timeout=60,
            limits=httpx.Limits(max_connections=CONCURRENCY),
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

    async def call(self, method: str, path: str, body: Any = None, *, ok: int = 0) -> Any:
        """Send one request; raise on errors other than ``ok``.

        A connection the server closed as idle just as it was reused (keep-alive race) is
        retried; callers that create pass ``ok=409`` so a retried create is harmless.
        """
        for attempt in range(RETRIES):
            try:
                response = await self.http.request(method, path, json=body)
                break
            except (httpx.RemoteProtocolError, httpx.ConnectError):
                if attempt == RETRIES - 1:
                    raise
                await asyncio.sleep(0.2)
        if response.status_code >= 300 and response.status_code != ok:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    async def apply_file(self, path: Path) -> None:
        """Create the CRDs of a YAML file (existing ones are kept)."""
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        for doc in yaml.safe_load_all(text):
            if doc:
                base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
                await self.call("POST", base, doc, ok=409)

    async def set_helm_status(
        self, namespace: str, name: str, version: str, *, ready: bool = True
    ) -> None:
        """Play helm-controller: the release now runs ``version`` (ready or not)."""
        current = await self.call("GET", helm_path(namespace, name))
        current["status"] = helm_status(current["metadata"]["generation"], version, ready=ready)
        await self.call("PUT", helm_path(namespace, name) + "/status", current)


async def gather_limited(jobs: Iterable[Callable[[], Awaitable[None]]]) -> None:
    """Run the jobs ``CONCURRENCY`` at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


async def install(admin: Admin) -> None:
    """The CRDs and namespaces every fleet needs."""
    await admin.apply_file(PIPELINE_CRD)
    await admin.apply_file(CRDS / "helm.toolkit.fluxcd.io_helmreleases.yaml")
    await admin.apply_file(CRDS / "gitops.weave.works_gitopsclusters.yaml")
    for name in namespaces():
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        await admin.call("POST", "/api/v1/namespaces", body, ok=409)
    await asyncio.sleep(0.5)  # let the new CRDs be served


async def populate(admin: Admin, start: int, stop: int, *, version: str = "1.0.0") -> None:
    """Pipelines ``app-<start>`` … ``app-<stop-1>`` and their 9 ready HelmReleases each."""

    def release(namespace: str, index: int) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            created = await admin.call(
                "POST", helm_path(namespace), helm_release(namespace, f"app-{index}"), ok=409
            )
            if created.get("kind") == "Status":  # created by an attempt that lost its answer
                created = await admin.call("GET", helm_path(namespace, f"app-{index}"))
            created["status"] = helm_status(created["metadata"]["generation"], version)
            path = helm_path(namespace, f"app-{index}") + "/status"
            await admin.call("PUT", path, created)

        return job

    def pipe(index: int) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            await admin.call("POST", PIPELINES, pipeline(index), ok=409)

        return job

    await gather_limited(
        release(namespace, index) for index in range(start, stop) for namespace in namespaces()
    )
    await gather_limited(pipe(index) for index in range(start, stop))
