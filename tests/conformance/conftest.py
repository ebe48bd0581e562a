"""Fixtures driving the real kubectl against an embedded API server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ferryman.embedded.apiserver import testing
from ferryman.embedded.apiserver.server import EmbeddedApiServer

KUBECTL = Path("/usr/bin/kubectl")
FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Kubectl:
    """Runs kubectl with the server's kubeconfig and a per-test discovery cache."""

    server: EmbeddedApiServer
    cache_dir: Path

    def run(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run one kubectl command; ``check`` fails the test (with kubectl's stderr) on error."""
        command = [
            str(KUBECTL),
            "--kubeconfig",
            str(self.server.kubeconfig_path),
            "--cache-dir",
            str(self.cache_dir),
            *args,
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, input=stdin, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start a long-running kubectl (for ``get -w``)."""
        command = [
            str(KUBECTL),
            "--kubeconfig",
            str(self.server.kubeconfig_path),
            "--cache-dir",
            str(self.cache_dir),
            *args,
        ]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def kubectl(tmp_path: Path) -> Iterator[Kubectl]:
    """kubectl against a fresh server; the test FAILS (not skips) when kubectl is missing."""
    if not KUBECTL.exists():
        pytest.fail(f"{KUBECTL} is required by the kubectl conformance suite but is not installed")
    with testing.serve(tmp_path / "api") as server:
        yield Kubectl(server, tmp_path / "kube-cache")
