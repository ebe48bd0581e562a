"""``ferryman controller`` as a process: its endpoints, and SIGTERM releasing the Lease."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys

import httpx
from tests.integration.controller import conftest as env
from tests.integration.controller.test_story import eventually
from tests.integration.kube import Kube

from ferryman.embedded.apiserver import server as api_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_sigterm_stops_cleanly_and_releases_the_lease(
    apiserver: api_server.EmbeddedApiServer,
) -> None:
    """The Deployment's stop signal (SIGTERM) ends the process with 0 and frees the Lease, so
    the other replica leads at once; /readyz and /metrics answer on their own ports meanwhile."""
    kube = Kube(apiserver.kubeconfig_path)
    await env.prepare(kube)
    health, metrics, http = free_port(), free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ferryman",
            "controller",
            "--kubeconfig",
            str(apiserver.kubeconfig_path),
            "--leader-elect",
            "--lease-namespace",
            "default",
            "--health-addr",
            f"127.0.0.1:{health}",
            "--metrics-addr",
            f"127.0.0.1:{metrics}",
            "--http-addr",
            f"127.0.0.1:{http}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        async with httpx.AsyncClient() as client:

            async def ready() -> bool:
                try:
                    answer = await client.get(f"http://127.0.0.1:{health}/readyz")
                except httpx.TransportError:
                    return False
                return answer.status_code == 200

            await eventually(ready)

            async def leads() -> bool:
                try:
                    lease = await kube.get(
                        "coordination.k8s.io/v1", "Lease", "default", "ferryman-controller"
                    )
                except httpx.HTTPStatusError:
                    return False
                return bool(lease["spec"].get("holderIdentity"))

            await eventually(leads)
            exposition = (await client.get(f"http://127.0.0.1:{metrics}/metrics")).text
            assert "ferryman_leader 1.0" in exposition
            unauthenticated = await client.get(f"http://127.0.0.1:{http}/api/v1/pipelines")
            assert unauthenticated.status_code == 401
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 20)
        assert code == 0, process.stdout.read() if process.stdout else ""
        lease = await kube.get("coordination.k8s.io/v1", "Lease", "default", "ferryman-controller")
        assert not lease["spec"].get("holderIdentity")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        await kube.close()
