"""The cluster side of a real-process test: what an operator applies, and the people who approve.

``install`` applies what a real installation has — the Pipeline, HelmRelease and GitopsCluster
CRDs, the namespaces, approver RBAC for the group ``release-managers`` (``embedded.demo``'s
roles), the Git credentials Secret — and ``pipeline_object`` builds a Pipeline whose environments
use the strategies a test asks for. ``Approver`` approves over the controllers' HTTP API with a
bearer token from the API server's token file, as the CLI and the UI do.

``Observer`` reads the Pipeline's status to *drive* a scenario (when to approve, when a run has
settled); the checks that decide whether a run passed read Git and the fake host instead
(``gitworld.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from tests.integration.kube import Kube
from tests.rig import gitworld

from ferryman.api import status
from ferryman.embedded import demo

ROOT = Path(__file__).resolve().parents[2]
CRDS = [
    ROOT / "config" / "crd" / "bases" / "pipelines.weave.works_pipelines.yaml",
    ROOT.parent / "shared" / "fixtures" / "crds" / "helm.toolkit.fluxcd.io_helmreleases.yaml",
    ROOT.parent / "shared" / "fixtures" / "crds" / "gitops.weave.works_gitopsclusters.yaml",
]
PIPELINES = "pipelines.weave.works/v1alpha1"
USERS = {"alice": "alice-token-3f9a", "bob": "bob-token-77c2", "eve": "eve-token-0b1d"}
GROUPS = {"alice": "release-managers", "bob": "release-managers", "eve": "viewers"}


def write_token_file(path: Path) -> Path:
    """kube-apiserver's static token file: alice and bob approve, eve only looks."""
    rows = [f'{token},{user},{user},"{GROUPS[user]}"' for user, token in USERS.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


@dataclasses.dataclass(frozen=True)
class Env:
    """One environment of the test pipeline: its strategy and approval quorum."""

    name: str
    strategy: str | None = None  # git-push | pull-request | notification | None (observed only)
    approvals: int = 0


def pipeline_object(
    world: gitworld.GitWorld, environments: Sequence[Env], *, namespace: str, name: str
) -> dict[str, Any]:
    """A Pipeline over ``world``'s repository; each environment's target is its HelmRelease."""
    secret = {"name": "git"}
    strategies: dict[str, dict[str, Any]] = {
        "git-push": {"git-push": {"url": world.url, "branch": "main", "secretRef": secret}},
        "pull-request": {
            "pull-request": {
                "type": "github",
                "url": world.url,
                "baseBranch": "main",
                "secretRef": secret,
            }
        },
        "notification": {"notification": {}},
    }
    envs = []
    for env in environments:
        entry: dict[str, Any] = {
            "name": env.name,
            "targets": [{"namespace": world.env_namespace(env.name)}],
        }
        if env.strategy is not None:
            promotion: dict[str, Any] = {"strategy": strategies[env.strategy]}
            if env.approvals:
                promotion["approval"] = {
                    "required": env.approvals,
                    "approvers": {"groups": ["release-managers"]},
                }
            entry["promotion"] = promotion
        envs.append(entry)
    return {
        "apiVersion": PIPELINES,
        "kind": "Pipeline",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "appRef": {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "name": "podinfo",
            },
            "environments": envs,
        },
    }


async def install(kube: Kube, *, namespaces: Sequence[str]) -> None:
    """CRDs, RBAC for the approvers and the namespaces (idempotent)."""
    for path in CRDS:
        await kube.apply_file(path)
    for obj in demo.rbac_objects():
        await kube.create(obj, exist_ok=True)
    for name in namespaces:
        await kube.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, exist_ok=True
        )


async def add_pipeline(
    kube: Kube, world: gitworld.GitWorld, environments: Sequence[Env], *, namespace: str, name: str
) -> None:
    """The Git credentials Secret and the Pipeline in ``namespace``."""
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "git", "namespace": namespace},
            "stringData": {
                "username": gitworld.USERNAME,
                "password": gitworld.PASSWORD,
                "token": gitworld.TOKEN,
            },
        },
        exist_ok=True,
    )
    await kube.create(pipeline_object(world, environments, namespace=namespace, name=name))


class Observer:
    """Reads a Pipeline's status through the API (tolerating an API server that is down)."""

    def __init__(self, kube: Kube, *, namespace: str, name: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name

    async def status(self) -> status.PipelineStatus | None:
        """The parsed status, ``None`` when the API server cannot be reached or refuses."""
        try:
            obj = await self.kube.get(PIPELINES, "Pipeline", self.namespace, self.name)
        except (httpx.HTTPError, KeyError, OSError):
            return None
        return status.PipelineStatus.model_validate(obj.get("status") or {})

    async def records(self) -> Mapping[str, status.PromotionRecord] | None:
        current = await self.status()
        if current is None:
            return None
        return {
            env: record.promotion
            for env, record in current.environments.items()
            if record.promotion is not None
        }


@dataclasses.dataclass
class Verdict:
    """What one approval request got: the HTTP status (0: no answer) and the reason."""

    user: str
    revision: str
    status: int
    reason: str = ""


class Approver:
    """Approves over the controllers' HTTP API, as the CLI does."""

    def __init__(self, client: httpx.AsyncClient, *, namespace: str, name: str) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name

    async def approve(
        self, base_url: str, user: str, env: str, revision: str, *, timeout: float = 5.0
    ) -> Verdict:
        """One request; never raises (a transport error is status 0)."""
        path = (
            f"/api/v1/namespaces/{self.namespace}/pipelines/{self.name}/environments/{env}/approve"
        )
        try:
            answer = await self.client.post(
                base_url + path,
                json={"revision": revision, "comment": f"{user} approves {revision}"},
                headers={"Authorization": f"Bearer {USERS[user]}"},
                timeout=timeout,
            )
        except (httpx.HTTPError, OSError) as exc:
            return Verdict(user, revision, 0, type(exc).__name__)
        reason = ""
        with contextlib.suppress(ValueError, AttributeError):
            reason = str(answer.json().get("reason", ""))
        return Verdict(user, revision, answer.status_code, reason)


async def gather_approvals(
    approver: Approver, targets: Sequence[tuple[str, str]], env: str, revision: str
) -> list[Verdict]:
    """Approve at once as every (base URL, user) in ``targets`` (concurrent approvers)."""
    return list(
        await asyncio.gather(*(approver.approve(url, user, env, revision) for url, user in targets))
    )
