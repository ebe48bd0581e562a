"""Fixtures for the embedded API server's integration tests: servers, raw HTTP, CRD fixtures."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ferryman.embedded.apiserver import testing
from ferryman.embedded.apiserver.server import EmbeddedApiServer

FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures"
PIPELINE_CRD = FIXTURES / "crds" / "original-pipelines.weave.works_pipelines.yaml"
PIPELINES = "/apis/pipelines.weave.works/v1alpha1/namespaces/default/pipelines"


@dataclass
class Reply:
    """One HTTP answer: status, headers, parsed JSON body (or None)."""

    status: int
    headers: dict[str, list[str]]
    body: Any


class Http:
    """Minimal raw HTTP client for asserting exact wire behaviour."""

    def __init__(self, server: EmbeddedApiServer, token: str | None = None) -> None:
        self.server = server
        self.token = server.token if token is None else token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
        raw: bytes | None = None,
    ) -> Reply:
        """Send one request; never raises on HTTP error statuses."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Accept": accept}
        if data is not None:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(  # noqa: S310 - the loopback server under test
            self.server.url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.server.ssl_context()) as resp:  # noqa: S310
                return self._reply(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            return self._reply(err.code, err.headers, err.read())

    @staticmethod
    def _reply(status: int, headers: Any, payload: bytes) -> Reply:
        collected: dict[str, list[str]] = {}
        for key, value in headers.items():
            collected.setdefault(key.lower(), []).append(value)
        try:
            body = json.loads(payload) if payload else None
        except ValueError:
            body = payload.decode(errors="replace")
        return Reply(status, collected, body)

    def get(self, path: str, **kw: Any) -> Reply:
        """GET."""
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Reply:
        """POST."""
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Reply:
        """PUT."""
        return self.request("PUT", path, body, **kw)

    def patch(
        self, path: str, body: Any, content_type: str = "application/merge-patch+json", **kw: Any
    ) -> Reply:
        """PATCH (merge by default)."""
        return self.request("PATCH", path, body, content_type=content_type, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Reply:
        """DELETE."""
        return self.request("DELETE", path, body, **kw)


def load_crd(path: Path = PIPELINE_CRD) -> dict[str, Any]:
    """The first CRD document in a fixture file."""
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    crd: dict[str, Any] = docs[0]
    return crd


def pipeline(name: str = "web", **spec_extra: Any) -> dict[str, Any]:
    """A valid Pipeline object."""
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
            **spec_extra,
        },
    }


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[EmbeddedApiServer]:
    """A fresh in-process server with fault injection on."""
    with testing.serve(tmp_path / "api") as server:
        yield server


@pytest.fixture
def http(apiserver: EmbeddedApiServer) -> Http:
    """Raw HTTP as the admin user."""
    return Http(apiserver)


@pytest.fixture
def crd_server(apiserver: EmbeddedApiServer, http: Http) -> EmbeddedApiServer:
    """The server with the Pipeline CRD installed."""
    reply = http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", load_crd())
    assert reply.status == 201, reply.body
    return apiserver
