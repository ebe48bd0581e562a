"""P5: Flux webhook requests per second on the production path, and what they cost the API server.

Two paths, each printed with the figures:

1. ``ferryman controller`` and ``ferryman apiserver`` as separate processes;
2. ``ferryman up`` (one process: embedded API server, controller, server).

Load: ``wrk`` (16 keep-alive connections) POSTing one Flux event signed with the pipeline's key
(valid), then the same event with a wrong signature (invalid), to
``/promotion/default/app-0/dev`` of a fleet of 10 pipelines. The promotion hook's rate limit is
off (``--promotion-hook-rate-limit 0``): one client hitting one pipeline environment would
otherwise measure the 429 path after 20 requests. The controller runs with its default log level
(``info``: one line per accepted event). API requests per webhook request come from the API
server's own ``apiserver_request_total`` read before and after each run (watches excluded: one
long request each); the reconciles the valid events trigger are included.

Run ``.venv/bin/python -m bench.webhook_bench`` (``make bench`` runs it); not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench import fleet, production

from ferryman.domain import signatures
from ferryman.embedded.apiserver.testing import SubprocessServer

KEY = b"bench-webhook-hmac-key-0123456789"
PIPELINES = 10
HOOK = "/promotion/default/app-0/dev"


def flux_event(revision: str = "1.0.0") -> bytes:
    """What helm-controller's notification posts for app-0 in dev-0 (generic-hmac provider)."""
    return json.dumps(
        {
            "involvedObject": {
                "kind": "HelmRelease",
                "namespace": "dev-0",
                "name": "app-0",
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "uid": "7d2f0c1e",
            },
            "severity": "info",
            "timestamp": "2026-12-01T12:00:00Z",
            "message": f"Helm upgrade succeeded for release dev-0/app-0 with chart app@{revision}",
            "reason": "UpgradeSucceeded",
            "metadata": {"revision": revision},
            "reportingController": "helm-controller",
            "reportingInstance": "helm-controller-5c4d9f7b8-x2x7q",
        },
        separators=(",", ":"),
    ).encode()


async def arrange(admin: fleet.Admin) -> None:
    """CRDs, namespaces, 10 ready pipelines; app-0's key in Secret ``default/webhook``."""
    await fleet.install(admin)
    await fleet.populate(admin, 0, PIPELINES)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "webhook", "namespace": "default"},
        "data": {"hmac-key": base64.b64encode(KEY).decode()},
    }
    await admin.call("POST", "/api/v1/namespaces/default/secrets", secret, ok=409)
    obj = await admin.call("GET", f"{fleet.PIPELINES}/app-0")
    obj["spec"]["promotion"]["strategy"]["secretRef"] = {"name": "webhook"}
    await admin.call("PUT", f"{fleet.PIPELINES}/app-0", obj)


async def settle(admin: fleet.Admin, quiet: float = 1.5, limit: float = 120.0) -> None:
    """Wait until the API server has answered no write for ``quiet`` seconds."""
    deadline = time.monotonic() + limit
    last = -1
    since = time.monotonic()
    while time.monotonic() < deadline:
        counts = production.resource_requests(
            production.Counter(), await production.api_requests(admin)
        )
        writes = sum(n for key, n in counts.items() if key.split()[0] in ("PUT", "POST", "PATCH"))
        if writes != last:
            last, since = writes, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the controller did not settle")


def post(url: str, body: bytes, signature: str) -> int:
    """One POST; its status code."""
    request = urllib.request.Request(  # noqa: S310 - our own loopback child
        url, data=body, method="POST", headers={"X-Signature": signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


async def measure(admin: fleet.Admin, url: str, path: str, seconds: int) -> None:
    """Warm the caches, then wrk with a valid and an invalid signature; print both."""
    body = flux_event()
    valid = signatures.sign(KEY, body)
    invalid = signatures.sign(b"not-the-key", body)
    if (post(url + HOOK, body, valid), post(url + HOOK, body, invalid)) != (202, 401):
        raise RuntimeError("the webhook does not answer 202 and 401 as expected")
    await settle(admin)
    print(f"P5 path: {path}", flush=True)
    for name, signature, status in (("valid", valid, 202), ("invalid", invalid, 401)):
        before = await production.api_requests(admin)
        result = await asyncio.to_thread(
            production.wrk,
            url + HOOK,
            method="POST",
            body=body.decode(),
            headers={"Content-Type": "application/json", "X-Signature": signature},
            seconds=seconds,
        )
        await settle(admin)
        after = await production.api_requests(admin)
        calls = production.resource_requests(before, after)
        total = sum(calls.values())
        wrong = result.requests - result.non_2xx if status != 202 else result.non_2xx
        print(
            f"P5 {name} ({status}): {result.per_second:,.0f} req/s, {result.requests:,} requests "
            f"in {result.seconds:.1f} s, wrong status {wrong}, socket errors {result.errors}, "
            f"latency p50 {result.latency_p50_ms:.2f} ms p99 {result.latency_p99_ms:.2f} ms; "
            f"API requests {total} ({total / max(result.requests, 1):.5f} per webhook request)"
            f"{' ' + json.dumps(calls) if calls else ''}; {production.load_average()}",
            flush=True,
        )


async def controller_path(base: Path, seconds: int) -> None:
    """Path 1: ``ferryman controller`` + ``ferryman apiserver``, two processes."""
    server = SubprocessServer(base / "api")
    admin = fleet.Admin(server.url, server.token, server.data_dir / "tls.crt")
    try:
        await arrange(admin)
        with production.controller(
            server.kubeconfig_path, "--promotion-hook-rate-limit=0"
        ) as running:
            await settle(admin)
            await measure(
                admin,
                running.url,
                "ferryman controller (process, log level info) + ferryman apiserver (process); "
                f"rate limit off (--promotion-hook-rate-limit 0); wrk -t2 -c16 -d{seconds}s",
                seconds,
            )
    finally:
        await admin.close()
        server.stop()


async def up_path(base: Path, seconds: int) -> None:
    """Path 2: ``ferryman up``, one process."""
    with production.up(base / "up", "--promotion-hook-rate-limit", "0") as running:
        admin = production.admin_of(running.kubeconfig, running.state)
        try:
            await arrange(admin)
            await settle(admin)
            await measure(
                admin,
                running.url,
                "ferryman up --no-demo (one process: embedded API server, controller, server; "
                f"log level warning); rate limit off; wrk -t2 -c16 -d{seconds}s",
                seconds,
            )
        finally:
            await admin.close()


async def main_run(args: argparse.Namespace) -> None:
    """Both paths, in a fresh directory each."""
    with tempfile.TemporaryDirectory(prefix="ferryman-p5-") as tmp:
        if args.path in ("controller", "both"):
            await controller_path(Path(tmp), args.seconds)
        if args.path in ("up", "both"):
            await up_path(Path(tmp), args.seconds)


def main() -> None:
    """Parse flags, print the machine, run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--path", choices=("controller", "up", "both"), default="both")
    args = parser.parse_args()
    print(production.machine(), flush=True)
    asyncio.run(main_run(args))


if __name__ == "__main__":
    main()
