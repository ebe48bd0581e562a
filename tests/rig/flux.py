"""Flux for a real-process test: the local Flux applies ``main``; notifications deploy directly.

Environments whose manifests live in Git (observed-only, ``git-push``, ``pull-request``) are
applied by ``embedded.flux.LocalFlux`` polling the bare repository — the same applier
``ferryman up`` runs — which reports each HelmRelease ready as helm-controller would. An
environment promoted by ``notification`` has no commit to apply: ``follow_promote_events`` plays
the automation that a Flux Alert would trigger, deploying the version a ``Promote`` Event names
(each Event once). Both tolerate an API server that is down (they try again on the next poll).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.rig import gitworld

from ferryman.embedded import flux

HELM = flux.HELM_API


def local_flux(world: gitworld.GitWorld, kubeconfig: Path, envs: Sequence[str]) -> flux.LocalFlux:
    """The applier of ``envs``' directories on ``main`` (fast polls, short readiness delay)."""
    config = flux.FluxConfig(
        repository=world.bare,
        paths={env: env for env in envs},
        interval=0.3,
        ready_delay=0.3,
    )
    return flux.LocalFlux(config, flux.KubeClient(kubeconfig, timeout=5.0))


def _deploy(client: flux.KubeClient, namespace: str, version: str) -> None:
    """helm-controller installed ``version`` in ``namespace`` (spec, then a ready status)."""
    path = flux.object_path(HELM, "helmreleases", namespace, "podinfo")
    current = client.request("GET", path)
    if current.status != 200:
        raise flux.FluxError(f"{path}: HTTP {current.status}")
    obj: dict[str, Any] = current.body
    obj["spec"]["chart"]["spec"]["version"] = version
    updated = client.request("PUT", path, obj)
    if updated.status != 200:
        raise flux.FluxError(f"{path}: HTTP {updated.status}")
    released = updated.body
    released["status"] = flux.helm_released(released, datetime.now(UTC), failed=False)
    answer = client.request("PUT", path + "/status", released)
    if answer.status != 200:
        raise flux.FluxError(f"{path}/status: HTTP {answer.status}")


async def follow_promote_events(
    client: flux.KubeClient, world: gitworld.GitWorld, *, interval: float = 0.3
) -> None:
    """Deploy what each ``Promote`` Event of the pipeline names, once per Event, until cancelled."""
    applied: set[str] = set()
    path = f"/apis/events.k8s.io/v1/namespaces/{world.namespace}/events"
    while True:
        try:
            listing = await asyncio.to_thread(client.request, "GET", path)
            for event in listing.body.get("items", []) if listing.status == 200 else []:
                name = event["metadata"]["name"]
                if event.get("reason") != "Promote" or name in applied:
                    continue
                notes = event["metadata"].get("annotations") or {}
                namespace = world.env_namespace(notes["environment"])
                await asyncio.to_thread(_deploy, client, namespace, notes["version"])
                applied.add(name)
        except flux.FluxError:
            pass  # the API server is down or refused: try again on the next poll
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running(
    world: gitworld.GitWorld,
    kubeconfig: Path,
    *,
    git_envs: Sequence[str],
    follow_events: bool = False,
) -> AsyncIterator[flux.LocalFlux]:
    """Run the local Flux (and the Promote-event follower) for the block."""
    applier = local_flux(world, kubeconfig, git_envs)
    tasks = [asyncio.ensure_future(applier.run())]
    if follow_events:
        client = flux.KubeClient(kubeconfig, timeout=5.0)
        tasks.append(asyncio.ensure_future(follow_promote_events(client, world)))
    try:
        yield applier
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
