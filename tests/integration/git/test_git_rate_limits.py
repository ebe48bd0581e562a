"""Pacing: 500 promotions against a GitHub fake that enforces 80 content-creating calls a minute.

The fake answers the 81st creating call inside any sliding minute with GitHub's secondary-rate-
limit 403 + Retry-After; the adapter's pacer (same ``FakeClock``) must keep below that, so no
promotion ever meets a rate-limit error. Git is replaced here by an in-memory workspace (the
pacing concerns only the API); the drain rate is measured in fake time.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from tests.fakes import gitserver
from tests.fakes.clock import FakeClock
from tests.fakes.githosts import github
from tests.fakes.promotions import TOKEN, Secrets, make_request

from ferryman.adapters import githost
from ferryman.adapters.githost import base, http
from ferryman.api import pipeline
from ferryman.controller.strategies import pull_request
from ferryman.domain import changes, errors
from ferryman.ports import git

PROMOTIONS = 500
LIMIT = 80


class MemoryWorkspace:
    """A workspace whose markers always need changing and whose pushes always succeed."""

    url = "memory"
    branch = "main"

    def __init__(self) -> None:
        self.commits = 0

    async def set_markers(self, *, token: str, revision: str) -> tuple[str, ...]:
        return ("apps/prod/helmrelease.yaml",)

    async def marker_changes(
        self, *, token: str, revision: str
    ) -> tuple[changes.MarkerChange, ...]:
        return (changes.MarkerChange("apps/prod/helmrelease.yaml", 1, "6.0.0", revision),)

    async def commit(self, message: str) -> str:
        self.commits += 1
        return f"{self.commits:040x}"

    async def head(self) -> str:
        return f"{self.commits:040x}"

    async def push(self, *, branch: str, lease: str | None = None) -> git.PushOutcome:
        return git.PushOutcome.PUSHED

    async def remote_tip(self, branch: str) -> str | None:
        return None

    async def same_change(self, commit: str, *, remote_branch: str, tip: str) -> bool:
        return False

    async def find_commit(self, trailers: object) -> str | None:
        return None

    async def reset(self) -> None:
        return None


class MemoryWorkspaces:
    def __init__(self) -> None:
        self.workspace = MemoryWorkspace()

    @contextlib.asynccontextmanager
    async def open(
        self, url: str, branch: str, credentials: git.Credentials
    ) -> AsyncIterator[git.GitWorkspace]:
        yield self.workspace


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[github.FakeGitHub, FakeClock]]:
    """A GitHub fake enforcing 80 creating calls per sliding minute, on a fake clock."""
    clock = FakeClock()
    fake = github.FakeGitHub(
        owner="acme", repo="deploy", token=TOKEN, clock=clock, repository=None, creation_limit=LIMIT
    )
    srv = gitserver.GitServer(tmp_path, username="u", password="p", api=fake).start()
    fake.base_url = srv.base_url
    yield fake, clock
    srv.stop()


async def test_500_promotions_never_meet_the_secondary_rate_limit(
    server: tuple[github.FakeGitHub, FakeClock],
) -> None:
    """Every create is paced under 80/minute: 500 PRs, zero 403s; the drain rate is measured."""
    fake, clock = server
    pacer = base.Pacer(limit=LIMIT, clock=clock.time, sleep=clock.sleep)
    async with httpx.AsyncClient() as client:
        hosts = githost.Hosts(client, pacer=pacer, options=http.Options(clock=clock.time))
        strategy = pull_request.PullRequestStrategy(
            workspaces=MemoryWorkspaces(),
            hosts=hosts,
            secrets=Secrets({"git": {"token": TOKEN.encode()}}),
        )
        spec = pipeline.Strategy.model_validate(
            {
                "pull-request": {
                    "type": "github",
                    "url": fake.repository_url(),
                    "baseBranch": "main",
                    "secretRef": {"name": "git"},
                }
            }
        )
        started = clock.time()
        for index in range(PROMOTIONS):
            await strategy.promote(make_request(spec, name=f"app-{index}"))
        elapsed = clock.time() - started

    assert fake.created == PROMOTIONS
    assert fake.rate_limited == 0
    drain_per_minute = PROMOTIONS / elapsed * 60
    assert drain_per_minute <= LIMIT
    assert drain_per_minute >= LIMIT * 0.85  # pacing, not crawling
    print(
        f"drained {PROMOTIONS} promotions in {elapsed:.0f}s fake time: {drain_per_minute:.1f}/min"
    )


async def test_without_pacing_the_fake_does_refuse(
    server: tuple[github.FakeGitHub, FakeClock],
) -> None:
    """The fake's limit is real: an unpaced burst of 81 creates meets its 403."""
    fake, clock = server
    pacer = base.Pacer(limit=10_000, burst=1_000, clock=clock.time, sleep=clock.sleep)
    async with httpx.AsyncClient() as client:
        host = githost.Hosts(client, pacer=pacer, options=http.Options(clock=clock.time)).host(
            "github", fake.repository_url(), token=TOKEN
        )
        for index in range(LIMIT):
            await host.create_pull_request(head=f"b{index}", base="main", title="t", body="b")
        with pytest.raises(errors.TemporaryError) as raised:
            await host.create_pull_request(head="one-more", base="main", title="t", body="b")

    assert raised.value.reason == "RateLimited"
    assert fake.rate_limited == 1
