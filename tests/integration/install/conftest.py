"""Fixtures for the install manifests: ``kubectl kustomize config/default``, built once per module.

The real kubectl (with its bundled kustomize) renders the manifests exactly as a user's
``kubectl apply -k config/default`` would; a missing kubectl fails the tests rather than skipping.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ferryman.embedded.apiserver import server as api_server
from ferryman.embedded.apiserver import testing

ROOT = Path(__file__).resolve().parents[3]
KUBECTL = Path("/usr/bin/kubectl")
NAMESPACE = "ferryman-system"
SERVICE_ACCOUNT = "ferryman-controller"


def kubectl_path() -> str:
    """The kubectl binary, or a failed test naming what is missing."""
    if not KUBECTL.exists():
        pytest.fail(f"{KUBECTL} is required to render and apply the install manifests")
    return str(KUBECTL)


@dataclass(frozen=True)
class Rendered:
    """The output of ``kubectl kustomize config/default``: its text and its objects."""

    text: str
    objects: tuple[dict[str, Any], ...]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every object of ``kind``."""
        return [obj for obj in self.objects if obj["kind"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        """The object of ``kind`` named ``name`` (fails the test when absent)."""
        for obj in self.of_kind(kind):
            if obj["metadata"]["name"] == name:
                return obj
        pytest.fail(f"the install manifests have no {kind} {name}")


def render(directory: Path = ROOT / "config" / "default") -> Rendered:
    """Run ``kubectl kustomize`` on ``directory``."""
    result = subprocess.run(
        [kubectl_path(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {directory} failed:\n{result.stderr}")
    objects = tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)
    return Rendered(result.stdout, objects)


@pytest.fixture(scope="module")
def rendered() -> Rendered:
    """The default install, rendered once per test module."""
    return render()


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[api_server.EmbeddedApiServer]:
    """One embedded API server ("the cluster")."""
    with testing.serve(tmp_path / "api") as server:
        yield server


def run_kubectl(
    server: api_server.EmbeddedApiServer, cache: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl against ``server`` (admin kubeconfig), with a private discovery cache."""
    return subprocess.run(
        [
            kubectl_path(),
            "--kubeconfig",
            str(server.kubeconfig_path),
            "--cache-dir",
            str(cache),
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
