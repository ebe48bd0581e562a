"""Fixtures for real-Git tests: a smart-HTTP Git server with a fake hosting API per provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.fakes import gitserver
from tests.fakes.clock import FakeClock
from tests.fakes.githosts import base
from tests.fakes.promotions import (
    FILES,
    PASSWORD,
    PROVIDERS,
    REPOSITORY_PATHS,
    TOKEN,
    USERNAME,
    Secrets,
    World,
    make_fake,
)

from ferryman.adapters import githost, gitrepo
from ferryman.adapters.githost import base as host_base
from ferryman.adapters.githost import http as host_http


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_world(
    tmp_path: Path, clock: FakeClock, http_client: httpx.AsyncClient
) -> Iterator[Callable[..., World]]:
    """Build a ``World`` for a provider; servers stop at the end of the test."""
    servers: list[gitserver.GitServer] = []

    def build(kind: str = "github", *, timeout: float = 10.0, **fake_options: Any) -> World:
        root = tmp_path / f"srv-{len(servers)}"
        bare = gitserver.create_bare(root / REPOSITORY_PATHS[kind], FILES)
        fake = make_fake(kind, clock=clock, repository=bare, **fake_options)
        server = gitserver.GitServer(root, username=USERNAME, password=PASSWORD, api=fake)
        fake.base_url = server.base_url
        servers.append(server.start())
        pacer = host_base.Pacer(clock=clock.time, sleep=clock.sleep)
        hosts = githost.Hosts(
            http_client, pacer=pacer, options=host_http.Options(timeout=timeout, clock=clock.time)
        )
        secrets = Secrets(
            {
                "git": {
                    "username": USERNAME.encode(),
                    "password": PASSWORD.encode(),
                    "token": TOKEN.encode(),
                }
            }
        )
        workspaces = gitrepo.GitRepositories(
            cache_dir=tmp_path / f"cache-{len(servers)}", timeout=30
        )
        url = server.url(REPOSITORY_PATHS[kind])
        return World(kind, server, fake, bare, url, secrets, workspaces, hosts, clock)

    yield build
    for server in servers:
        if isinstance(server.api, base.FakeHost):
            server.api.stopping.set()  # release any scripted hang first
        server.stop()


@pytest.fixture(params=PROVIDERS)
def world(request: pytest.FixtureRequest, make_world: Callable[..., World]) -> World:
    """A world for each of the five providers."""
    return make_world(request.param)
