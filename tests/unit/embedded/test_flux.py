"""The local Flux applier against the embedded API server and a real bare Git repository.

What matters is that the controller cannot tell it from Flux: the statuses it writes pass the real
HelmRelease CRD's schema (the embedded API enforces it) and read, through the controller's own
observation code, as the revision in the manifest, ready or not.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ferryman.api import pipeline
from ferryman.domain import observations
from ferryman.embedded import flux
from ferryman.embedded.apiserver import server as api_server
from ferryman.embedded.apiserver import testing

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "crds"
HELM_PATH = "/apis/helm.toolkit.fluxcd.io/v2/namespaces/{ns}/helmreleases/podinfo"
MANIFEST = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: {ns}
spec:
  interval: 1m
  chart:
    spec:
      chart: podinfo
      version: {version}
      sourceRef:
        kind: HelmRepository
        name: podinfo
"""


def run_git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


class Repo:
    """A bare repository with a working copy that commits and pushes like a developer."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "repo.git"
        self.work = root / "work"
        run_git(root, "init", "--bare", "--initial-branch=main", str(self.bare))
        run_git(root, "clone", str(self.bare), str(self.work))
        run_git(self.work, "config", "user.email", "ci@example.com")
        run_git(self.work, "config", "user.name", "CI")

    def release(self, env: str, version: str) -> None:
        (self.work / env).mkdir(exist_ok=True)
        (self.work / env / "podinfo.yaml").write_text(MANIFEST.format(ns=env, version=version))
        run_git(self.work, "add", "-A")
        run_git(self.work, "commit", "-m", f"{env} {version}")
        run_git(self.work, "push", "origin", "HEAD:main")


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[api_server.EmbeddedApiServer]:
    """An embedded API server with Flux's real HelmRelease CRD (its schema checks our statuses)."""
    with testing.serve(tmp_path / "api") as server:
        client = flux.KubeClient(server.kubeconfig_path)
        text = FIXTURES.joinpath("helm.toolkit.fluxcd.io_helmreleases.yaml").read_text()
        for body in yaml.safe_load_all(text):
            if body:
                answer = client.request(
                    "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body
                )
                assert answer.status in (200, 201), answer.body
        yield server


def make_flux(server: api_server.EmbeddedApiServer, repo: Repo, **options: Any) -> flux.LocalFlux:
    config = flux.FluxConfig(
        repository=repo.bare,
        paths={"dev": "dev", "prod": "prod"},
        interval=0.05,
        ready_delay=0.05,
        **options,
    )
    return flux.LocalFlux(config, flux.KubeClient(server.kubeconfig_path))


async def settled(applier: flux.LocalFlux, server: api_server.EmbeddedApiServer, ns: str) -> Any:
    """Sync, wait for the readiness reports, and return the HelmRelease of ``ns``."""
    await applier.sync()
    client = flux.KubeClient(server.kubeconfig_path)
    for _ in range(200):
        obj = client.request("GET", HELM_PATH.format(ns=ns)).body
        ready = [c for c in obj.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
        if ready and ready[0]["status"] != "Unknown" and applier.idle:
            return obj
        await asyncio.sleep(0.02)
    raise AssertionError("the HelmRelease was never reported")


def observe(obj: Any) -> observations.Observation:
    ref = pipeline.AppRef.model_validate(
        {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "podinfo"}
    )
    return observations.observe(ref, obj)


async def test_install_then_upgrade_reads_as_flux_status(
    apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """An install and an upgrade write helm-controller's history and a current Ready condition."""
    repo = Repo(tmp_path)
    repo.release("dev", "6.1.0")
    applier = make_flux(apiserver, repo)
    obj = await settled(applier, apiserver, "dev")
    assert obj["status"]["history"][0]["chartVersion"] == "6.1.0"
    assert obj["status"]["history"][0]["status"] == "deployed"
    seen = observe(obj)
    assert (seen.revision, seen.ready) == ("6.1.0", True)

    repo.release("dev", "6.2.0")
    obj = await settled(applier, apiserver, "dev")
    history = obj["status"]["history"]
    assert [(s["version"], s["chartVersion"], s["status"]) for s in history] == [
        (2, "6.2.0", "deployed"),
        (1, "6.1.0", "superseded"),
    ]
    assert history[0]["firstDeployed"] == history[1]["firstDeployed"]
    ready = obj["status"]["conditions"][0]
    assert ready["observedGeneration"] == obj["metadata"]["generation"] == 2
    assert obj["status"]["lastAttemptedRevision"] == "6.2.0"
    seen = observe(obj)
    assert (seen.revision, seen.ready) == ("6.2.0", True)
    await applier.close()


async def test_failing_revision_is_not_ready_with_a_message(
    apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """A chart version listed as failing ends Ready=False with helm-controller's message."""
    repo = Repo(tmp_path)
    repo.release("prod", "6.6.6")
    applier = make_flux(apiserver, repo, failing=frozenset({"6.6.6"}))
    obj = await settled(applier, apiserver, "prod")
    ready = obj["status"]["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "InstallFailed")
    assert "6.6.6" in ready["message"]
    seen = observe(obj)
    assert (seen.revision, seen.ready) == ("6.6.6", False)
    await applier.close()


async def test_restart_leaves_current_objects_alone(
    apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """A new applier on an unchanged branch writes nothing: resourceVersions stay the same."""
    repo = Repo(tmp_path)
    repo.release("dev", "6.1.0")
    first = make_flux(apiserver, repo)
    before = await settled(first, apiserver, "dev")
    await first.close()
    second = make_flux(apiserver, repo)
    after = await settled(second, apiserver, "dev")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert await second.sync() is False
    await second.close()


async def test_unreachable_repository_is_a_clear_error(
    apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """A missing repository raises FluxError naming it (run() logs it and keeps polling)."""
    config = flux.FluxConfig(repository=tmp_path / "missing.git", paths={"dev": "dev"})
    applier = flux.LocalFlux(config, flux.KubeClient(apiserver.kubeconfig_path))
    with pytest.raises(flux.FluxError, match=r"missing\.git"):
        await applier.sync()


async def test_the_crd_schema_guards_the_statuses(
    apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """The check above means something: a snapshot missing helm-controller's fields is refused."""
    repo = Repo(tmp_path)
    repo.release("dev", "6.1.0")
    obj = await settled(make_flux(apiserver, repo), apiserver, "dev")
    del obj["status"]["history"][0]["chartVersion"]
    client = flux.KubeClient(apiserver.kubeconfig_path)
    answer = client.request("PUT", HELM_PATH.format(ns="dev") + "/status", obj)
    assert answer.status == 422, answer.body
