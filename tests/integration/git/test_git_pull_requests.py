"""The pull-request strategy against each provider's fake API and a real Git smart-HTTP server.

Per provider: create, adopt on retry (no second PR, no second commit), update on a newer
revision, the closed-without-merge policy, a merged PR, and crash points between push, PR call
and the status write. The request shapes each fake accepts follow the provider's public docs
(named in each fake's module docstring).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.fakes import gitserver
from tests.fakes.promotions import APPROVAL, FILES, World, make_request

from ferryman.controller.strategies import pull_request
from ferryman.domain import errors

BRANCH = "ferryman/flux-system/podinfo/prod"


def _commits_above_main(world: World) -> list[str]:
    return gitserver.log(world.bare, f"main..{BRANCH}")


async def test_creates_one_pull_request_with_the_promotion_commit(world: World) -> None:
    """A first promotion pushes the deterministic branch and opens one PR describing it."""
    request = make_request(world.strategy_spec(), approvals=(APPROVAL,))

    result = await world.pull_requests().promote(request)

    assert [p.number for p in world.fake.open_pulls(BRANCH)] == [result.number]
    pull = world.fake.pulls[result.number]
    assert pull.title == "Promote podinfo to prod: 6.1.0"
    assert pull.base == "main"
    for text in ("flux-system/podinfo", "`staging` → `prod`", "6.1.0", "alice", "ship it"):
        assert text in pull.body
    assert "apps/prod/helmrelease.yaml" in pull.body
    assert "apps/prod/kustomization.yml" in pull.body
    assert result.url is not None and result.url.startswith(world.server.base_url)
    assert result.branch == BRANCH
    assert result.commit == gitserver.branches(world.bare)[BRANCH]
    assert len(_commits_above_main(world)) == 1
    message = gitserver.log(world.bare, BRANCH, fmt="%B")
    assert "Ferryman-Revision: 6.1.0" in message
    assert "Approved-by: alice" in message


async def test_a_retry_adopts_the_open_pull_request(world: World) -> None:
    """Promoting the same revision again creates nothing: same PR, same commit, one create."""
    strategy = world.pull_requests()
    request = make_request(world.strategy_spec())
    first = await strategy.promote(request)
    pushes = world.server.git_requests

    second = await strategy.promote(request)

    assert second == first
    assert len(world.fake.pulls) == 1
    assert world.fake.created == 1
    assert len(_commits_above_main(world)) == 1
    assert not [r for r in world.fake.requests if r.method in ("POST", "PUT", "PATCH")][1:], (
        "the retry sent no create or update"
    )
    assert world.server.git_requests > pushes  # it did fetch, but pushed nothing new


async def test_a_newer_revision_updates_the_same_pull_request(world: World) -> None:
    """6.2.0 after 6.1.0 moves the branch and retitles the one open PR (never two open)."""
    strategy = world.pull_requests()
    first = await strategy.promote(make_request(world.strategy_spec(), "6.1.0"))

    second = await strategy.promote(make_request(world.strategy_spec(), "6.2.0"))

    assert second.number == first.number
    assert len(world.fake.open_pulls()) == 1
    assert world.fake.pulls[first.number].title == "Promote podinfo to prod: 6.2.0"
    assert "6.2.0" in world.fake.pulls[first.number].body
    assert second.commit != first.commit
    shown = gitserver.show(world.bare, BRANCH, "apps/prod/helmrelease.yaml")
    assert b'version: "6.2.0" # {"$promotion"' in shown
    assert len(_commits_above_main(world)) == 1


async def test_a_pull_request_closed_unmerged_is_not_reopened_for_that_revision(
    world: World,
) -> None:
    """Closed without merge = rejected: that revision stops; a newer one opens a new PR."""
    strategy = world.pull_requests()
    first = await strategy.promote(make_request(world.strategy_spec(), "6.1.0"))
    assert first.number is not None
    world.fake.close(first.number)

    with pytest.raises(errors.PermanentError) as refused:
        await strategy.promote(make_request(world.strategy_spec(), "6.1.0"))

    assert refused.value.reason == "PullRequestClosed"
    assert f"#{first.number}" in str(refused.value)
    assert "closed without merging" in str(refused.value)
    assert world.fake.created == 1
    newer = await strategy.promote(make_request(world.strategy_spec(), "6.2.0"))
    assert newer.number != first.number
    assert [p.number for p in world.fake.open_pulls()] == [newer.number]


async def test_a_merged_pull_request_is_reported_not_reopened(world: World) -> None:
    """After the merge the revision is on main already: no new PR; the merged one is named."""
    strategy = world.pull_requests()
    first = await strategy.promote(make_request(world.strategy_spec()))
    assert first.number is not None
    world.fake.merge(first.number)

    again = await strategy.promote(make_request(world.strategy_spec()))

    assert again.url == first.url
    assert again.branch == "main"
    assert world.fake.created == 1


class Crash(Exception):
    """The process died here."""


class CrashAfter:
    """Wraps a port object; raises ``Crash`` once right after ``method`` completed."""

    def __init__(self, inner: object, method: str) -> None:
        self._inner = inner
        self._method = method
        self.crashed = False

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self._inner, name)
        if name != self._method or self.crashed:
            return attribute

        async def crashing(*args: object, **kwargs: object) -> object:
            await attribute(*args, **kwargs)
            self.crashed = True
            raise Crash(name)

        return crashing


class CrashingWorkspaces:
    """``GitWorkspaces`` whose workspaces crash after ``method`` once."""

    def __init__(self, inner: object, method: str) -> None:
        self._inner = inner
        self._method = method
        self.crashed = False

    def open(self, url: str, branch: str, credentials: object) -> object:
        inner = self._inner.open(url, branch, credentials)  # type: ignore[attr-defined]
        outer = self

        class Context:
            async def __aenter__(self) -> object:
                workspace = await inner.__aenter__()
                if outer.crashed:
                    return workspace
                wrapped = CrashAfter(workspace, outer._method)
                outer._wrapped = wrapped
                return wrapped

            async def __aexit__(self, *exc: object) -> object:
                if hasattr(outer, "_wrapped"):
                    outer.crashed = outer._wrapped.crashed
                return await inner.__aexit__(*exc)

        return Context()


class CrashingHosts:
    """``GitHosts`` whose hosts crash after ``method`` once."""

    def __init__(self, inner: object, method: str) -> None:
        self._inner = inner
        self._method = method
        self._wrapped: CrashAfter | None = None

    def host(self, kind: str, url: str, *, token: str, **options: object) -> object:
        host = self._inner.host(kind, url, token=token, **options)  # type: ignore[attr-defined]
        if self._wrapped is None:
            self._wrapped = CrashAfter(host, self._method)
            return self._wrapped
        return host


CRASH_POINTS = [
    ("workspace", "commit", "after commit, before push"),
    ("workspace", "push", "after push, before PR call"),
    ("host", "find_pull_requests", "after listing PRs, before create"),
    ("host", "create_pull_request", "after PR create, before result"),
    ("status", "promote", "after result, before status write"),
]
# Every crash point on one provider; the provider-specific one (create) on all five.
CRASH_CASES = [
    pytest.param("github", port, method, id=f"github-{label}")
    for port, method, label in CRASH_POINTS
] + [
    pytest.param(kind, "host", "create_pull_request", id=f"{kind}-after PR create")
    for kind in ("gitlab", "bitbucket-server", "azure-devops", "gitea")
]


@pytest.mark.parametrize(("kind", "port", "method"), CRASH_CASES)
async def test_a_crash_at_any_point_leaves_exactly_one_pull_request(
    make_world: Callable[..., World], kind: str, port: str, method: str
) -> None:
    """Calling promote() again after a crash gives one PR per revision and no empty commit."""
    world = make_world(kind)
    workspaces = (
        CrashingWorkspaces(world.workspaces, method) if port == "workspace" else world.workspaces
    )
    hosts = CrashingHosts(world.hosts, method) if port == "host" else world.hosts
    strategy = pull_request.PullRequestStrategy(
        workspaces=workspaces,  # type: ignore[arg-type]
        hosts=hosts,  # type: ignore[arg-type]
        secrets=world.secrets,
    )
    request = make_request(world.strategy_spec())
    if port == "status":
        await strategy.promote(request)  # the controller died before writing the result
    else:
        with pytest.raises(Crash):
            await strategy.promote(request)

    result = await strategy.promote(request)

    assert len(world.fake.pulls) == 1
    assert world.fake.created == 1
    assert [p.number for p in world.fake.open_pulls()] == [result.number]
    assert len(_commits_above_main(world)) == 1
    assert result.commit == gitserver.branches(world.bare)[BRANCH]
    for name, content in FILES.items():
        if name != "apps/prod/helmrelease.yaml" and name != "apps/prod/kustomization.yml":
            assert gitserver.show(world.bare, BRANCH, name) == content
