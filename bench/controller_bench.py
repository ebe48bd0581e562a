"""Controller benchmarks against the real embedded API server (a subprocess, so its CPU and
memory are its own): cold convergence (P1) and its scale sweep (P1b), resync on converged state
(P2), app change → status write latency (P3), a conflict storm (P7) and memory (P9).

Run ``make bench`` (or ``.venv/bin/python -m bench.controller_bench``); ``--pipelines``,
``--sweep`` and ``--only`` narrow it. Every figure is measured in the run that prints it;
docs/performance.md records a run and what each goal means. Not part of ``make test``.

Each figure prints the path it measured. P1 and P9 run the ``ferryman controller`` command as a
child process (``bench/convergence.py``: P1 against a floor of bare status PUTs measured in the
same run); P1b, P2, P3 and P7 run the production controller (``process.build_controller``) in
this process, where its counters and checkpoints can be read — always against ``ferryman
apiserver`` as a child process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench import convergence, fleet, production

from ferryman.bootstrap import process
from ferryman.embedded.apiserver.testing import SubprocessServer
from ferryman.settings import Settings

P3_CHANGES = 200
P7_CHANGES = 300
P7_CONFLICT_RATE = 0.3
QUIET = 1.5  # seconds without a reconcile that count as "converged"
SWEEP_LIMIT = 180.0  # seconds a sweep point may take to converge before it is reported partial


@dataclass
class Cluster:
    """An embedded API server subprocess and an admin client for arranging the fleet."""

    server: SubprocessServer
    admin: fleet.Admin
    size: int = 0


@contextlib.asynccontextmanager
async def cluster(directory: Path) -> AsyncIterator[Cluster]:
    """A fresh server with the CRDs and target namespaces installed."""
    server = SubprocessServer(directory)
    admin = fleet.Admin(server.url, server.token, server.data_dir / "tls.crt")
    try:
        await fleet.install(admin)
        yield Cluster(server, admin)
    finally:
        await admin.close()
        server.stop()


async def grow(target: Cluster, size: int) -> float:
    """Add pipelines until the fleet has ``size``; returns the seconds it took."""
    started = time.perf_counter()
    await fleet.populate(target.admin, target.size, size)
    target.size = size
    return time.perf_counter() - started


@dataclass
class Probe:
    """Timestamps of the controller's status writes (through the reconciler's checkpoints)."""

    writes: list[float] = field(default_factory=list)
    wrote: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, label: str) -> None:
        if label in ("after-status-write", "after-result-write"):
            self.writes.append(time.perf_counter())
            self.wrote.set()


def controller_for(target: Cluster, identity: str, probe: Probe) -> process.Controller:
    """The production controller wired against ``target`` (4 workers, no leader election),
    watching namespace ``default`` only — as P1's ``ferryman controller --namespace default``:
    P1's floor keeps a copy of the fleet in namespace ``floor`` that reads the same HelmReleases,
    which would otherwise double every figure that counts passes or writes."""
    settings = Settings(
        kubeconfig=str(target.server.kubeconfig_path), identity=identity, namespaces=("default",)
    )
    return process.build_controller(settings, checkpoint=probe)


async def settle(controller: process.Controller, done: Callable[[], bool], *, limit: float) -> bool:
    """Wait until ``done()`` holds and no reconcile ran for ``QUIET`` seconds (False: timed out)."""
    deadline = time.perf_counter() + limit
    counters = controller.reconciler.counters
    last, quiet_since = counters.passes, time.perf_counter()
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        if counters.passes != last:
            last, quiet_since = counters.passes, time.perf_counter()
        elif done() and time.perf_counter() - quiet_since >= QUIET:
            return True
    return False


async def cold_convergence(target: Cluster, identity: str, *, limit: float) -> dict[str, float]:
    """P1: a controller starts on ``target.size`` pipelines without status and writes them all."""
    probe = Probe()
    started = time.perf_counter()
    controller = controller_for(target, identity, probe)
    await controller.start()
    counters = controller.reconciler.counters
    try:
        converged = await settle(
            controller, lambda: counters.status_writes >= target.size, limit=limit
        )
    finally:
        await controller.stop()
    last_write = probe.writes[-1] if probe.writes else started
    return {
        "pipelines": target.size,
        "converged": float(converged),
        "seconds": last_write - started,
        "status_writes": counters.status_writes,
        "passes": counters.passes,
        "events": counters.events,
        "conflicts": counters.conflicts,
    }


async def resync(target: Cluster) -> dict[str, float]:
    """P2: a new controller on converged state reads everything and writes nothing."""
    probe = Probe()
    started = time.perf_counter()
    controller = controller_for(target, "p2-resync", probe)
    await controller.start()
    counters = controller.reconciler.counters
    try:
        await settle(controller, lambda: counters.passes >= target.size, limit=300)
    finally:
        await controller.stop()
    return {
        "seconds": time.perf_counter() - started - QUIET,
        "passes": counters.passes,
        "status_writes": counters.status_writes,
        "events": counters.events,
    }


async def change_latency(target: Cluster) -> dict[str, float]:
    """P3: a HelmRelease's readiness changes → the Pipeline's status write, one change at a time."""
    probe = Probe()
    controller = controller_for(target, "p3-latency", probe)
    await controller.start()
    counters = controller.reconciler.counters
    latencies: list[float] = []
    ready: dict[int, bool] = {}
    missed = 0
    try:
        await settle(controller, lambda: counters.passes >= target.size, limit=300)
        for i in range(P3_CHANGES):
            index = (i * 7) % target.size
            ready[index] = not ready.get(index, True)
            seen = len(probe.writes)
            probe.wrote.clear()
            changed = time.perf_counter()
            await target.admin.set_helm_status("dev-0", f"app-{index}", "1.0.0", ready=ready[index])
            try:
                await asyncio.wait_for(probe.wrote.wait(), 10)
            except TimeoutError:
                missed += 1
                continue
            latencies.append(probe.writes[seen] - changed)
    finally:
        await controller.stop()
    ordered = sorted(latencies)
    return {
        "changes": len(latencies),
        "missed": missed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
        "max_ms": 1000 * ordered[-1],
    }


async def conflict_storm(
    target: Cluster, *, namespace: str = "dev-1", rate: float = P7_CONFLICT_RATE, seed: int = 7
) -> dict[str, float]:
    """P7: bursts of readiness flips of one target while ``rate`` of status writes answer 409.

    Lost updates: Pipelines whose final status disagrees with the final app objects.
    Writes per change: successful status writes / app changes (coalescing may make it < 1).
    Flipping a ``dev`` target measures the write path alone; a ``staging`` target also shows
    what the promotion engine does when an environment stops running a revision ready.
    """
    environment = namespace.split("-")[0]
    rng = random.Random(seed)
    probe = Probe()
    controller = controller_for(target, "p7-storm", probe)
    await controller.start()
    counters = controller.reconciler.counters
    pool = list(range(min(target.size, 100)))
    ready: dict[int, bool] = {}
    try:
        await settle(controller, lambda: counters.passes >= target.size, limit=300)
        writes_before, conflicts_before = counters.status_writes, counters.conflicts
        for burst in range(P7_CHANGES // 10):
            jobs = []
            for index in rng.sample(pool, 10):
                ready[index] = not ready.get(index, True)
                if rng.random() < rate:
                    target.server.add_fault(
                        verb="PUT", path_regex=f"/pipelines/app-{index}/status$", code=409
                    )
                jobs.append(
                    target.admin.set_helm_status(
                        namespace, f"app-{index}", "1.0.0", ready=ready[index]
                    )
                )
            await asyncio.gather(*jobs)
            await asyncio.sleep(0.05 if burst % 3 else 0.3)
        await settle(controller, lambda: True, limit=120)
        target.server.clear_faults()
        writes = counters.status_writes - writes_before
        conflicts = counters.conflicts - conflicts_before
    finally:
        await controller.stop()
    lost = 0
    for index, expected in ready.items():
        obj = await target.admin.call("GET", f"{fleet.PIPELINES}/app-{index}")
        targets = obj["status"]["environments"][environment]["targets"]
        if bool(targets[int(namespace[-1])]["ready"]) is not expected:
            lost += 1
    return {
        "changes": P7_CHANGES,
        "conflicts": conflicts,
        "events": counters.events,
        "status_writes": writes,
        "writes_per_change": writes / P7_CHANGES,
        "lost_updates": lost,
    }


# ------------------------------------------------------------------------------- P9: memory


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_mib(pid: int, field_name: str = "VmRSS") -> float:
    """A process's resident (``VmRSS``) or peak resident (``VmHWM``) memory in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field_name} for pid {pid}")


def _metric(port: int, name: str) -> float:
    url = f"http://127.0.0.1:{port}/metrics/"
    with urllib.request.urlopen(url, timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


@contextlib.contextmanager
def controller_process(target: Cluster) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``ferryman controller`` as a child process; yields (process, health port) once ready."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "ferryman",
        "controller",
        "--kubeconfig",
        str(target.server.kubeconfig_path),
        f"--health-addr=127.0.0.1:{port}",
        "--log-level=warning",
        "--namespace=default",  # not P1's floor copies (see controller_for)
    ]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError("ferryman controller did not become ready") from None
                time.sleep(0.1)
        yield child, port
    finally:
        child.terminate()
        child.wait(timeout=30)


def memory(target: Cluster) -> dict[str, float]:
    """P9: RSS of the controller process once it has reconciled every Pipeline and gone quiet."""
    with controller_process(target) as (child, port):
        count = "ferryman_reconcile_duration_seconds_count"
        last, quiet_since = -1.0, time.monotonic()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            time.sleep(0.25)
            done = _metric(port, count)
            if done != last:
                last, quiet_since = done, time.monotonic()
            elif done >= target.size and time.monotonic() - quiet_since > 2:
                break
        return {
            "pipelines": target.size,
            "reconciles": last,
            "rss_mib": rss_mib(child.pid),
            "peak_rss_mib": rss_mib(child.pid, "VmHWM"),
        }


_PARSE_COPIES = """
import json, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
text = sys.stdin.read()
count = int(sys.argv[1])
before = rss()
cache = [json.loads(text) for _ in range(count)]
print(rss() - before)
"""


async def cache_estimate(target: Cluster) -> dict[str, float]:
    """P9, explained: RSS that 9·N HelmReleases as served (untrimmed) take as parsed dicts —
    measured in a fresh interpreter, so no freed memory of this process is reused."""
    served = await target.admin.call("GET", fleet.helm_path("dev-0", "app-0"))
    text = json.dumps(served)
    count = 9 * target.size
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _PARSE_COPIES, str(count)],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return {"objects": count, "json_bytes_each": len(text), "rss_mib": float(result.stdout)}


# ------------------------------------------------------------------------------------ runner


def show(name: str, figures: dict[str, float]) -> None:
    """Print one result line."""
    parts = [
        f"{key}={value:.2f}"
        if isinstance(value, float) and not value.is_integer()
        else f"{key}={int(value)}"
        for key, value in figures.items()
    ]
    print(f"{name}: " + " ".join(parts), flush=True)


async def main_run(args: argparse.Namespace, base: Path) -> None:
    """Idle memory, then P1, P3, P2, P9 and P7 on one fleet of ``args.pipelines``."""
    only = set(args.only.split(",")) if args.only else None

    def wanted(name: str) -> bool:
        return only is None or name in only

    if only is not None and not only - {"sweep"}:
        await sweep(args, base, {})
        return
    async with cluster(base / "main") as target:
        if wanted("p9"):
            show("P9 idle", memory(target))
        seconds = await grow(target, args.pipelines)
        print(
            f"setup: {args.pipelines} pipelines, {9 * args.pipelines} HelmReleases in "
            f"{seconds:.1f}s",
            flush=True,
        )
        if wanted("p1") or wanted("p2") or wanted("p3") or wanted("p7"):
            await convergence.create_floor(target.admin, args.pipelines)
            print(
                "P1 path: ferryman controller --namespace default (process) + ferryman apiserver "
                "(process); floor: sequential status PUTs over one keep-alive HTTPS connection "
                f"(Python client) to the same API server; {production.load_average()}",
                flush=True,
            )
            kubeconfig = str(target.server.kubeconfig_path)
            p1 = await convergence.cold(target.admin, kubeconfig, args.pipelines)
            show("P1 cold convergence (ferryman controller process)", p1)
            floor = await convergence.floor(target.admin, args.pipelines)
            show("P1 floor (bare loop of status PUTs)", floor)
            print(
                f"P1 ratio to the floor: {p1['seconds'] / floor['seconds']:.2f} from launch, "
                f"{p1['from_first_request_seconds'] / floor['seconds']:.2f} from the first "
                f"API request; {production.load_average()}",
                flush=True,
            )
        in_process = "controller in the benchmark process, ferryman apiserver process"
        if wanted("p3"):
            show(f"P3 change->status write ({in_process})", await change_latency(target))
        if wanted("p2"):
            show(f"P2 resync ({in_process})", await resync(target))
        if wanted("p9"):
            show("P9 loaded", memory(target))
            show("P9 app-object cache estimate", await cache_estimate(target))
        if wanted("p7"):
            show(
                f"P7 conflict storm (dev targets, 30% 409; {in_process})",
                await conflict_storm(target),
            )
            show(
                f"P7b staging readiness flips (no 409; {in_process})",
                await conflict_storm(target, namespace="staging-1", rate=0.0),
            )
    if args.sweep:
        await sweep(args, base, {})


async def sweep(args: argparse.Namespace, base: Path, known: dict[str, float]) -> None:
    """P1b: cold convergence at several fleet sizes; cost per pipeline should stay flat."""
    results: list[dict[str, float]] = []
    for size in (int(n) for n in args.sweep.split(",")):
        if known and int(known["pipelines"]) == size:
            results.append(known)
            continue
        async with cluster(base / f"sweep-{size}") as target:
            seconds = await grow(target, size)
            print(f"setup: {size} pipelines in {seconds:.1f}s", flush=True)
            results.append(await cold_convergence(target, f"p1b-{size}", limit=SWEEP_LIMIT))
    print("P1b path: controller in the benchmark process, ferryman apiserver process", flush=True)
    first = results[0]
    for figures in results:
        per = 1000 * figures["seconds"] / max(figures["status_writes"], 1)
        base_per = 1000 * first["seconds"] / max(first["status_writes"], 1)
        show(
            f"P1b N={int(figures['pipelines'])}",
            {**figures, "ms_per_pipeline": per, "ratio_to_smallest": per / base_per},
        )


def main() -> None:
    """Parse flags, print the machine, run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=1000)
    parser.add_argument("--sweep", default="100,1000,5000", help="P1b sizes ('' to skip)")
    parser.add_argument(
        "--only", default="", help="comma-separated subset of p1,p2,p3,p7,p9 (or 'sweep' alone)"
    )
    args = parser.parse_args()
    print(production.machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="ferryman-bench-") as tmp:
        asyncio.run(main_run(args, Path(tmp)))


if __name__ == "__main__":
    main()
