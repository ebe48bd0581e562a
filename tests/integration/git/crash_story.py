"""A dev → staging (git-push) → prod (GitHub pull request) pipeline over real Git, with crashes.

The harness for ``test_controller_crash_points.py``. ``GitStory`` holds the fake cluster
(``tests.fakes``) with the Pipeline and its HelmReleases, a bare repository with ``$promotion``
markers behind the smart-HTTP Git server and the fake GitHub API, and stands in for the people
and machines around the controller: CI deploys a release to dev, a reviewer merges the pull
request (fast-forwards ``main`` in the bare repository, sometimes deleting the branch), and
"Flux" makes each environment run what its manifest on ``main`` says.

``Crasher`` raises ``Crash`` (a ``BaseException``, so nothing in the controller or the adapters
may swallow it) at the n-th pass of one label. Labels are the reconciler's checkpoints and, by
wrapping the ``GitWorkspaces``/``GitHosts`` ports in ``CrashingWorkspaces``/``CrashingHosts``,
``before-<method>``/``after-<method>`` around every Git and hosting-API call inside the
strategies — so a crash can land between the commit and the push, or between the push and the
pull-request call. (The module runs past 400 lines because the proxies spell out every port
method with its types rather than forwarding through ``__getattr__``, so a port change breaks
them loudly.)
"""

from __future__ import annotations

import collections
import contextlib
import copy
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml
from tests.fakes import gitserver
from tests.fakes import kubernetes as fake_k8s
from tests.fakes.clock import FakeClock
from tests.fakes.githosts import base as fake_base
from tests.fakes.promotions import PASSWORD, TOKEN, USERNAME, Secrets, make_fake
from tests.unit.controller import story

from ferryman.adapters import githost, gitrepo
from ferryman.adapters.githost import base as host_base
from ferryman.adapters.githost import http as host_http
from ferryman.api import pipeline, status
from ferryman.controller import reconciler, strategies
from ferryman.domain import changes
from ferryman.ports import git
from ferryman.ports import kubernetes as k8s

T = TypeVar("T")

NS = "default"
NAME = "podinfo"
HELM = story.HELM
REPOSITORY_PATH = "acme/deploy.git"
INITIAL = "1.0.0"
PROD_BRANCH = f"ferryman/{NS}/{NAME}/prod"


def release_manifest(environment: str, version: str) -> bytes:
    """The HelmRelease of ``environment`` in Git, its chart version marked for Ferryman."""
    return (
        "apiVersion: helm.toolkit.fluxcd.io/v2\n"
        "kind: HelmRelease\n"
        "metadata:\n"
        "  name: podinfo\n"
        f"  namespace: {environment}\n"
        "spec:\n"
        "  interval: 5m  # reconcile often\n"
        "  chart:\n"
        "    spec:\n"
        "      chart: podinfo\n"
        f'      version: "{version}" # {{"$promotion": "{NS}:{NAME}:{environment}"}}\n'
        "      sourceRef: {kind: HelmRepository, name: podinfo}\n"
    ).encode()


README = b"# deploy\n\nManifests of podinfo; Ferryman promotes staging and prod.\n"
FILES = {
    "staging/helmrelease.yaml": release_manifest("staging", INITIAL),
    "prod/helmrelease.yaml": release_manifest("prod", INITIAL),
    "README.md": README,
}


class Crash(BaseException):
    """The process dies here (not an ``Exception``: nothing may swallow it)."""


class Crasher:
    """Raise ``Crash`` the ``occurrence``-th time ``label`` is passed; count every label."""

    def __init__(self, label: str, occurrence: int) -> None:
        self.label = label
        self.occurrence = occurrence
        self.fired = False
        self.seen: collections.Counter[str] = collections.Counter()

    def __call__(self, label: str) -> None:
        self.seen[label] += 1
        if label == self.label and not self.fired and self.seen[label] == self.occurrence:
            self.fired = True
            raise Crash(label)


class CrashingWorkspace:
    """A ``GitWorkspace`` that passes ``before-<method>``/``after-<method>`` around each call."""

    def __init__(self, inner: git.GitWorkspace, crash: Callable[[str], None]) -> None:
        self._inner = inner
        self._crash = crash
        self.url = inner.url
        self.branch = inner.branch

    async def _around(self, name: str, call: Callable[[], Awaitable[T]]) -> T:
        self._crash(f"before-{name}")
        result = await call()
        self._crash(f"after-{name}")
        return result

    async def set_markers(self, *, token: str, revision: str) -> tuple[str, ...]:
        return await self._around(
            "set-markers", lambda: self._inner.set_markers(token=token, revision=revision)
        )

    async def marker_changes(
        self, *, token: str, revision: str
    ) -> tuple[changes.MarkerChange, ...]:
        return await self._around(
            "marker-changes", lambda: self._inner.marker_changes(token=token, revision=revision)
        )

    async def commit(self, message: str) -> str:
        return await self._around("commit", lambda: self._inner.commit(message))

    async def head(self) -> str:
        return await self._around("head", self._inner.head)

    async def push(self, *, branch: str, lease: str | None = None) -> git.PushOutcome:
        return await self._around("push", lambda: self._inner.push(branch=branch, lease=lease))

    async def remote_tip(self, branch: str) -> str | None:
        return await self._around("remote-tip", lambda: self._inner.remote_tip(branch))

    async def same_change(self, commit: str, *, remote_branch: str, tip: str) -> bool:
        return await self._around(
            "same-change",
            lambda: self._inner.same_change(commit, remote_branch=remote_branch, tip=tip),
        )

    async def find_commit(self, trailers: Mapping[str, str]) -> str | None:
        return await self._around("find-commit", lambda: self._inner.find_commit(trailers))

    async def reset(self) -> None:
        await self._around("reset", self._inner.reset)


class CrashingWorkspaces:
    """``GitWorkspaces`` whose workspaces are ``CrashingWorkspace``s."""

    def __init__(self, inner: git.GitWorkspaces, crash: Callable[[str], None]) -> None:
        self._inner = inner
        self._crash = crash

    @contextlib.asynccontextmanager
    async def open(
        self, url: str, branch: str, credentials: git.Credentials
    ) -> AsyncIterator[git.GitWorkspace]:
        async with self._inner.open(url, branch, credentials) as workspace:
            yield CrashingWorkspace(workspace, self._crash)


class CrashingHost:
    """A ``GitHost`` that passes ``before-<method>``/``after-<method>`` around each call."""

    def __init__(self, inner: git.GitHost, crash: Callable[[str], None]) -> None:
        self._inner = inner
        self._crash = crash

    async def _around(self, name: str, call: Callable[[], Awaitable[T]]) -> T:
        self._crash(f"before-{name}")
        result = await call()
        self._crash(f"after-{name}")
        return result

    async def find_pull_requests(self, *, head: str, base: str) -> list[git.PullRequest]:
        return await self._around(
            "find-pull-requests", lambda: self._inner.find_pull_requests(head=head, base=base)
        )

    async def create_pull_request(
        self, *, head: str, base: str, title: str, body: str
    ) -> git.PullRequest:
        return await self._around(
            "create-pull-request",
            lambda: self._inner.create_pull_request(head=head, base=base, title=title, body=body),
        )

    async def update_pull_request(
        self, pull_request: git.PullRequest, *, title: str, body: str
    ) -> git.PullRequest:
        return await self._around(
            "update-pull-request",
            lambda: self._inner.update_pull_request(pull_request, title=title, body=body),
        )

    async def commit_statuses(self, commit: str) -> list[git.CommitStatus]:
        return await self._around("commit-statuses", lambda: self._inner.commit_statuses(commit))


class CrashingHosts:
    """``GitHosts`` whose hosts are ``CrashingHost``s."""

    def __init__(self, inner: git.GitHosts, crash: Callable[[str], None]) -> None:
        self._inner = inner
        self._crash = crash

    def host(self, kind: str, url: str, *, token: str, **options: Any) -> git.GitHost:
        return CrashingHost(self._inner.host(kind, url, token=token, **options), self._crash)


@dataclasses.dataclass(frozen=True)
class PromotionCommit:
    """A commit carrying Ferryman's trailers."""

    sha: str
    environment: str
    revision: str


class GitStory:
    """The cluster, the Git server with its fake GitHub, and the actors around the controller."""

    def __init__(self, root: Path, http_client: httpx.AsyncClient) -> None:
        self.root = root
        self.api = fake_k8s.FakeKubernetes()
        self.clock = FakeClock()
        self.host_clock = FakeClock()
        self.bare = gitserver.create_bare(root / "srv" / REPOSITORY_PATH, FILES)
        github = make_fake("github", clock=self.host_clock, repository=self.bare)
        self.github = github
        self.server = gitserver.GitServer(
            root / "srv", username=USERNAME, password=PASSWORD, api=github
        )
        github.base_url = self.server.base_url
        self.url = self.server.url(REPOSITORY_PATH)
        self.hosts = githost.Hosts(
            http_client,
            pacer=host_base.Pacer(clock=self.host_clock.time, sleep=self.host_clock.sleep),
            options=host_http.Options(timeout=10.0, clock=self.host_clock.time),
        )
        self.secrets = Secrets(
            {
                "git": {
                    "username": USERNAME.encode(),
                    "password": PASSWORD.encode(),
                    "token": TOKEN.encode(),
                }
            }
        )
        self.api.put(self.pipeline_object())
        for env in ("dev", "staging", "prod"):
            self.deploy(env, INITIAL)

    def __enter__(self) -> GitStory:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.github.stopping.set()
        self.server.stop()

    # ------------------------------------------------------------------------ the controller

    def pipeline_object(self) -> dict[str, Any]:
        """dev → staging by ``git-push`` to main → prod by a GitHub pull request into main."""
        secret = {"name": "git"}
        push = {"git-push": {"url": self.url, "branch": "main", "secretRef": secret}}
        pull = {
            "pull-request": {
                "type": "github",
                "url": self.url,
                "baseBranch": "main",
                "secretRef": secret,
            }
        }
        return {
            "apiVersion": pipeline.API_VERSION,
            "kind": pipeline.KIND,
            "metadata": {"name": NAME, "namespace": NS},
            "spec": {
                "appRef": {"apiVersion": HELM, "kind": "HelmRelease", "name": "podinfo"},
                "environments": [
                    {"name": "dev", "targets": [{"namespace": "dev"}]},
                    {
                        "name": "staging",
                        "targets": [{"namespace": "staging"}],
                        "promotion": {"strategy": push},
                    },
                    {
                        "name": "prod",
                        "targets": [{"namespace": "prod"}],
                        "promotion": {"strategy": pull},
                    },
                ],
            },
        }

    async def read(self, subject: pipeline.Pipeline, target: pipeline.Target) -> k8s.TargetRead:
        kind = k8s.Kind(subject.spec.app_ref.api_version, subject.spec.app_ref.kind)
        return k8s.TargetRead(await self.api.get(kind, target.namespace, subject.spec.app_ref.name))

    def reconciler(self, owner: str, crash: Callable[[str], None]) -> reconciler.Reconciler:
        """A fresh controller process: new owner, new adapters, the same on-disk Git cache."""
        workspaces = gitrepo.GitRepositories(cache_dir=self.root / "cache", timeout=30)
        return reconciler.Reconciler(
            store=self.api.store,
            targets=self,
            events=self.api,
            strategies=strategies.build_all(
                workspaces=CrashingWorkspaces(workspaces, crash),
                hosts=CrashingHosts(self.hosts, crash),
                secrets=self.secrets,
                events=self.api,
            ),
            clock=self.clock,
            owner=owner,
            checkpoint=crash,
        )

    # ------------------------------------------------------------------------ the world around it

    def deploy(self, namespace: str, version: str) -> None:
        """helm-controller installed ``version``: spec and a current, observed, ready status."""
        stored = self.api.put(story.helm_release(namespace, version))
        generation = stored["metadata"]["generation"]
        observed = story.helm_release(namespace, version)
        observed["status"]["observedGeneration"] = generation
        observed["status"]["conditions"][0]["observedGeneration"] = generation
        self.api.put(observed)

    def running(self, namespace: str) -> str:
        """The chart version the HelmRelease in ``namespace`` runs."""
        current = self.api.objects[(HELM, "HelmRelease", namespace, "podinfo")]
        return str(current["status"]["history"][0]["chartVersion"])

    def release(self, version: str) -> None:
        """CI deployed ``version`` to dev."""
        self.deploy("dev", version)

    def flux_catch_up(self) -> None:
        """Flux applies ``main``: staging and prod run the chart versions their manifests name."""
        for env in ("staging", "prod"):
            manifest = yaml.safe_load(gitserver.show(self.bare, "main", f"{env}/helmrelease.yaml"))
            version = str(manifest["spec"]["chart"]["spec"]["version"])
            if self.running(env) != version:
                self.deploy(env, version)

    def merge_open_pull_requests(self, *, delete_branch: bool = False) -> None:
        """A reviewer merges every open pull request with a fast-forward.

        Ferryman builds each promotion commit on the base branch's tip of that moment and no
        other writer moves ``main`` while a pull request is open here, so a fast-forward is
        always possible; anything else means the branch was left stale. ``delete_branch`` does
        what GitHub's "automatically delete head branches" setting does.
        """
        for pull in self.github.open_pulls():
            heads = gitserver.branches(self.bare)
            head, target = heads[pull.head], heads[pull.base]
            base = self._git("merge-base", target, head).strip()
            assert base == target, f"pull request #{pull.number} is not based on {pull.base}"
            self.github.merge(pull.number)
            if delete_branch:
                self._git("update-ref", "-d", f"refs/heads/{pull.head}", head)

    def _git(self, *args: str) -> str:
        return gitserver.git("--git-dir", str(self.bare), *args)

    # ------------------------------------------------------------------------ inspection

    def pipeline(self) -> dict[str, Any]:
        """The stored Pipeline."""
        return copy.deepcopy(self.api.objects[(pipeline.API_VERSION, pipeline.KIND, NS, NAME)])

    def status(self) -> status.PipelineStatus:
        """The stored status, parsed."""
        return status.PipelineStatus.model_validate(self.pipeline().get("status") or {})

    def promotion_commits(self, ref: str) -> list[PromotionCommit]:
        """Every commit reachable from ``ref`` with Ferryman's trailers, newest first."""
        listed = self._git("log", "--format=%H%x00%(trailers:only,unfold)%x1e", ref)
        found = []
        for entry in listed.split("\x1e"):
            sha, _, block = entry.strip().partition("\0")
            trailers = {
                key.strip(): value.strip()
                for key, sep, value in (line.partition(":") for line in block.splitlines())
                if sep
            }
            if sha and trailers.get("Ferryman-Pipeline") == f"{NS}/{NAME}":
                found.append(
                    PromotionCommit(
                        sha, trailers["Ferryman-Environment"], trailers["Ferryman-Revision"]
                    )
                )
        return found

    def empty_commits(self) -> list[str]:
        """Commits on any branch whose tree equals their (first) parent's: changes nothing."""
        trees: dict[str, str] = {}
        parents: dict[str, list[str]] = {}
        for line in self._git("log", "--all", "--format=%H %T %P").splitlines():
            sha, tree, *rest = line.split()
            trees[sha] = tree
            parents[sha] = rest
        return [sha for sha, ps in parents.items() if ps and trees[ps[0]] == trees[sha]]

    def branches(self) -> dict[str, str]:
        """Branch name → SHA in the bare repository."""
        return gitserver.branches(self.bare)

    def commits_between(self, base: str, ref: str) -> list[str]:
        """Commits on ``ref`` that ``base`` does not have."""
        return gitserver.log(self.bare, f"{base}..{ref}")

    def file(self, ref: str, name: str) -> bytes:
        """The bytes of ``name`` at ``ref``."""
        return gitserver.show(self.bare, ref, name)

    def pull_requests(self) -> list[tuple[int, str, str]]:
        """(number, title, state) of every pull request in the fake GitHub, oldest first."""
        return [(p.number, p.title, p.state) for p in sorted(self.github.pulls.values(), key=_num)]

    def update_calls(self) -> int:
        """PATCH requests to a pull request."""
        return len(self.github.calls("PATCH", r"/pulls/\d+$"))


def _num(pull: fake_base.Pull) -> int:
    return pull.number


def title(revision: str) -> str:
    """The title Ferryman gives the prod pull request of ``revision``."""
    return f"Promote {NAME} to prod: {revision}"
