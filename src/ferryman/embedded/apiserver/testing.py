"""Start embedded API servers for tests: in-process (fast) or as a subprocess (for ``kill -9``).

Both kinds expose ``.url``, ``.kubeconfig_path``, ``.token``, ``.data_dir``, the fault-injection
methods (``compact``, ``drop_watches``, ``compact_and_drop_watches``, ``add_fault``,
``clear_faults``) and ``.stop()``. Startup returns only once ``/readyz`` answers; ``stop()`` joins.

A pytest fixture is three lines::

    @pytest.fixture
    def apiserver(tmp_path):
        with testing.serve(tmp_path / "api") as server:
            yield server
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from ferryman.embedded.apiserver.server import EmbeddedApiServer, ServerConfig

_LISTENING = re.compile(r"listening on (\S+) \(kubeconfig: (.+)\)")


def start(
    data_dir: Path,
    *,
    fault_injection: bool = True,
    bookmark_interval: float = 0.5,
    token_file: Path | None = None,
    tls: bool = True,
) -> EmbeddedApiServer:
    """An in-process server on a free loopback port, serving in a background thread."""
    config = ServerConfig(
        data_dir=data_dir,
        port=0,
        token_file=token_file,
        fault_injection=fault_injection,
        bookmark_interval=bookmark_interval,
        tls=tls,
    )
    return EmbeddedApiServer(config).start()


@contextlib.contextmanager
def serve(data_dir: Path, **options: object) -> Iterator[EmbeddedApiServer]:
    """``start`` as a context manager that always stops the server."""
    server = start(data_dir, **options)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def serve_many(base_dir: Path, count: int, **options: object) -> Iterator[list[EmbeddedApiServer]]:
    """``count`` independent servers ("clusters") under ``base_dir/cluster-<i>``."""
    servers: list[EmbeddedApiServer] = []
    try:
        for i in range(count):
            servers.append(start(base_dir / f"cluster-{i}", **options))  # type: ignore[arg-type]
        yield servers
    finally:
        for server in servers:
            server.stop()


class SubprocessServer:
    """``ferryman apiserver`` as a child: ``kill()`` is ``kill -9``; ``restart()`` keeps data."""

    def __init__(
        self, data_dir: Path, *, startup_timeout: float = 30.0, token_file: Path | None = None
    ) -> None:
        self.data_dir = data_dir
        self._timeout = startup_timeout
        self._token_file = token_file
        self._process: subprocess.Popen[str] | None = None
        self.url = ""
        self.kubeconfig_path = data_dir / "kubeconfig"
        self.token = ""
        self.start()

    def start(self) -> None:
        """Launch the child and wait until it answers ``/readyz``."""
        command = [
            sys.executable,
            "-m",
            "ferryman",
            "apiserver",
            "--data",
            str(self.data_dir),
            "--port",
            "0",
            "--enable-fault-injection",
        ]
        if self._token_file is not None:
            command += ["--token-file", str(self._token_file)]
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        stdout = self._process.stdout
        line = stdout.readline() if stdout is not None else ""  # PIPE was requested: never None
        match = _LISTENING.search(line)
        if match is None:
            self.kill()
            raise RuntimeError(f"ferryman apiserver did not start: {line.strip() or 'no output'}")
        self.url, self.kubeconfig_path = match.group(1), Path(match.group(2))
        self.token = (self.data_dir / "admin-token").read_text(encoding="utf-8").strip()
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                self._request("GET", "/readyz")
                return
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError(
                        f"ferryman apiserver at {self.url} did not become ready"
                    ) from None
                time.sleep(0.05)

    @property
    def pid(self) -> int:
        """The child's process id (0 when not running)."""
        return self._process.pid if self._process is not None else 0

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting the child's certificate."""
        return ssl.create_default_context(cafile=str(self.data_dir / "tls.crt"))

    def _request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        request = urllib.request.Request(self.url + path, data=body, method=method)  # noqa: S310 - loopback URL we started
        with urllib.request.urlopen(request, timeout=5, context=self.ssl_context()) as response:  # noqa: S310
            data: bytes = response.read()
            return data

    def kill(self) -> None:
        """SIGKILL the child (no cleanup at all) and reap it."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    def stop(self) -> None:
        """SIGTERM the child and wait for it to exit."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    def restart(self) -> None:
        """Start again on the same data directory (after ``kill`` or ``stop``)."""
        self.start()

    def compact(self) -> None:
        """POST /debug/compact."""
        self._request("POST", "/debug/compact")

    def drop_watches(self) -> None:
        """POST /debug/drop-watches."""
        self._request("POST", "/debug/drop-watches")

    def compact_and_drop_watches(self) -> None:
        """POST /debug/compact-and-drop-watches."""
        self._request("POST", "/debug/compact-and-drop-watches")

    def add_fault(
        self,
        *,
        verb: str = "*",
        path_regex: str = ".*",
        code: int = 0,
        count: int = 1,
        latency_ms: int = 0,
    ) -> None:
        """POST /debug/faults."""
        rule = {
            "verb": verb,
            "pathRegex": path_regex,
            "code": code,
            "count": count,
            "latencyMs": latency_ms,
        }
        self._request("POST", "/debug/faults", json.dumps(rule).encode())

    def clear_faults(self) -> None:
        """DELETE /debug/faults."""
        self._request("DELETE", "/debug/faults")
