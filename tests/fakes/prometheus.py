"""A real Prometheus for tests, scraping a small exporter the test controls.

``Exporter`` serves ``/metrics`` in the Prometheus text format (0.0.4) from a dict the test
changes. ``PrometheusServer`` runs Debian's ``prometheus`` binary (``make prometheus`` installs
it) with its own configuration — a 1-second scrape of the exporter, TSDB in the test's tmp dir,
optionally ``--web.config.file`` with basic-auth users (bcrypt hashes, as prometheus/exporter-
toolkit's ``web-configuration.md`` documents) — on a free loopback port, and stops it (the
process it started, by pid) at the end. A machine without the binary fails the test with the
command that installs it; it is never skipped.
"""

from __future__ import annotations

import base64
import http.server
import json
import math
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import bcrypt
import pytest

BINARY = "prometheus"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Exporter:
    """``/metrics`` with the gauges in ``values``: {(name, labels): value}."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def do_GET(self) -> None:
                body = exporter.render().encode()
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.address = f"127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def set(self, name: str, value: float, **labels: str) -> None:
        self.values[(name, tuple(sorted(labels.items())))] = value

    def render(self) -> str:
        lines = []
        for name in sorted({name for name, _ in self.values}):
            lines.append(f"# TYPE {name} gauge")
            for (other, labels), value in sorted(self.values.items()):
                if other == name:
                    shown = ",".join(f'{key}="{val}"' for key, val in labels)
                    number = "NaN" if math.isnan(value) else repr(value)
                    lines.append(f"{name}{{{shown}}} {number}" if shown else f"{name} {number}")
        return "\n".join(lines) + "\n"

    def start(self) -> Exporter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class PrometheusServer:
    """Debian's prometheus on a free port, scraping ``exporter`` every second."""

    def __init__(self, workdir: Path, exporter: Exporter, *, users: dict[str, str] | None = None):
        binary = shutil.which(BINARY)
        if binary is None:
            pytest.fail(
                "prometheus is not installed: run `make prometheus` "
                "(apt-get install -y --no-install-recommends prometheus)",
                pytrace=False,
            )
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.users = users or {}
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: shop\n    static_configs: [{{targets: ['{exporter.address}']}}]\n"
        )
        if self.users:
            hashed = {
                user: bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
                for user, password in self.users.items()
            }
            entries = "".join(f"  {user}: '{digest}'\n" for user, digest in hashed.items())
            (workdir / "web.yml").write_text(f"basic_auth_users:\n{entries}")
        self.process: subprocess.Popen[bytes] | None = None

    def _auth(self) -> dict[str, str]:
        if not self.users:
            return {}
        user, password = next(iter(self.users.items()))
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def start(self) -> PrometheusServer:
        command = [
            self.binary,
            f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        if self.users:
            command.append(f"--web.config.file={self.workdir / 'web.yml'}")
        log = (self.workdir / "prometheus.log").open("wb")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.wait(lambda: self.get("/-/ready") == 200, what="Prometheus is ready")
        return self

    def get(self, path: str) -> int:
        request = urllib.request.Request(self.url + path, headers=self._auth())  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
                status: int = answer.status
                return status
        except (urllib.error.URLError, ConnectionError):
            return 0

    def scraped(self, query: str, value: float) -> bool:
        """Whether ``query`` evaluates to ``value`` now (after the exporter changed)."""
        path = "/api/v1/query?" + urllib.parse.urlencode({"query": query})
        request = urllib.request.Request(self.url + path, headers=self._auth())  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
                result = json.loads(answer.read())["data"]["result"]
        except (urllib.error.URLError, ConnectionError, KeyError, ValueError):
            return False
        return len(result) == 1 and float(result[0]["value"][1]) == value

    def wait(self, check: Any, *, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if self.process is not None and self.process.poll() is not None:
                log = (self.workdir / "prometheus.log").read_text(errors="replace")
                raise AssertionError(f"prometheus exited: {log[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached in {timeout:.0f}s: {what}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
            self.process = None
