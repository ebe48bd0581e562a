"""Benchmark the Flux event receiver: P4 event → promotion latency, P5 webhook throughput.

P4 (in-process, fakes): a signed event for dev arrives, the receiver enqueues the pipeline, the
reconciler runs and emits the Promote action for staging; p50/p99 over fresh worlds.

P5 (real sockets): the app over the fakes, served by uvicorn on 127.0.0.1 in a child process,
driven by an httpx client with 16 keep-alive connections, for valid and invalid signatures; the
ratio to a bare HMAC + JSON-parse loop in this process says how much the HTTP stack costs.

Not part of ``make test``; run ``PYTHONPATH=. .venv/bin/python bench/webhook_bench.py``. Client
and server share the machine's cores, so throughput is a lower bound.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

import httpx
import uvicorn
from tests.unit.server import harness

from ferryman.domain import signatures

URL = "/promotion/default/podinfo/dev"
CONNECTIONS = 16


async def p4(rounds: int = 200) -> tuple[float, float]:
    """p50/p99 milliseconds from a signed event to the Promote action."""
    samples = []
    body = harness.flux_event()
    headers = {"x-signature": signatures.sign(harness.KEY, body)}
    for _ in range(rounds):
        h = harness.Harness()
        h.world.release("6.1.0")
        rec = h.world.reconciler("bench")
        start = time.perf_counter()
        reply = await h.call("POST", URL, headers=headers, body=body)
        assert reply.status == 202
        for namespace, name in h.trigger.enqueued:
            await rec.reconcile(namespace, name)
        elapsed = time.perf_counter() - start
        assert h.world.promote_events() == {("staging", "6.1.0"): 1}
        samples.append(elapsed * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def _serve(port: int) -> None:
    h = harness.Harness()
    uvicorn.run(
        h.app, host="127.0.0.1", port=port, log_level="error", access_log=False, http="httptools"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _throughput(
    base: str, headers: dict[str, str], body: bytes, total: int, pid: int
) -> tuple[float, float]:
    """(requests/s seen by the client, requests per server CPU second)."""
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        per_worker = total // CONNECTIONS

        async def worker() -> None:
            for _ in range(per_worker):
                response = await client.post(URL, content=body, headers=headers)
                assert response.status_code in {202, 401}

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))  # warm the connections
        cpu = _cpu_seconds(pid)
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        done = per_worker * CONNECTIONS
        return done / (time.perf_counter() - start), done / (_cpu_seconds(pid) - cpu)


def bare_loop(body: bytes, seconds: float = 2.0) -> float:
    """HMAC + JSON parse per second, no HTTP."""
    count = 0
    digest = hmac.new(harness.KEY, body, hashlib.sha256).digest()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            hmac.compare_digest(hmac.new(harness.KEY, body, hashlib.sha256).digest(), digest)
            json.loads(body)
        count += 100
    return count / seconds


async def p5(total: int = 8000) -> dict[str, float]:
    """Requests/s for valid and invalid signatures, and the bare loop's rate."""
    port = _free_port()
    child = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,), daemon=True)
    child.start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(200):
                try:
                    await probe.get(base + "/", timeout=1)
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
        body = harness.flux_event()
        valid = {"x-signature": signatures.sign(harness.KEY, body)}
        invalid = {"x-signature": "sha256=" + "00" * 32}
        assert child.pid is not None
        valid_rate, valid_cpu = await _throughput(base, valid, body, total, child.pid)
        invalid_rate, invalid_cpu = await _throughput(base, invalid, body, total, child.pid)
        return {
            "valid": valid_rate,
            "valid-cpu": valid_cpu,
            "invalid": invalid_rate,
            "invalid-cpu": invalid_cpu,
            "bare": bare_loop(body),
        }
    finally:
        child.terminate()
        child.join()


def wrk_rates(seconds: int = 5) -> dict[str, float]:
    """Requests/s from ``wrk`` (a C load generator, so the client barely competes for the cores)
    with 16 connections, for a valid and an invalid signature; empty when wrk is not installed."""
    if shutil.which("wrk") is None:
        return {}
    port = _free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,), daemon=True)
    server.start()
    rates: dict[str, float] = {}
    try:
        for _ in range(200):  # until it listens
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        body = harness.flux_event()
        good = signatures.sign(harness.KEY, body)
        for kind, signature in (("valid", good), ("invalid", "sha256=" + "0" * 64)):
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                script.write(
                    f'wrk.method = "POST"\nwrk.body = {json.dumps(body.decode())}\n'
                    'wrk.headers["Content-Type"] = "application/json"\n'
                    f'wrk.headers["X-Signature"] = "{signature}"\n'
                )
            out = subprocess.run(
                [
                    "wrk",
                    "-t1",
                    f"-c{CONNECTIONS}",
                    f"-d{seconds}s",
                    "-s",
                    script.name,
                    f"http://127.0.0.1:{port}{URL}",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            os.unlink(script.name)
            rates[kind] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    finally:
        server.terminate()
        server.join()
    return rates


def main() -> None:
    """Print the figures."""
    p50, p99 = asyncio.run(p4())
    print(
        f"P4 signed event -> Promote action (in-process, fakes): p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )
    rates = asyncio.run(p5())
    for kind in ("valid", "invalid"):
        print(
            f"P5 {kind} signature, {CONNECTIONS} keep-alive connections: {rates[kind]:,.0f} req/s"
            f" ({rates[kind] / rates['bare'] * 100:.1f}% of the bare loop);"
            f" server alone: {rates[kind + '-cpu']:,.0f} req per CPU second"
        )
    print(f"P5 bare HMAC + JSON parse loop: {rates['bare']:,.0f} /s")
    for kind, rate in wrk_rates().items():
        print(f"P5 {kind} signature, wrk with {CONNECTIONS} connections: {rate:,.0f} req/s")


if __name__ == "__main__":
    main()
