"""Issue 16, item 4: ``?``, ``#`` or NUL in a path parameter must not reach another object.

The review found the access review asked about the literal name while the adapter put the name into
the URL unescaped: ``GET …/pipelines/%3F`` listed every pipeline to a user allowed only ``get``, a
webhook for the phantom pipeline ``podinfo?x`` was accepted, and a NUL answered 500 with the input
in a logged traceback. Every attack below goes to the real server of ``ferryman up``.
"""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from tests.security import demo

from ferryman.adapters.kubernetes import cluster as cluster_adapter
from ferryman.adapters.kubernetes import pipelines, secrets
from ferryman.domain import errors as domain_errors
from ferryman.server import reads

READ = "/api/v1/namespaces/default/pipelines"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


@pytest.fixture(scope="module")
def get_only(up: demo.Up) -> str:
    """gina may ``get`` pipelines (any name) and nothing else: not ``list``."""
    with demo.kube_client(up.admin_kubeconfig) as admin:
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "item4-get-pipelines"},
            "rules": [
                {
                    "apiGroups": ["pipelines.weave.works"],
                    "resources": ["pipelines"],
                    "verbs": ["get"],
                }
            ],
        }
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "item4-get-pipelines"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "item4-get-pipelines",
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "gina"}],
        }
        for path, obj in ((f"{RBAC}/clusterroles", role), (f"{RBAC}/clusterrolebindings", binding)):
            answer = admin.post(path, json=obj)
            assert answer.status_code in (201, 409), answer.text
    return up.tokens["gina"]


def raw_request(
    url: str, target: bytes, *, token: str = "", body: bytes = b""
) -> tuple[int, bytes]:
    """One HTTP/1.1 request with ``target`` sent byte for byte (no client normalises it)."""
    host, port = url.removeprefix("http://").split(":")
    head = b"POST " if body else b"GET "
    lines = [head + target + b" HTTP/1.1", b"Host: " + host.encode(), b"Connection: close"]
    if token:
        lines.append(b"Authorization: Bearer " + token.encode())
    if body:
        lines += [b"Content-Type: application/json", b"Content-Length: " + str(len(body)).encode()]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("name", ["%3F", "%3Fwatch=1", "%23", "x%3F", "%2E%2E", "%25"])
def test_item4_query_or_fragment_in_a_name_never_lists(
    up: demo.Up, get_only: str, name: str
) -> None:
    """A user allowed only ``get`` asks for a name holding ``?``, ``#``, dots or ``%``: 400 naming
    the parameter, never the list of every pipeline."""
    status, body = raw_request(up.url, f"{READ}/{name}".encode(), token=get_only)
    assert status == 400, body
    answer = json.loads(body)
    assert answer.get("kind") == "Status" and "PipelineList" not in body.decode()
    assert "pipeline name in the path is not valid" in answer["message"]


def test_item4_phantom_pipeline_webhook_is_refused(up: demo.Up) -> None:
    """``/promotion/default/podinfo%3Fx/dev`` (the phantom ``podinfo?x``) is 400, not 202."""
    event = {
        "involvedObject": {"kind": "HelmRelease", "name": "podinfo", "namespace": "dev"},
        "metadata": {"revision": "6.1.0"},
        "severity": "info",
    }
    status, body = raw_request(
        up.url, b"/promotion/default/podinfo%3Fx/dev", body=json.dumps(event).encode()
    )
    assert status == 400, body
    status, body = raw_request(
        up.url, b"/promotion/default/podinfo/dev%0A", body=json.dumps(event).encode()
    )
    assert status == 400, body


@pytest.mark.parametrize(
    "target",
    [
        b"/api/v1/namespaces/default/pipelines/a%00b",
        b"/api/v1/namespaces/de%00fault/pipelines/podinfo",
        b"/api/v1/namespaces/default/pipelines/%FF%FE",
        b"/pipelines/default/a%00b",
        b"/promotion/default/podinfo/d%00ev",
    ],
)
def test_item4_nul_or_bad_utf8_is_400_without_a_traceback(
    up: demo.Up, get_only: str, target: bytes
) -> None:
    """A NUL or undecodable bytes in a parameter: 400 (never 500), nothing of it logged."""
    log = up.root / "ferryman-up.log"
    before = log.stat().st_size
    body = b"{}" if target.startswith(b"/promotion") else b""
    status, answer = raw_request(up.url, target, token=get_only, body=body)
    assert status == 400, answer
    logged = log.read_bytes()[before:]
    assert b"Traceback" not in logged and b"a\x00b" not in logged


def test_item4_real_names_still_work(up: demo.Up, get_only: str) -> None:
    """The demo pipeline is read as before: validation refuses nothing the CRD accepts."""
    with httpx.Client(base_url=up.url, timeout=10) as http:
        answer = http.get(f"{READ}/podinfo", headers={"Authorization": f"Bearer {get_only}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["metadata"]["name"] == "podinfo"


@pytest.mark.parametrize("name", ["?", "#x", "a/b", "..", ".", "", "%3F", "a\x00b"])
async def test_item4_adapters_put_names_into_urls_as_one_quoted_segment(
    up: demo.Up, name: str
) -> None:
    """Below the server's checks, the lightkube adapters quote every segment: a hostile name finds
    nothing (None), never the list or another object."""
    cluster = cluster_adapter.LightkubeCluster.connect("", path=str(up.admin_kubeconfig))
    try:
        store = pipelines.LightkubePipelineStore(cluster.client)
        assert await store.get("default", name) is None
        assert await cluster.get(reads.PIPELINE_KIND, "default", name) is None
        assert await store.get(name or ".", "podinfo") is None
        with pytest.raises(domain_errors.PermanentError, match="not found"):
            await secrets.LightkubeSecretReader(cluster.client).read("default", name)
    finally:
        await cluster.close()
