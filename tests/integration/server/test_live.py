"""The UI's live pages over server-sent events, against ``ferryman controller``'s composition:
a status change reaches every open stream, costs no API request per client, a signed-out
session's stream ends, and every stream ends when the server stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.integration.controller.conftest import deploy
from tests.integration.kube import Kube
from tests.security import servers

from ferryman.embedded.apiserver import testing
from ferryman.embedded.apiserver.server import EmbeddedApiServer
from ferryman.server.ui import live

from . import production
from .test_api_requests import arrange, signed_in

PAGE = "/events/pipelines/default/podinfo"
USERS = 5
WAIT = 30.0  # generous: these tests assert what arrives, never how fast


@dataclass
class Stream:
    """The events one client has read so far."""

    events: list[tuple[str, str]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def until(self, predicate: str) -> tuple[str, str]:
        """The first event whose type or data contains ``predicate``."""
        async with asyncio.timeout(WAIT):
            while True:
                for event in self.events:
                    if predicate in event[0] or predicate in event[1]:
                        return event
                self.arrived.clear()
                await self.arrived.wait()


async def read(client: httpx.AsyncClient, path: str, into: Stream) -> None:
    """Read ``path``'s event stream into ``into`` until the server ends it."""
    async with client.stream("GET", path, timeout=None) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        kind, data = "", []
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif not line and kind:
                into.events.append((kind, "\n".join(data)))
                into.arrived.set()
                kind, data = "", []
    into.ended.set()


@contextlib.asynccontextmanager
async def cluster(
    tmp_path: Path, users: dict[str, tuple[str, str]]
) -> AsyncIterator[tuple[EmbeddedApiServer, Kube]]:
    """An API server with the signed pipeline, the UI's namespace and approvers' RBAC."""
    tokens = servers.token_file(tmp_path / "tokens.csv", users)
    with testing.serve(tmp_path / "api", token_file=tokens) as api:
        kube = Kube(api.kubeconfig_path)
        try:
            await arrange(kube)
            namespace = {"apiVersion": "v1", "kind": "Namespace"}
            await kube.create({**namespace, "metadata": {"name": "ferryman-system"}})
            for rbac in servers.APPROVER_RBAC:
                await kube.create(rbac)
            yield api, kube
        finally:
            await kube.close()


@contextlib.asynccontextmanager
async def watching(clients: list[httpx.AsyncClient], path: str) -> AsyncIterator[list[Stream]]:
    """Every client reading ``path``'s stream in the background."""
    streams = [Stream() for _ in clients]
    tasks = [asyncio.create_task(read(c, path, s)) for c, s in zip(clients, streams, strict=True)]
    try:
        for stream in streams:
            await stream.until("update")
        yield streams
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_status_change_reaches_every_stream_without_an_api_request_per_client(
    tmp_path: Path,
) -> None:
    """Five signed-in users stream the page; dev runs 6.0.1: each stream gets the new column.
    The API server answers the test's writes and the controller's status write — no read, no
    review, however many clients are connected. Stopping the server ends every stream."""
    users = {f"user{i}": (f"token-{i}", "release-managers") for i in range(USERS)}
    async with cluster(tmp_path, users) as (api, kube):
        async with production.running(api) as server:
            await production.settle(server.controller)
            clients = [await signed_in(server.url, token) for token, _ in users.values()]
            page = await clients[0].get("/pipelines/default/podinfo")
            assert f'data-stream-url="{PAGE}"' in page.text
            streams = [Stream() for _ in clients]
            readers = [
                asyncio.create_task(read(c, PAGE, s)) for c, s in zip(clients, streams, strict=True)
            ]
            for stream in streams:
                await stream.until("update")
            before = await production.api_requests(kube)
            await deploy(kube, "dev", "6.0.1")
            for stream in streams:
                await stream.until("6.0.1")
            await production.settle(server.controller)
            after = await production.api_requests(kube)
            requests = production.resource_requests(before, after)
            reads = {k for k in requests if not k.startswith(("PUT", "POST events"))}
            assert reads <= {"GET helmreleases 200"}  # the test's own read
            assert not any("reviews" in k for k in requests)
            assert sum(v for k, v in requests.items() if "pipelines/status" in k) >= 1
        # The server stopped: every stream was ended by it.
        await asyncio.wait_for(asyncio.gather(*readers), WAIT)
        for client in clients:
            await client.aclose()


async def test_signing_out_ends_the_stream_and_the_list_streams_too(tmp_path: Path) -> None:
    """A user streams the list and a page and signs out: at the next change each stream says
    ``signin`` and ends; a stream without a session is refused with 401."""
    async with (
        cluster(tmp_path, {"alice": ("alice-token", "release-managers")}) as (api, kube),
        production.running(api) as server,
    ):
        await production.settle(server.controller)
        alice = await signed_in(server.url, "alice-token")
        async with httpx.AsyncClient(base_url=server.url) as anonymous:
            assert (await anonymous.get(PAGE)).status_code == 401
        async with (
            watching([alice, alice], PAGE) as (page, _),
            watching([alice], "/events/pipelines") as (listing,),
        ):
            assert "podinfo" in listing.events[0][1]
            home = await alice.get("/")
            csrf = home.text.split('name="csrf" value="')[1].split('"')[0]
            signed_out = await alice.post(
                "/signout", data={"csrf": csrf}, headers={"Origin": server.url}
            )
            assert signed_out.status_code == 303
            await deploy(kube, "dev", "6.0.2")
            for stream in (page, listing):
                await stream.until("signin")
                await asyncio.wait_for(stream.ended.wait(), WAIT)
                assert not any("6.0.2" in data for _, data in stream.events)
        await alice.aclose()


def test_no_text_of_a_pipeline_can_end_an_event_early() -> None:
    """Every line terminator of the SSE format (CR, LF, CRLF) starts a new ``data:`` field."""
    framed = live.message("update", "a\rb\r\nevent: signin\nc")
    assert framed == "event: update\ndata: a\ndata: b\ndata: event: signin\ndata: c\n\n"
    assert live.message("signin") == "event: signin\ndata: \n\n"
