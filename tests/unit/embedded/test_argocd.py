"""The local Argo CD against the embedded API server, Argo CD's own Application CRD and a real
bare Git repository.

The controller must not tell it from Argo CD: every status it writes passes Argo CD's CRD (the
embedded API enforces its schema) and reads, through the controller's own observation code, as
the chart version the manifest asks for — not ready while syncing and rolling out, ready after.
"""

from __future__ import annotations

import asyncio
import gzip
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests import fixtures

from ferryman.api import pipeline
from ferryman.domain import observations
from ferryman.embedded import argocd, flux
from ferryman.embedded.apiserver import server as api_server
from ferryman.embedded.apiserver import testing

APP_PATH = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications/podinfo"
MANIFEST = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: podinfo
  namespace: {ns}
spec:
  project: default
  source:
    repoURL: https://stefanprodan.github.io/podinfo
    chart: podinfo
    targetRevision: {version}
  destination:
    server: https://kubernetes.default.svc
    namespace: {ns}
  syncPolicy:
    automated: {automated}
"""
REF = pipeline.AppRef(api_version="argoproj.io/v1alpha1", kind="Application", name="podinfo")


def run_git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


class Repo:
    """A bare repository with a working copy that commits and pushes like a developer."""

    def __init__(self, root: Path, env: str) -> None:
        self.env = env
        self.bare = root / "repo.git"
        self.work = root / "work"
        run_git(root, "init", "--bare", "--initial-branch=main", str(self.bare))
        run_git(root, "clone", str(self.bare), str(self.work))
        run_git(self.work, "config", "user.email", "ci@example.com")
        run_git(self.work, "config", "user.name", "CI")

    def release(self, version: str, automated: str = "{prune: true, selfHeal: true}") -> None:
        env = self.env
        (self.work / env).mkdir(exist_ok=True)
        text = MANIFEST.format(ns=env, version=version, automated=automated)
        (self.work / env / "podinfo.yaml").write_text(text)
        run_git(self.work, "add", "-A")
        run_git(self.work, "commit", "-m", f"{env} {version}")
        run_git(self.work, "push", "origin", "HEAD:main")


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[api_server.EmbeddedApiServer]:
    """An embedded API server with Argo CD's real Application CRD (shared: compiling its 400 KB
    schema takes a while; each test uses namespaces of its own)."""
    with testing.serve(tmp_path_factory.mktemp("api")) as server:
        client = flux.KubeClient(server.kubeconfig_path)
        raw = gzip.decompress(fixtures.raw("argocd/applications.argoproj.io-crd.yaml.gz"))
        answer = client.request(
            "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", yaml.safe_load(raw)
        )
        assert answer.status in (200, 201), answer.body
        yield server


def make_argo(
    server: api_server.EmbeddedApiServer, repo: Repo, **options: Any
) -> argocd.LocalArgoCD:
    options = {"interval": 0.05, "ready_delay": 0.05, **options}
    config = argocd.ArgoConfig(repository=repo.bare, paths={repo.env: repo.env}, **options)
    return argocd.LocalArgoCD(config, flux.KubeClient(server.kubeconfig_path))


def get(server: api_server.EmbeddedApiServer, ns: str) -> Any:
    return flux.KubeClient(server.kubeconfig_path).request("GET", APP_PATH.format(ns=ns)).body


async def settled(
    applier: argocd.LocalArgoCD, server: api_server.EmbeddedApiServer, ns: str
) -> Any:
    """Sync, wait for the sync and the rollout, and return the Application of ``ns``."""
    await applier.sync()
    for _ in range(300):
        if applier.idle:
            return get(server, ns)
        await asyncio.sleep(0.02)
    raise AssertionError("the Application never settled")


async def test_sync_then_rollout_reads_as_argo_cd_status(
    apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """OutOfSync + a running sync, then Synced + Progressing, then Healthy: not ready until then."""
    repo = Repo(tmp_path, "sync")
    repo.release("6.1.0")
    applier = make_argo(apiserver, repo, ready_delay=0.3)
    await applier.sync()
    during = observations.observe(REF, get(apiserver, "sync"))
    assert (during.revision, during.ready) == ("6.1.0", False)
    assert during.error.startswith("a sync is running")
    obj = await settled(applier, apiserver, "sync")
    seen = observations.observe(REF, obj)
    assert (seen.revision, seen.ready, seen.suspended) == ("6.1.0", True, False)
    status = obj["status"]
    assert status["sourceType"] == "Helm"
    assert [h["revision"] for h in status["history"]] == ["6.1.0"]
    assert status["operationState"]["message"] == argocd.SUCCEEDED

    repo.release("6.2.0")
    obj = await settled(applier, apiserver, "sync")
    assert [h["revision"] for h in obj["status"]["history"]] == ["6.1.0", "6.2.0"]
    assert [h["id"] for h in obj["status"]["history"]] == [0, 1]
    assert observations.observe(REF, obj).ready
    await applier.close()


async def test_a_failing_revision_ends_degraded(
    apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """A revision listed as failing syncs but its Deployment never becomes ready."""
    repo = Repo(tmp_path, "failing")
    repo.release("6.6.6")
    applier = make_argo(apiserver, repo, failing=frozenset({"6.6.6"}))
    obj = await settled(applier, apiserver, "failing")
    assert obj["status"]["health"]["status"] == "Degraded"
    seen = observations.observe(REF, obj)
    assert (seen.revision, seen.ready, seen.error) == ("6.6.6", False, "health is Degraded")
    await applier.close()


async def test_automated_sync_off_stays_out_of_sync_and_reads_suspended(
    apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """``automated.enabled: false``: compared, never synced; Ferryman sees it suspended."""
    repo = Repo(tmp_path, "manual")
    repo.release("6.1.0", automated="{enabled: false}")
    obj = await settled(make_argo(apiserver, repo), apiserver, "manual")
    assert obj["status"]["sync"]["status"] == "OutOfSync"
    assert "operationState" not in obj["status"]
    seen = observations.observe(REF, obj)
    assert (seen.ready, seen.suspended) == (False, True)


async def test_restart_leaves_current_applications_alone(
    apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """A new stand-in on an unchanged branch writes nothing."""
    repo = Repo(tmp_path, "restart")
    repo.release("6.1.0")
    first = make_argo(apiserver, repo)
    before = await settled(first, apiserver, "restart")
    await first.close()
    second = make_argo(apiserver, repo)
    after = await settled(second, apiserver, "restart")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert await second.sync() is False
    await second.close()


async def test_the_crd_schema_guards_the_statuses(
    apiserver: api_server.EmbeddedApiServer, tmp_path: Path
) -> None:
    """Argo CD's CRD is enforced: an operation state without its start time is refused."""
    repo = Repo(tmp_path, "schema")
    repo.release("6.1.0")
    obj = await settled(make_argo(apiserver, repo), apiserver, "schema")
    del obj["status"]["operationState"]["startedAt"]
    answer = flux.KubeClient(apiserver.kubeconfig_path).request(
        "PUT", APP_PATH.format(ns="schema"), obj
    )
    assert answer.status == 422, answer.body


def test_desired_revision_of_a_git_source_is_the_branch_commit() -> None:
    """Without a chart, the source tracks the repository: its revision is the commit."""
    app = {"spec": {"source": {"repoURL": "https://example.com/fleet.git", "path": "dev"}}}
    assert argocd.desired_revision(app, "abc") == "abc"
    assert argocd.automated({"spec": {"syncPolicy": "junk"}}) is False
