"""Benchmark the embedded API server: reads/s, status writes/s, watch latency, memory.

Runs the server as a subprocess (``ferryman apiserver``, TLS as kubectl uses it). The headline
figure is GETs per second of one Pipeline over ONE keep-alive HTTPS connection (HTTP/1.1, as
lightkube uses it), loaded by ``wrk -t1 -c1`` (a C client, so the figure is the server's); the
other lines drive it from Python client threads (``http.client``) with 1 and 8 connections, and
are a lower bound (client and server share the machine's cores). Not part of ``make test``; run
``.venv/bin/python -m bench.apiserver_bench``.
"""

from __future__ import annotations

import http.client
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from bench import production

from ferryman.embedded.apiserver.testing import SubprocessServer

CRD = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "crds"
PIPELINES = "/apis/pipelines.weave.works/v1alpha1/namespaces/default/pipelines"


class Client:
    """One keep-alive HTTPS connection."""

    def __init__(self, server: SubprocessServer) -> None:
        url = urlparse(server.url)
        self.conn = http.client.HTTPSConnection(
            url.hostname or "127.0.0.1", url.port, context=server.ssl_context()
        )
        self.headers = {"Authorization": f"Bearer {server.token}", "Accept": "application/json"}

    def call(
        self, method: str, path: str, body: Any = None, ctype: str = "application/json"
    ) -> Any:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = ctype
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
        return json.loads(payload)


def pipeline(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "pipelines.weave.works/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "appRef": {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "name": name,
            },
            "environments": [{"name": "dev", "targets": [{"namespace": "dev"}]}],
        },
    }


def rate(server: SubprocessServer, clients: int, seconds: float, op: str) -> float:
    """Operations per second of ``op`` ("get" or "status") with ``clients`` threads."""
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def work(i: int) -> None:
        c = Client(server)
        n = 0
        while time.monotonic() < stop:
            if op == "get":
                c.call("GET", f"{PIPELINES}/p{i}")
            else:
                c.call(
                    "PATCH",
                    f"{PIPELINES}/p{i}/status",
                    {"status": {"observedGeneration": n}},
                    "application/merge-patch+json",
                )
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def watch_latency(
    server: SubprocessServer, writes_per_second: int, seconds: float, writers: int
) -> tuple[float, float]:
    """p50/p99 ms from a status write to its watch event, at a paced write rate."""
    url = urlparse(server.url)
    conn = http.client.HTTPSConnection(
        url.hostname or "127.0.0.1", url.port, context=server.ssl_context()
    )
    start_rv = Client(server).call("GET", PIPELINES)["metadata"]["resourceVersion"]
    conn.request(
        "GET",
        f"{PIPELINES}?watch=true&resourceVersion={start_rv}&timeoutSeconds={seconds + 1:.0f}",
        headers={"Authorization": f"Bearer {server.token}"},
    )
    response = conn.getresponse()
    latencies: list[float] = []

    def read() -> None:
        while True:
            line = response.readline()
            if not line:
                return
            event = json.loads(line)
            conditions = (event["object"].get("status") or {}).get("conditions") or [{}]
            sent = conditions[0].get("message")
            if sent:
                latencies.append((time.time() - float(sent)) * 1000)

    reader = threading.Thread(target=read)
    reader.start()

    def write(i: int) -> None:
        c = Client(server)
        interval = writers / writes_per_second
        next_at = time.monotonic()
        stop = next_at + seconds
        while next_at < stop:
            c.call(
                "PATCH",
                f"{PIPELINES}/p{i}/status",
                _stamped(time.time()),
                "application/merge-patch+json",
            )
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader.join()  # the server ends the stream at timeoutSeconds
    conn.close()
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]


def _stamped(now: float) -> dict[str, Any]:
    """A schema-valid status carrying the send time (unknown fields would be pruned)."""
    condition = {
        "type": "Ready",
        "status": "True",
        "reason": "Bench",
        "message": repr(now),
        "lastTransitionTime": "2024-01-01T00:00:00Z",
    }
    return {"status": {"conditions": [condition]}}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    print(production.machine(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = SubprocessServer(Path(tmp) / "api")
        try:
            c = Client(server)
            crd = yaml.safe_load(
                (CRD / "original-pipelines.weave.works_pipelines.yaml").read_text()
            )
            c.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            for i in range(8):
                c.call("POST", PIPELINES, pipeline(f"p{i}"))
            print(
                "API GET/s path: ferryman apiserver (process, HTTPS), GET of one Pipeline over one "
                "keep-alive HTTP/1.1 connection, wrk -t1 -c1 -d10s",
                flush=True,
            )
            for _ in range(2):
                result = production.wrk(
                    f"{server.url}{PIPELINES}/p0",
                    connections=1,
                    threads=1,
                    headers={"Authorization": f"Bearer {server.token}"},
                )
                print(
                    f"API GETs/s over one connection (wrk): {result.per_second:,.0f} "
                    f"({result.requests:,} in {result.seconds:.1f} s, non-2xx {result.non_2xx}, "
                    f"p50 {result.latency_p50_ms:.2f} ms, p99 {result.latency_p99_ms:.2f} ms); "
                    f"{production.load_average()}",
                    flush=True,
                )
            print("Python http.client lines (client threads in the benchmark process):")
            for clients in (1, 8):
                gets, writes = rate(server, clients, 3, "get"), rate(server, clients, 3, "status")
                print(f"GETs/s          {clients} client(s): {gets:8.0f}")
                print(f"status writes/s {clients} client(s): {writes:8.0f}")
            for writers in (1, 8):
                p50, p99 = watch_latency(server, 500, 3, writers)
                label = f"watch latency, 500 writes/s, {writers} writer(s)"
                print(f"{label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
            print(f"RSS before bulk load: {rss_mib(server.pid):.1f} MiB")
            c = Client(server)  # the first connection idled past the keep-alive timeout
            for i in range(10_000):
                c.call(
                    "POST",
                    "/api/v1/namespaces/default/configmaps",
                    {"metadata": {"name": f"cm-{i}"}, "data": {"k": "v" * 200}},
                )
            c.call("GET", "/api/v1/namespaces/default/configmaps?limit=500")
            print(f"RSS with 10,000 more objects: {rss_mib(server.pid):.1f} MiB")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
