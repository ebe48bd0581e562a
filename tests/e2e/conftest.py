"""End-to-end harness: ``ferryman up`` as a subprocess (as ``make demo`` starts it) and Chromium.

``Demo`` starts ``python -m ferryman up`` on a free HTTP port with short delays (soak 2 s, Flux
0.2 s), parses the banner for the UI address and the demo users' tokens, and stops it with
SIGINT (Ctrl-C) or SIGKILL. The browser is Debian's ``chromium`` driven by Playwright — never a
downloaded browser; a machine without it fails the tests (``make browser`` installs it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ferryman.embedded import flux

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT.parent / "shared" / "fixtures" / "crds"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PIPELINE_PATH = "/apis/pipelines.weave.works/v1alpha1/namespaces/default/pipelines/podinfo"
FAST = ("--soak-seconds", "2", "--flux-delay", "0.2", "--flux-interval", "0.1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def chromium_path() -> str:
    """Debian's chromium binary; the test fails (not skips) without it."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.fail(
            "chromium is not installed: run `make browser` (apt-get install -y chromium)",
            pytrace=False,
        )
    return found


def eventually(check: Callable[[], Any], *, timeout: float = 60.0, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout:.0f}s: {what}")
        time.sleep(0.1)


class Demo:
    """One ``ferryman up`` child process over a state directory."""

    def __init__(self, state_dir: Path, log_dir: Path, *extra: str) -> None:
        self.state_dir = state_dir
        self.log_dir = log_dir
        self.extra = extra
        self.http_port = free_port()
        self.process: subprocess.Popen[str] | None = None
        self.reader: threading.Thread | None = None
        self.banner: list[str] = []
        self.tokens: dict[str, str] = {}
        self.url = ""
        self.starts = 0

    def start(self) -> Demo:
        """Launch and wait for the banner (everything is running once it is printed)."""
        self.starts += 1
        command = [
            sys.executable,
            "-m",
            "ferryman",
            "up",
            "--dir",
            str(self.state_dir),
            "--api-port",
            "0",
            "--http-port",
            str(self.http_port),
            "--crds",
            str(CRDS),
            "--log-level",
            "info",
            *self.extra,
        ]
        stderr = (self.log_dir / f"ferryman-up-{self.starts}.log").open("w")
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        stderr.close()
        lines: list[str] = []
        done = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                lines.append(line.rstrip("\n"))
                if line.startswith("Press Ctrl-C"):
                    done.set()
            done.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not done.wait(90) or not any(line.startswith("Press Ctrl-C") for line in lines):
            self.kill()
            raise AssertionError("ferryman up did not start:\n" + "\n".join(lines))
        self.banner = lines
        text = "\n".join(lines)
        match = re.search(r"Web UI:\s+(http://\S+)/", text)
        assert match is not None, text
        self.url = match.group(1)
        self.tokens = dict(re.findall(r"^\s+(\w+)\s+\([^)]*\): (\S+)$", text, re.MULTILINE))
        return self

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT, then wait for a clean exit; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=30)
        self._reap()
        return code

    def _reap(self) -> None:
        """Collect the output reader and close the pipe of a finished child."""
        assert self.process is not None
        if self.reader is not None:
            self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def kill(self) -> None:
        """SIGKILL: a crash, no cleanup at all."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self._reap()

    # ---------------------------------------------------------------- observing
    def client(self) -> flux.KubeClient:
        return flux.KubeClient(self.state_dir / "kubeconfig")

    def pipeline(self) -> dict[str, Any]:
        answer = self.client().request("GET", PIPELINE_PATH)
        assert answer.status == 200, answer.body
        return answer.body

    def environment(self, name: str) -> dict[str, Any]:
        env: dict[str, Any] = (
            (self.pipeline().get("status") or {}).get("environments", {}).get(name, {})
        )
        return env

    def phase(self, env: str) -> str:
        return str((self.environment(env).get("promotion") or {}).get("phase", ""))

    def runs(self, env: str, revision: str) -> bool:
        current = self.environment(env)
        return current.get("revision") == revision and bool(current.get("ready"))

    def release(self, version: str) -> str:
        """``ferryman demo release VERSION``, as CI would run it."""
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ferryman",
                "demo",
                "release",
                version,
                "--dir",
                str(self.state_dir),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def approve_via_api(self, user: str, revision: str, comment: str) -> int:
        """POST the approval API with ``user``'s token (as the CLI does)."""
        request = urllib.request.Request(  # noqa: S310 - our own loopback server
            f"{self.url}/api/v1/namespaces/default/pipelines/podinfo/environments/prod/approve",
            data=json.dumps({"revision": revision, "comment": comment}).encode(),
            headers={
                "Authorization": f"Bearer {self.tokens[user]}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status: int = response.status
            return status

    def prod_commits(self, revision: str) -> int:
        """Promotion commits of ``revision`` into prod on the demo repository's main branch."""
        log = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.state_dir / "demo-repo.git"),
                "log",
                "--format=%B%x00",
                "main",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return sum(
            1
            for message in log.split("\0")
            if "Ferryman-Environment: prod" in message
            and f"Ferryman-Revision: {revision}" in message
        )


@pytest.fixture
def make_demo(tmp_path: Path) -> Iterator[Callable[..., Demo]]:
    """Start ``ferryman up`` children; any still running at the end are killed."""
    started: list[Demo] = []

    def make(*extra: str) -> Demo:
        demo = Demo(tmp_path / "state", tmp_path, *extra)
        started.append(demo)
        return demo.start()

    yield make
    for demo in started:
        demo.kill()
