"""P1 on the production path: ``ferryman controller`` (a process) starts on a fleet without status
and writes every Pipeline's status; the floor is a bare loop of the same number of status PUTs
against the same ``ferryman apiserver``, measured in the same run.

- Cold convergence: from launching ``ferryman controller --namespace default`` to the moment the
  API server has answered the fleet's status writes (its ``apiserver_request_total`` for
  ``PUT pipelines/status``, read every 50 ms). Also reported: launch → first API request (the
  interpreter starting and importing), and first API request → last status write. Afterwards the
  controller must stay quiet: exactly one status write per Pipeline.
- Floor: a copy of the fleet in namespace ``floor`` (not watched by the controller) gets, in one
  sequential loop over one keep-alive HTTPS connection (a Python client, as the controller is),
  the very statuses the controller wrote, one PUT each.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from bench import fleet, production

FLOOR = "/apis/pipelines.weave.works/v1alpha1/namespaces/floor/pipelines"
POLL = 0.05
QUIET = 2.0


async def create_floor(admin: fleet.Admin, size: int) -> None:
    """Pipelines ``floor/app-<i>`` (same spec, never reconciled: the controller watches
    ``default`` only)."""
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "floor"}}
    await admin.call("POST", "/api/v1/namespaces", body, ok=409)

    def job(index: int) -> Any:
        async def create() -> None:
            obj = fleet.pipeline(index)
            obj["metadata"]["namespace"] = "floor"
            await admin.call("POST", FLOOR, obj, ok=409)

        return create

    await fleet.gather_limited(job(i) for i in range(size))


def _status_writes(counts: Counter[production.Labels]) -> int:
    return sum(
        value
        for labels, value in counts.items()
        if dict(labels)["resource"] == "pipelines"
        and dict(labels)["subresource"] == "status"
        and dict(labels)["verb"] in ("PUT", "PATCH")
        and dict(labels)["code"] == "200"
    )


def _any_request(counts: Counter[production.Labels]) -> int:
    return sum(v for labels, v in counts.items() if dict(labels)["resource"])


async def cold(admin: fleet.Admin, kubeconfig: str, size: int) -> dict[str, float]:
    """The controller process's cold convergence on ``size`` Pipelines (see the docstring)."""
    before = await production.api_requests(admin)
    writes0, requests0 = _status_writes(before), _any_request(before)
    command = [
        sys.executable,
        "-m",
        "ferryman",
        "controller",
        "--kubeconfig",
        kubeconfig,
        "--namespace",
        "default",
        "--log-level",
        "warning",
        f"--http-addr=127.0.0.1:{production.free_port()}",
        f"--health-addr=127.0.0.1:{production.free_port()}",
        f"--metrics-addr=127.0.0.1:{production.free_port()}",
    ]
    launched = time.perf_counter()
    # Blocking, once: the clock starts at the launch.
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    first = last = 0.0
    try:
        while True:
            counts = await production.api_requests(admin)
            now = time.perf_counter()
            if not first and _any_request(counts) > requests0 + 1:  # +1: this poll itself
                first = now
            if _status_writes(counts) - writes0 >= size:
                last = now
                break
            if child.poll() is not None or now - launched > 600:
                raise RuntimeError("the controller did not converge")
            await asyncio.sleep(POLL)
        await asyncio.sleep(QUIET)
        after = await production.api_requests(admin)
    finally:
        child.terminate()
        child.wait(timeout=30)
    calls = production.resource_requests(before, after)
    return {
        "pipelines": size,
        "seconds": last - launched,
        "startup_seconds": (first or last) - launched,
        "from_first_request_seconds": last - (first or launched),
        "status_writes": _status_writes(after) - writes0,
        "gets": sum(n for k, n in calls.items() if k.startswith("GET ")),
        "lists": sum(n for k, n in calls.items() if k.startswith("LIST ")),
        "events": sum(n for k, n in calls.items() if k.startswith("POST events")),
    }


async def floor(admin: fleet.Admin, size: int) -> dict[str, float]:
    """The bare loop: ``size`` sequential status PUTs of the statuses the controller wrote."""
    written = {
        obj["metadata"]["name"]: obj["status"]
        for obj in (await admin.call("GET", fleet.PIPELINES))["items"]
    }
    targets = (await admin.call("GET", FLOOR))["items"]
    bodies = []
    for obj in targets[:size]:
        obj["status"] = written[obj["metadata"]["name"]]
        bodies.append((f"{FLOOR}/{obj['metadata']['name']}/status", obj))
    started = time.perf_counter()
    for path, body in bodies:
        await admin.call("PUT", path, body)
    seconds = time.perf_counter() - started
    return {"puts": len(bodies), "seconds": seconds, "per_second": len(bodies) / seconds}
