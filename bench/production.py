"""The production path for benchmarks: ``ferryman apiserver``, ``ferryman controller`` and
``ferryman up`` as child processes, ``wrk`` as the load, and the API server's own count of the
requests it answered (``apiserver_request_total`` on its ``/metrics``).

Nothing here imports a test module; the API server is started with
``ferryman.embedded.apiserver.testing.SubprocessServer`` (a child process) and driven with plain
JSON over HTTPS (``fleet.Admin``).
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from bench import fleet

ROOT = Path(__file__).resolve().parents[1]
_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
Labels = tuple[tuple[str, str], ...]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def machine() -> str:
    """The machine, the load, the time and the commit a figure was measured at."""
    load = os.getloadavg()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (
        f"machine: {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, commit {commit}{'+dirty' if dirty else ''}, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def load_average() -> str:
    """The 1-minute load average now, for the line of each figure."""
    return f"load {os.getloadavg()[0]:.2f}"


# ------------------------------------------------------------------------ API request counts


async def api_requests(admin: fleet.Admin) -> Counter[Labels]:
    """Every ``apiserver_request_total`` sample of the API server, by its labels."""
    response = await admin.http.get("/metrics")
    response.raise_for_status()
    found: Counter[Labels] = Counter()
    for line in response.text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', match["labels"])))
            found[labels] = int(float(match["value"]))
    return found


def resource_requests(before: Counter[Labels], after: Counter[Labels]) -> dict[str, int]:
    """Resource requests answered between two counts, as ``VERB resource[/sub]`` → count.

    Long-running watches are left out (one request each, opened at start).
    """
    grown: Counter[str] = Counter()
    for labels, value in (after - before).items():
        label = dict(labels)
        if not label["resource"] or label["verb"] == "WATCH":
            continue
        sub = f"/{label['subresource']}" if label["subresource"] else ""
        grown[f"{label['verb']} {label['resource']}{sub}"] += value
    return dict(grown)


# ------------------------------------------------------------------------------- processes


def _wait_http(url: str, child: subprocess.Popen[bytes], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback child
                return
        except OSError:
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError(f"{url} did not answer (exit code {child.poll()})") from None
            time.sleep(0.05)


@dataclass
class ControllerProcess:
    """``ferryman controller`` as a child: its webhook/UI URL and its health/metrics URL."""

    process: subprocess.Popen[bytes]
    url: str
    health: str


@contextlib.contextmanager
def controller(
    kubeconfig: Path, *extra: str, log: Path | None = None
) -> Iterator[ControllerProcess]:
    """``ferryman controller`` against ``kubeconfig`` on free loopback ports, until the block
    ends (SIGTERM, as Kubernetes stops it). Ready once ``/readyz`` answers (Pipelines cached)."""
    http, health, metrics = free_port(), free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "ferryman",
        "controller",
        "--kubeconfig",
        str(kubeconfig),
        f"--http-addr=127.0.0.1:{http}",
        f"--health-addr=127.0.0.1:{health}",
        f"--metrics-addr=127.0.0.1:{metrics}",
        *extra,
    ]
    sink = log.open("wb") if log is not None else subprocess.DEVNULL
    child = subprocess.Popen(command, stdout=sink, stderr=sink)
    try:
        _wait_http(f"http://127.0.0.1:{health}/readyz", child)
        _wait_http(f"http://127.0.0.1:{http}/healthz", child)
        yield ControllerProcess(child, f"http://127.0.0.1:{http}", f"http://127.0.0.1:{health}")
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
        if log is not None and not isinstance(sink, int):
            sink.close()


@dataclass
class UpProcess:
    """``ferryman up`` as a child: its UI/webhook URL, the embedded API's kubeconfig."""

    process: subprocess.Popen[bytes]
    url: str
    kubeconfig: Path
    state: Path


@contextlib.contextmanager
def up(state: Path, *extra: str) -> Iterator[UpProcess]:
    """``ferryman up --no-demo`` (one process: embedded API, controller, server) until the block
    ends (SIGINT, as Ctrl-C stops it)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "ferryman",
        "up",
        "--dir",
        str(state),
        "--http-port",
        str(port),
        "--no-demo",
        *extra,
    ]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", child)
        yield UpProcess(child, f"http://127.0.0.1:{port}", state / "kubeconfig", state)
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=30)


def admin_of(kubeconfig: Path, state: Path) -> fleet.Admin:
    """An admin client of the embedded API server ``kubeconfig`` names (``state``: its data)."""
    config = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
    server = config["clusters"][0]["cluster"]["server"]
    token = config["users"][0]["user"]["token"]
    return fleet.Admin(server, token, state / "tls.crt")


# ------------------------------------------------------------------------------------- wrk


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reported."""

    requests: int
    seconds: float
    per_second: float
    non_2xx: int
    errors: int
    latency_p50_ms: float
    latency_p99_ms: float


def wrk_path() -> str:
    """Debian's wrk (``make bench`` installs it); a clear error without it."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: run `make bench` (apt-get install -y wrk)")
    return found


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def wrk(
    url: str,
    *,
    connections: int = 16,
    threads: int = 2,
    seconds: int = 10,
    method: str = "GET",
    body: str = "",
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """Run ``wrk`` (keep-alive connections) and parse its report."""
    script = [f"wrk.method = {_lua_string(method)}"]
    if body:
        script.append(f"wrk.body = {_lua_string(body)}")
    for name, value in (headers or {}).items():
        script.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write("\n".join(script) + "\n")
    try:
        out = subprocess.run(
            [
                wrk_path(),
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                handle.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(handle.name).unlink()
    return _parse_wrk(out)


def _ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    unit = re.sub(r"^[\d.]+", "", text)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _parse_wrk(out: str) -> WrkResult:
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if done is None or rate is None:
        raise RuntimeError(f"cannot read wrk's report:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)$", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)$", out, re.MULTILINE)
    seconds = float(done.group(2)) * (60.0 if done.group(3) == "m" else 1.0)
    return WrkResult(
        requests=int(done.group(1)),
        seconds=seconds,
        per_second=float(rate.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
        latency_p50_ms=_ms(p50.group(1)) if p50 else 0.0,
        latency_p99_ms=_ms(p99.group(1)) if p99 else 0.0,
    )
