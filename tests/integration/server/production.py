"""The server as ``ferryman controller`` runs it — controller started, informers synced, the real
adapters and caches of ``bootstrap.process`` — against an embedded API server, plus a count of
the API requests that server answered (its ``apiserver_request_total``).

Shared by the tests that prove what a request costs the API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from tests.integration.kube import Kube

from ferryman.bootstrap import process
from ferryman.embedded.apiserver.server import EmbeddedApiServer
from ferryman.settings import Settings

_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
Labels = tuple[tuple[str, str], ...]


@dataclass
class Running:
    """A started controller and its HTTP server."""

    url: str
    controller: process.Controller


@contextlib.asynccontextmanager
async def running(api: EmbeddedApiServer, **settings: Any) -> AsyncIterator[Running]:
    """``ferryman controller`` in this process: controller started, server on a free port."""
    chosen = Settings(
        kubeconfig=str(api.kubeconfig_path),
        http_addr="127.0.0.1:0",
        promotion_hook_rate_limit=0,
        **settings,
    )
    controller = process.build_controller(chosen)
    await controller.start()
    server = uvicorn.Server(process.server_config(chosen, controller))
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # uvicorn offers no started event; it starts within milliseconds
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Running(f"http://127.0.0.1:{port}", controller)
    finally:
        controller.pipelines.close()
        server.should_exit = True
        await task
        await controller.stop()


async def settle(controller: process.Controller, *, quiet: float = 0.3, limit: float = 20) -> None:
    """Wait until no reconcile is queued or running for ``quiet`` seconds."""
    queue = controller.manager.queue
    deadline = time.monotonic() + limit
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        if len(queue) or queue.processing:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            return
    raise TimeoutError("the controller did not settle")


async def api_requests(kube: Kube) -> Counter[Labels]:
    """Every ``apiserver_request_total`` sample of the API server, by its labels."""
    response = await kube.http.get("/metrics")
    response.raise_for_status()
    found: Counter[Labels] = Counter()
    for line in response.text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', match["labels"])))
            found[labels] = int(float(match["value"]))
    return found


def resource_requests(before: Counter[Labels], after: Counter[Labels]) -> dict[str, int]:
    """Resource requests answered between two counts, as ``VERB resource[/sub] code`` → count.

    Watches are left out: an informer's watch is one long request opened at start, not a request
    per event (a reconnect would show as a LIST before it).
    """
    grown: dict[str, int] = {}
    for labels, value in (after - before).items():
        label = dict(labels)
        if not label["resource"] or label["verb"] == "WATCH":
            continue
        resource = label["resource"] + (f"/{label['subresource']}" if label["subresource"] else "")
        grown[f"{label['verb']} {resource} {label['code']}"] = value
    return grown
