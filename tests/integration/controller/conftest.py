"""Fixtures: an embedded API server with the CRDs a Pipeline needs, and a stand-in for Flux."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.kube import Kube

from ferryman.embedded.apiserver import server as api_server
from ferryman.embedded.apiserver import testing

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "crds"
HELM = "helm.toolkit.fluxcd.io/v2"


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[api_server.EmbeddedApiServer]:
    """One embedded API server ("the cluster")."""
    with testing.serve(tmp_path / "api") as server:
        yield server


async def prepare(kube: Kube, namespaces: tuple[str, ...] = ("dev", "staging", "prod")) -> None:
    """Install the CRDs and namespaces a pipeline of HelmReleases needs."""
    await kube.apply_file(
        ROOT / "config" / "crd" / "bases" / "pipelines.weave.works_pipelines.yaml"
    )
    await kube.apply_file(FIXTURES / "helm.toolkit.fluxcd.io_helmreleases.yaml")
    await kube.apply_file(FIXTURES / "gitops.weave.works_gitopsclusters.yaml")
    for name in namespaces:
        await kube.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, exist_ok=True
        )


async def deploy(kube: Kube, namespace: str, version: str, *, ready: bool = True) -> None:
    """Play helm-controller: the HelmRelease of ``namespace`` now runs ``version``."""
    obj = {
        "apiVersion": HELM,
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": namespace},
        "spec": {
            "interval": "1m",
            "chart": {
                "spec": {
                    "chart": "podinfo",
                    "version": version,
                    "sourceRef": {"kind": "HelmRepository", "name": "podinfo"},
                }
            },
        },
    }
    try:
        current = await kube.get(HELM, "HelmRelease", namespace, "podinfo")
    except Exception:
        current = await kube.create(obj)
    else:
        current["spec"] = obj["spec"]
        plural = "helmreleases"
        current = await kube.request(
            "PUT", f"/apis/{HELM}/namespaces/{namespace}/{plural}/podinfo", current
        )
    generation = current["metadata"]["generation"]
    current["status"] = {
        "observedGeneration": generation,
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "reason": "InstallSucceeded" if ready else "InstallFailed",
                "message": f"Helm install succeeded for {version}",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "observedGeneration": generation,
            }
        ],
        "history": [
            {
                "name": "podinfo",
                "namespace": namespace,
                "version": generation,
                "chartName": "podinfo",
                "chartVersion": version,
                "configDigest": "sha256:0",
                "digest": "sha256:0",
                "status": "deployed",
                "firstDeployed": "2026-01-01T00:00:00Z",
                "lastDeployed": "2026-01-01T00:00:00Z",
            }
        ],
    }
    await kube.put_status(current)


def pipeline_object(*, api_version: str = "helm.toolkit.fluxcd.io/v2beta1") -> dict[str, Any]:
    """dev → staging (automatic) → prod (approval by release-managers), notification strategy."""
    return {
        "apiVersion": "pipelines.weave.works/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "podinfo", "namespace": "default"},
        "spec": {
            "appRef": {"apiVersion": api_version, "kind": "HelmRelease", "name": "podinfo"},
            "promotion": {"strategy": {"notification": {}}},
            "environments": [
                {"name": "dev", "targets": [{"namespace": "dev"}]},
                {"name": "staging", "targets": [{"namespace": "staging"}]},
                {
                    "name": "prod",
                    "targets": [{"namespace": "prod"}],
                    "promotion": {
                        "strategy": {"notification": {}},
                        "approval": {"required": 1, "approvers": {"groups": ["release-managers"]}},
                    },
                },
            ],
        },
    }


async def flux(kube: Kube, applied: set[str]) -> None:
    """Apply every Promote event once (what Flux automation does after a notification)."""
    while True:
        for event in await kube.list("events.k8s.io/v1", "Event", "default"):
            if event.get("reason") != "Promote" or event["metadata"]["name"] in applied:
                continue
            applied.add(event["metadata"]["name"])
            notes = event["metadata"].get("annotations") or {}
            await deploy(kube, notes["environment"], notes["version"])
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_flux(kube: Kube) -> AsyncIterator[set[str]]:
    """Run ``flux`` in the background for the block; yields the names of applied events."""
    applied: set[str] = set()
    task = asyncio.ensure_future(flux(kube, applied))
    try:
        yield applied
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
