"""Real processes for the crash-safety tests and the chaos harness.

``ApiServer`` is ``ferryman apiserver`` as a child on a *fixed* port, so ``kill()`` (SIGKILL) and
``start()`` again bring it back where every client's kubeconfig points — same port, same data
directory, same certificate and admin token. ``Controller`` is ``ferryman controller`` as a child,
with its own health, metrics and HTTP ports, extra flags and environment (``FERRYMAN_CRASH_AT``),
and SIGKILL / SIGSTOP / SIGCONT / SIGTERM at hand. Output goes to a log file per process; nothing
here reads Ferryman's state (``cluster.py`` does, through the API).

Both are synchronous and cheap to call from an event loop (process control only); waiting for
readiness is async.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

_LISTENING = re.compile(r"listening on (\S+) \(kubeconfig: (.+)\)")


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _state(pid: int) -> str:
    """The process state letter from /proc (``T`` stopped, ``Z`` zombie), ``""`` when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]


class Child:
    """One child process with a log file; signals are sent to it alone."""

    def __init__(self, name: str, log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def _spawn(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"---- start {self.starts + 1}: {' '.join(command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                list(command),
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            )
        self.starts += 1

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0

    @property
    def running(self) -> bool:
        """Started and not exited (a stopped process is running)."""
        return self.process is not None and self.process.poll() is None

    @property
    def stopped(self) -> bool:
        """Frozen by SIGSTOP."""
        return self.running and _state(self.pid) == "T"

    def wait(self) -> int | None:
        """Block until the process exits; its return code."""
        return self.process.wait() if self.process is not None else None

    def returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind; reaped at once."""
        if self.running and self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def pause(self) -> None:
        """SIGSTOP: frozen until ``resume``, sockets and Lease untouched."""
        if self.running and self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT."""
        if self.running and self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def terminate(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (after SIGCONT, so a frozen process can obey) and wait; SIGKILL if it hangs."""
        if not self.running or self.process is None:
            return self.returncode()
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.returncode()

    def log(self) -> str:
        """Everything the process wrote so far (all its starts)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class ApiServer(Child):
    """``ferryman apiserver --enable-fault-injection`` on a fixed port (see module doc)."""

    def __init__(self, data_dir: Path, *, token_file: Path | None = None) -> None:
        super().__init__("apiserver", data_dir.parent / "logs")
        self.data_dir = data_dir
        self.token_file = token_file
        self.port = free_port()
        self.url = ""
        self.kubeconfig_path = data_dir / "kubeconfig"
        self.token = ""

    def start(self, timeout: float = 60.0) -> None:
        """Launch and wait until ``/readyz`` answers (blocking; a few hundred ms)."""
        command = [
            sys.executable,
            "-m",
            "ferryman",
            "apiserver",
            "--data",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--enable-fault-injection",
        ]
        if self.token_file is not None:
            command += ["--token-file", str(self.token_file)]
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._spawn(command)
        deadline = time.monotonic() + timeout
        while True:
            match = _LISTENING.search(self.log()[offset:])
            if match is not None:
                self.url, self.kubeconfig_path = match.group(1), Path(match.group(2))
                self.token = (self.data_dir / "admin-token").read_text().strip()
                with contextlib.suppress(urllib.error.URLError, OSError):
                    self.request("GET", "/readyz")
                    return
            if not self.running or time.monotonic() > deadline:
                raise RuntimeError(f"ferryman apiserver did not start:\n{self.log()[offset:]}")
            time.sleep(0.05)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.data_dir / "tls.crt"))

    def request(self, method: str, path: str, body: object = None, timeout: float = 5) -> bytes:
        """One request with the admin token (fault injection, reads for the checks)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the loopback URL we started
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=timeout, context=self.ssl_context()
        ) as response:
            answer: bytes = response.read()
            return answer

    def add_fault(
        self,
        *,
        verb: str = "*",
        path_regex: str = ".*",
        code: int = 0,
        count: int = 1,
        latency_ms: int = 0,
    ) -> None:
        """Answer the next ``count`` matching requests with ``code`` and/or delay them."""
        rule = {
            "verb": verb,
            "pathRegex": path_regex,
            "code": code,
            "count": count,
            "latencyMs": latency_ms,
        }
        self.request("POST", "/debug/faults", rule)

    def clear_faults(self) -> None:
        self.request("DELETE", "/debug/faults")

    def drop_watches(self, *, compact: bool = False) -> None:
        """End every watch stream (after compacting the log when ``compact``: resumes get 410)."""
        self.request(
            "POST", "/debug/compact-and-drop-watches" if compact else "/debug/drop-watches"
        )


class Controller(Child):
    """``ferryman controller`` against an ``ApiServer`` (see module doc)."""

    def __init__(
        self,
        name: str,
        log_dir: Path,
        *,
        kubeconfig: Path,
        flags: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name, log_dir)
        self.kubeconfig = kubeconfig
        self.flags = list(flags)
        self.env = dict(env or {})
        self.http_port = free_port()
        self.health_port = free_port()
        self.metrics_port = free_port()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, *, env: Mapping[str, str] | None = None) -> None:
        """Launch (``env`` adds to the environment of this start only)."""
        command = [
            sys.executable,
            "-m",
            "ferryman",
            "controller",
            "--kubeconfig",
            str(self.kubeconfig),
            "--http-addr",
            f"127.0.0.1:{self.http_port}",
            "--health-addr",
            f"127.0.0.1:{self.health_port}",
            "--metrics-addr",
            f"127.0.0.1:{self.metrics_port}",
            *self.flags,
        ]
        self._spawn(command, {**self.env, **(env or {})})

    def ready(self) -> bool:
        """``/readyz`` answers 200 (informers synced)."""
        url = f"http://127.0.0.1:{self.health_port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(self.ready):
            if not self.running or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not become ready:\n{self.log()[-4000:]}")
            await asyncio.sleep(0.1)
