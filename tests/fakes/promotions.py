"""The test harness for promotions over real Git: a provider's server, repository and wiring.

``World`` bundles one provider's smart-HTTP Git server (with basic auth), its fake hosting API
on the same base URL, the bare repository with sample manifests, and the strategies wired to
the real adapters; ``make_request`` builds a ``PromotionRequest``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fakes import gitserver
from tests.fakes.clock import FakeClock
from tests.fakes.githosts import (
    azure_devops,
    base,
    bitbucket_server,
    gitea,
    github,
    gitlab,
)

from ferryman.adapters import githost, gitrepo
from ferryman.api import pipeline, status
from ferryman.controller.strategies import git_push, pull_request
from ferryman.domain import errors
from ferryman.ports import promotion

USERNAME = "deploy-bot"
PASSWORD = "hunter2-git-password-7f3a"
TOKEN = "tok-5e1b9c0d-api-secret"
PROVIDERS = ["github", "gitlab", "bitbucket-server", "azure-devops", "gitea"]

HELMRELEASE = b"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: prod
spec:
  interval: 5m   # reconcile often
  chart:
    spec:
      chart: podinfo
      version: "6.0.0" # {"$promotion": "flux-system:podinfo:prod"}
      sourceRef: {kind: HelmRepository, name: podinfo}
  values:
    image: 'ghcr.io/stefanprodan/podinfo:6.0.0'
    other: 1.0.0 # {"$promotion": "flux-system:other:prod"}
"""
STAGING = HELMRELEASE.replace(b"podinfo:prod", b"podinfo:staging").replace(
    b"namespace: prod", b"namespace: staging"
)
KUSTOMIZATION = b"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: ghcr.io/stefanprodan/podinfo
    newTag: 6.0.0 # {"$promotion": "flux-system:podinfo:prod"}
  - name: ghcr.io/example/sidecar
    newTag: 2.3.4 # {"$promotion": "flux-system:sidecar:prod"}
"""
FILES = {
    "apps/prod/helmrelease.yaml": HELMRELEASE,
    "apps/staging/helmrelease.yaml": STAGING,
    "apps/prod/kustomization.yml": KUSTOMIZATION,
    "README.md": b'podinfo 6.0.0 # {"$promotion": "flux-system:podinfo:prod"}\n',
}


class Secrets:
    """An in-memory ``SecretReader``."""

    def __init__(self, data: dict[str, dict[str, bytes]]) -> None:
        self.data = data

    async def read(self, namespace: str, name: str) -> dict[str, bytes]:
        if name not in self.data:
            raise errors.PermanentError(f'Secret "{namespace}/{name}" not found')
        return self.data[name]


def make_request(
    strategy: pipeline.Strategy,
    revision: str = "6.1.0",
    *,
    environment: str = "prod",
    name: str = "podinfo",
    approvals: tuple[status.ApprovalRecord, ...] = (),
) -> promotion.PromotionRequest:
    """A promotion of ``revision`` into ``environment`` of pipeline flux-system/``name``."""
    return promotion.PromotionRequest(
        namespace="flux-system",
        pipeline_name=name,
        pipeline_uid="uid-1",
        environment=environment,
        source_environment="staging",
        revision=revision,
        app=pipeline.AppRef.model_validate(
            {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": name}
        ),
        strategy=strategy,
        approvals=approvals,
    )


APPROVAL = status.ApprovalRecord(
    user="alice", groups=("sre",), at=datetime(2026, 11, 28, 16, 0, tzinfo=UTC), comment="ship it"
)


def make_fake(
    kind: str, *, clock: FakeClock, repository: Path | None, **extra: Any
) -> base.FakeHost:
    """The fake API for ``kind``; its repository path matches its clone URL layout."""
    common: dict[str, Any] = {"token": TOKEN, "clock": clock, "repository": repository, **extra}
    if kind == "github":
        return github.FakeGitHub(owner="acme", repo="deploy", **common)
    if kind == "gitlab":
        return gitlab.FakeGitLab(project="platform/apps/deploy", **common)
    if kind == "bitbucket-server":
        return bitbucket_server.FakeBitbucketServer(key="OPS", slug="deploy", **common)
    if kind == "azure-devops":
        return azure_devops.FakeAzureDevOps(
            organization="acme", project="platform", repo="deploy", **common
        )
    return gitea.FakeGitea(owner="acme", repo="deploy", **common)


REPOSITORY_PATHS = {
    "github": "acme/deploy.git",
    "gitlab": "platform/apps/deploy.git",
    "bitbucket-server": "scm/ops/deploy.git",  # clone URLs show the key in lower case
    "azure-devops": "acme/platform/_git/deploy",
    "gitea": "acme/deploy.git",
}


@dataclasses.dataclass
class World:
    """One provider's server, repository and strategy wiring for a test."""

    kind: str
    server: gitserver.GitServer
    fake: base.FakeHost
    bare: Path
    url: str
    secrets: Secrets
    workspaces: gitrepo.GitRepositories
    hosts: githost.Hosts
    clock: FakeClock

    def strategy_spec(self) -> pipeline.Strategy:
        return pipeline.Strategy.model_validate(
            {
                "pull-request": {
                    "type": self.kind,
                    "url": self.url,
                    "baseBranch": "main",
                    "secretRef": {"name": "git"},
                }
            }
        )

    def push_spec(self, branch: str = "main") -> pipeline.Strategy:
        return pipeline.Strategy.model_validate(
            {"git-push": {"url": self.url, "branch": branch, "secretRef": {"name": "git"}}}
        )

    def pull_requests(self) -> pull_request.PullRequestStrategy:
        return pull_request.PullRequestStrategy(
            workspaces=self.workspaces, hosts=self.hosts, secrets=self.secrets
        )

    def git_push(self) -> git_push.GitPushStrategy:
        return git_push.GitPushStrategy(workspaces=self.workspaces, secrets=self.secrets)
