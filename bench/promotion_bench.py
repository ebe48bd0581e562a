"""P4 end to end: a new revision becomes ready in dev and its signed Flux event is POSTed → the
commit for staging is on the remote branch that ``git http-backend`` serves.

Path: ``ferryman apiserver`` and ``ferryman controller`` as separate processes; the Pipeline's
``git-push`` strategy pushes over smart HTTP to ``git http-backend`` (``bench/githttp.py``), so
every promotion is a real clone/fetch, marker patch, commit and push. Each of the 100 promotions:

1. the clock starts; the dev HelmRelease's status is written: ready at ``1.0.<i>`` (one PUT, as
   helm-controller writes it);
2. the Flux event for it, signed with the pipeline's key, is POSTed to the webhook;
3. the clock stops when ``main`` of the remote repository points at a new commit (its ref is
   read from the repository every millisecond; afterwards, untimed, ``git ls-remote`` over HTTP
   must show that commit and the commit must set staging to ``1.0.<i>``);
4. untimed: staging's HelmRelease becomes ready at ``1.0.<i>`` (Flux applied it) and the
   controller settles, so every promotion starts from the same state.

Run ``.venv/bin/python -m bench.promotion_bench`` (``make bench`` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from bench import fleet, githttp, production, webhook_bench

from ferryman.domain import signatures
from ferryman.embedded.apiserver.testing import SubprocessServer

NAME = "app"
MANIFEST = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app
  namespace: {env}
spec:
  interval: 1m
  chart:
    spec:
      chart: app
      version: 1.0.0 # {{"$promotion": "default:app:{env}"}}
      sourceRef:
        kind: HelmRepository
        name: app
"""
PIPELINE_PATH = f"{fleet.PIPELINES}/{NAME}"


def pipeline(url: str) -> dict[str, Any]:
    """dev → staging, git-push to ``url``'s ``main``, webhook key in Secret ``webhook``."""
    return {
        "apiVersion": "pipelines.weave.works/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": NAME, "namespace": "default"},
        "spec": {
            "appRef": {"apiVersion": fleet.HELM, "kind": "HelmRelease", "name": NAME},
            "promotion": {
                "strategy": {
                    "git-push": {"url": url, "branch": "main"},
                    "secretRef": {"name": "webhook"},
                }
            },
            "environments": [
                {"name": "dev", "targets": [{"namespace": "dev-0"}]},
                {"name": "staging", "targets": [{"namespace": "staging-0"}]},
            ],
        },
    }


def event(revision: str) -> bytes:
    """helm-controller's event for ``app`` in ``dev-0`` at ``revision``."""
    body = json.loads(webhook_bench.flux_event(revision))
    body["involvedObject"]["name"] = NAME
    return json.dumps(body, separators=(",", ":")).encode()


async def arrange(admin: fleet.Admin, url: str) -> None:
    """CRDs, namespaces, the key, the Pipeline, dev and staging ready at 1.0.0."""
    await fleet.install(admin)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "webhook", "namespace": "default"},
        "data": {"hmac-key": base64.b64encode(webhook_bench.KEY).decode()},
    }
    await admin.call("POST", "/api/v1/namespaces/default/secrets", secret)
    for namespace in ("dev-0", "staging-0"):
        created = await admin.call(
            "POST", fleet.helm_path(namespace), fleet.helm_release(namespace, NAME)
        )
        created["status"] = fleet.helm_status(created["metadata"]["generation"], "1.0.0")
        await admin.call("PUT", fleet.helm_path(namespace, NAME) + "/status", created)
    await admin.call("POST", fleet.PIPELINES, pipeline(url))


async def phase(admin: fleet.Admin, environment: str) -> tuple[str, str]:
    """(revision, phase) of the promotion record into ``environment``."""
    obj = await admin.call("GET", PIPELINE_PATH)
    record = ((obj.get("status") or {}).get("environments") or {}).get(environment) or {}
    promotion = record.get("promotion") or {}
    return str(promotion.get("revision", "")), str(promotion.get("phase", ""))


async def wait_for(check: Any, what: str, limit: float = 60.0) -> None:
    """Poll the async ``check`` until it is true."""
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not reached in {limit:.0f}s: {what}")
        await asyncio.sleep(0.02)


async def one(
    admin: fleet.Admin, hook: httpx.AsyncClient, bare: Path, url: str, index: int
) -> float:
    """One promotion (see the module docstring); seconds from dev ready to the pushed commit."""
    revision = f"1.0.{index}"
    before = githttp.branch_head(bare)
    current = await admin.call("GET", fleet.helm_path("dev-0", NAME))
    current["status"] = fleet.helm_status(current["metadata"]["generation"], revision)
    body = event(revision)
    started = time.perf_counter()
    await admin.call("PUT", fleet.helm_path("dev-0", NAME) + "/status", current)
    answer = await hook.post(
        "/promotion/default/app/dev",
        content=body,
        headers={"X-Signature": signatures.sign(webhook_bench.KEY, body)},
    )
    while githttp.branch_head(bare) == before:  # noqa: ASYNC110 - polling a ref file
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - started
    if answer.status_code != 202:
        raise RuntimeError(f"the webhook answered {answer.status_code}")
    head = githttp.branch_head(bare)
    served = await asyncio.to_thread(githttp.git, "ls-remote", url, "refs/heads/main")
    shown = await asyncio.to_thread(githttp.git, "show", f"{head}:staging/release.yaml", cwd=bare)
    if not served.startswith(head) or f"version: {revision} " not in shown:
        raise RuntimeError(f"the pushed commit {head} does not set staging to {revision}")
    staging = await admin.call("GET", fleet.helm_path("staging-0", NAME))
    staging["status"] = fleet.helm_status(staging["metadata"]["generation"], revision)
    await admin.call("PUT", fleet.helm_path("staging-0", NAME) + "/status", staging)

    async def succeeded() -> bool:
        return await phase(admin, "staging") == (revision, "Succeeded")

    await wait_for(succeeded, f"staging runs {revision}")
    return elapsed


async def run(base: Path, count: int) -> None:
    """The 100 promotions; prints p50/p99/max."""
    root = base / "git"
    root.mkdir()
    bare = githttp.create_repository(
        root,
        "deploy.git",
        {f"{env}/release.yaml": MANIFEST.format(env=env) for env in ("dev", "staging")},
    )
    git_server = githttp.GitHttp(root)
    server = SubprocessServer(base / "api")
    admin = fleet.Admin(server.url, server.token, server.data_dir / "tls.crt")
    url = git_server.url("deploy.git")
    try:
        await arrange(admin, url)
        with production.controller(server.kubeconfig_path, "--promotion-hook-rate-limit=0") as ctl:
            await webhook_bench.settle(admin)
            print(
                "P4 path: ferryman controller (process) + ferryman apiserver (process); git-push "
                f"over smart HTTP to git http-backend ({url}); {count} promotions, one at a time",
                flush=True,
            )
            async with httpx.AsyncClient(base_url=ctl.url, timeout=30) as hook:
                times = [await one(admin, hook, bare, url, i + 1) for i in range(count)]
    finally:
        await admin.close()
        server.stop()
        git_server.stop()
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
    print(
        f"P4 dev ready + signed event -> staging commit on the remote branch: "
        f"p50 {1000 * statistics.median(ordered):.0f} ms, p99 {1000 * p99:.0f} ms, "
        f"max {1000 * ordered[-1]:.0f} ms, min {1000 * ordered[0]:.0f} ms over {len(ordered)} "
        f"promotions; {production.load_average()}",
        flush=True,
    )


def main() -> None:
    """Parse flags, print the machine, run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promotions", type=int, default=100)
    args = parser.parse_args()
    print(production.machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="ferryman-p4-") as tmp:
        asyncio.run(run(Path(tmp), args.promotions))


if __name__ == "__main__":
    main()
