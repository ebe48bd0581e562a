"""The strategies' ports with every irreversible step routed through a ``fencing.Guard``.

A strategy makes its changes through three ports; the calls that change something outside the
cluster's status are the irreversible steps fencing is about (``fencing`` module doc):

=============================  =================================  ==========================
port                           irreversible call                  step (checkpoint labels)
=============================  =================================  ==========================
``git.GitWorkspace``           ``push``                           ``push``
``git.GitHost``                ``create_pull_request``            ``create-pull-request``
``git.GitHost``                ``update_pull_request``            ``update-pull-request``
``kubernetes.EventSink``       ``emit`` (the notification event)  ``send-event``
=============================  =================================  ==========================

Everything else (clone, fetch, patching markers, committing locally, listing pull requests) only
reads or changes the controller's own working copy and passes straight through. Wrapping the
ports, rather than editing each strategy, means a strategy cannot forget a check: whatever it
does with a port, the irreversible calls are fenced. The composition root (``bootstrap.process``)
wraps the adapters before it builds the strategies.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from ferryman.controller import fencing
from ferryman.domain import changes
from ferryman.ports import git, promotion
from ferryman.ports import kubernetes as k8s


class GuardedWorkspace:
    """A ``GitWorkspace`` whose ``push`` is a guarded step."""

    def __init__(self, inner: git.GitWorkspace, guard: fencing.Guard) -> None:
        self._inner = inner
        self._guard = guard
        self.url = inner.url
        self.branch = inner.branch

    async def set_markers(self, *, token: str, revision: str) -> tuple[str, ...]:
        return await self._inner.set_markers(token=token, revision=revision)

    async def marker_changes(
        self, *, token: str, revision: str
    ) -> tuple[changes.MarkerChange, ...]:
        return await self._inner.marker_changes(token=token, revision=revision)

    async def commit(self, message: str) -> str:
        return await self._inner.commit(message)

    async def head(self) -> str:
        return await self._inner.head()

    async def push(self, *, branch: str, lease: str | None = None) -> git.PushOutcome:
        return await self._guard.step("push", lambda: self._inner.push(branch=branch, lease=lease))

    async def remote_tip(self, branch: str) -> str | None:
        return await self._inner.remote_tip(branch)

    async def same_change(self, commit: str, *, remote_branch: str, tip: str) -> bool:
        return await self._inner.same_change(commit, remote_branch=remote_branch, tip=tip)

    async def find_commit(self, trailers: Mapping[str, str]) -> str | None:
        return await self._inner.find_commit(trailers)

    async def reset(self) -> None:
        await self._inner.reset()


class GuardedWorkspaces:
    """``GitWorkspaces`` whose workspaces are ``GuardedWorkspace``s."""

    def __init__(self, inner: git.GitWorkspaces, guard: fencing.Guard) -> None:
        self._inner = inner
        self._guard = guard

    @contextlib.asynccontextmanager
    async def open(
        self, url: str, branch: str, credentials: git.Credentials
    ) -> AsyncIterator[git.GitWorkspace]:
        async with self._inner.open(url, branch, credentials) as workspace:
            yield GuardedWorkspace(workspace, self._guard)


class GuardedHost:
    """A ``GitHost`` whose pull request creation and update are guarded steps."""

    def __init__(self, inner: git.GitHost, guard: fencing.Guard) -> None:
        self._inner = inner
        self._guard = guard

    async def find_pull_requests(self, *, head: str, base: str) -> list[git.PullRequest]:
        return await self._inner.find_pull_requests(head=head, base=base)

    async def create_pull_request(
        self, *, head: str, base: str, title: str, body: str
    ) -> git.PullRequest:
        return await self._guard.step(
            "create-pull-request",
            lambda: self._inner.create_pull_request(head=head, base=base, title=title, body=body),
        )

    async def update_pull_request(
        self, pull_request: git.PullRequest, *, title: str, body: str
    ) -> git.PullRequest:
        return await self._guard.step(
            "update-pull-request",
            lambda: self._inner.update_pull_request(pull_request, title=title, body=body),
        )

    async def commit_statuses(self, commit: str) -> list[git.CommitStatus]:
        return await self._inner.commit_statuses(commit)


class GuardedHosts:
    """``GitHosts`` whose hosts are ``GuardedHost``s."""

    def __init__(self, inner: git.GitHosts, guard: fencing.Guard) -> None:
        self._inner = inner
        self._guard = guard

    def host(
        self,
        kind: str,
        url: str,
        *,
        token: str,
        server_url: str | None = None,
        ca: str | None = None,
    ) -> git.GitHost:
        inner = self._inner.host(kind, url, token=token, server_url=server_url, ca=ca)
        return GuardedHost(inner, self._guard)


class GuardedEvents:
    """An ``EventSink`` for the notification strategy: each delivery is a guarded step."""

    def __init__(self, inner: k8s.EventSink, guard: fencing.Guard) -> None:
        self._inner = inner
        self._guard = guard

    async def emit(self, pipeline: k8s.JSON, event: k8s.EventRecord) -> bool:
        return await self._guard.step("send-event", lambda: self._inner.emit(pipeline, event))


class GuardedReceiver:
    """Flux's event receiver for the notification strategy: each delivery is a guarded step."""

    def __init__(self, inner: promotion.EventReceiver, guard: fencing.Guard) -> None:
        self._inner = inner
        self._guard = guard

    async def post(self, body: bytes) -> None:
        await self._guard.step("post-flux-event", lambda: self._inner.post(body))
