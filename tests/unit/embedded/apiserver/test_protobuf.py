"""Protobuf request bodies from the real kubectl decode to the JSON kubectl would have sent.

The live tests start a tiny HTTP server on 127.0.0.1 that answers discovery, decodes every
protobuf POST with ``protobuf.decode`` and echoes the result as JSON; the real
``/usr/bin/kubectl`` talks to it, so the bodies are real kubectl 1.32 bytes and kubectl's own
success output proves it accepts the JSON answer.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ferryman.embedded.apiserver import protobuf

RBAC = "rbac.authorization.k8s.io/v1"
AUTHZ = "authorization.k8s.io/v1"
PIPELINES = "pipelines.weave.works/v1alpha1"
_RESOURCES = {
    "v1": [
        ("namespaces", "Namespace", False),
        ("secrets", "Secret", True),
        ("configmaps", "ConfigMap", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("pods", "Pod", True),
    ],
    RBAC: [
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
    ],
    AUTHZ: [
        ("selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
        ("subjectaccessreviews", "SubjectAccessReview", False),
        ("localsubjectaccessreviews", "LocalSubjectAccessReview", True),
    ],
    PIPELINES: [("pipelines", "Pipeline", True)],
}


@dataclass
class Capture:
    """What the capture server saw: POSTed bodies with their headers."""

    posts: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


def _resource_list(group_version: str) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": name,
                "singularName": kind.lower(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            }
            for name, kind, namespaced in _RESOURCES[group_version]
        ],
    }


def _discovery(path: str) -> dict[str, Any] | None:
    """Legacy discovery documents, enough for kubectl to map resources and POST."""
    groups = [gv for gv in _RESOURCES if "/" in gv]
    documents: dict[str, dict[str, Any]] = {
        "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0"},
        "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
        "/apis": {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": gv.split("/")[0],
                    "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                    "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]},
                }
                for gv in groups
            ],
        },
        "/api/v1": _resource_list("v1"),
        **{f"/apis/{gv}": _resource_list(gv) for gv in groups},
    }
    return documents.get(path)


def _handler(capture: Capture) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Keep pytest output clean."""

        def _send(self, code: int, obj: dict[str, Any]) -> None:
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            document = _discovery(self.path.split("?")[0].rstrip("/"))
            if document is None:
                self._send(404, {"kind": "Status", "apiVersion": "v1", "code": 404})
            else:
                self._send(200, document)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            capture.posts.append((self.path, dict(self.headers.items()), body))
            obj = protobuf.decode(body)
            if obj["kind"].endswith("AccessReview"):
                obj["status"] = {"allowed": True}
            self._send(201, obj)

    return Handler


@pytest.fixture(scope="module")
def kubectl_env(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, str], Capture]]:
    """A capture server on a free port and a kubeconfig pointing kubectl at it."""
    capture = Capture()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(capture))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    home = tmp_path_factory.mktemp("kubectl-home")
    kubeconfig = home / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [
                    {"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "default"}}
                ],
                "current-context": "x",
            }
        )
    )
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}
    yield env, capture
    server.shutdown()
    server.server_close()
    thread.join()


def _run(
    env: dict[str, str], capture: Capture, args: list[str]
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Run kubectl; return its stdout, the POST's headers and the decoded body."""
    capture.posts.clear()
    cache = Path(env["HOME"]) / "cache"
    result = subprocess.run(
        ["kubectl", "--cache-dir", str(cache), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(capture.posts) == 1
    path, headers, body = capture.posts[0]
    assert headers["Content-Type"] == protobuf.PROTOBUF_CONTENT_TYPE
    assert body.startswith(protobuf.MAGIC)
    return result.stdout + f"\nPOST {path}", headers, protobuf.decode(body)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


LIVE_CASES: list[tuple[str, list[str], str, dict[str, Any]]] = [
    (
        "create namespace",
        ["create", "namespace", "demo"],
        "POST /api/v1/namespaces?",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}},
    ),
    (
        "create secret generic with literals and type",
        [
            "create",
            "secret",
            "generic",
            "creds",
            "--from-literal=username=admin",
            "--from-literal=password=s3cr=t",
            "--type=kubernetes.io/basic-auth",
        ],
        "POST /api/v1/namespaces/default/secrets?",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "data": {"username": _b64("admin"), "password": _b64("s3cr=t")},
            "type": "kubernetes.io/basic-auth",
        },
    ),
    (
        "create secret generic in another namespace",
        ["create", "secret", "generic", "hmac", "-n", "flux-system", "--from-literal=hmac-key=k"],
        "POST /api/v1/namespaces/flux-system/secrets?",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hmac", "namespace": "flux-system"},
            "data": {"hmac-key": _b64("k")},
        },
    ),
    (
        "create configmap with literals",
        ["create", "configmap", "settings", "--from-literal=a=1", "--from-literal=b=two"],
        "POST /api/v1/namespaces/default/configmaps?",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {"a": "1", "b": "two"},
        },
    ),
    (
        "create serviceaccount",
        ["create", "serviceaccount", "ferryman"],
        "POST /api/v1/namespaces/default/serviceaccounts?",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ferryman"}},
    ),
    (
        "create role with verbs, resources and names",
        [
            "create",
            "role",
            "reader",
            "--verb=get,list",
            "--resource=pods,secrets",
            "--resource-name=a",
        ],
        f"POST /apis/{RBAC}/namespaces/default/roles?",
        {
            "apiVersion": RBAC,
            "kind": "Role",
            "metadata": {"name": "reader"},
            "rules": [
                {
                    "verbs": ["get", "list"],
                    "apiGroups": [""],
                    "resources": ["pods", "secrets"],
                    "resourceNames": ["a"],
                }
            ],
        },
    ),
    (
        "create clusterrole with a subresource and a non-resource URL",
        [
            "create",
            "clusterrole",
            "approver",
            "--verb=get",
            "--resource=pods/status",
            "--non-resource-url=/healthz",
        ],
        f"POST /apis/{RBAC}/clusterroles?",
        {
            "apiVersion": RBAC,
            "kind": "ClusterRole",
            "metadata": {"name": "approver"},
            "rules": [
                {"verbs": ["get"], "apiGroups": [""], "resources": ["pods/status"]},
                {"verbs": ["get"], "nonResourceURLs": ["/healthz"]},
            ],
        },
    ),
    (
        "create clusterrole with an aggregation rule",
        ["create", "clusterrole", "aggregate", "--aggregation-rule=team=a,tier=b"],
        f"POST /apis/{RBAC}/clusterroles?",
        {
            "apiVersion": RBAC,
            "kind": "ClusterRole",
            "metadata": {"name": "aggregate"},
            "aggregationRule": {
                "clusterRoleSelectors": [{"matchLabels": {"team": "a", "tier": "b"}}]
            },
        },
    ),
    (
        "create rolebinding to a clusterrole for user, group and service account",
        [
            "create",
            "rolebinding",
            "rb",
            "--clusterrole=reader",
            "--user=bob",
            "--group=devs",
            "--serviceaccount=ops:robot",
        ],
        f"POST /apis/{RBAC}/namespaces/default/rolebindings?",
        {
            "apiVersion": RBAC,
            "kind": "RoleBinding",
            "metadata": {"name": "rb"},
            "subjects": [
                {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "bob"},
                {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "devs"},
                {"kind": "ServiceAccount", "name": "robot", "namespace": "ops"},
            ],
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "reader",
            },
        },
    ),
    (
        "create clusterrolebinding",
        ["create", "clusterrolebinding", "crb", "--clusterrole=admin", "--user=alice"],
        f"POST /apis/{RBAC}/clusterrolebindings?",
        {
            "apiVersion": RBAC,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "crb"},
            "subjects": [
                {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}
            ],
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "admin",
            },
        },
    ),
    (
        "auth can-i with resource attributes",
        ["auth", "can-i", "approve", "pipelines/web", "-n", "apps"],
        f"POST /apis/{AUTHZ}/selfsubjectaccessreviews",
        {
            "apiVersion": AUTHZ,
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "namespace": "apps",
                    "verb": "approve",
                    "group": "pipelines.weave.works",
                    "resource": "pipelines",
                    "name": "web",
                }
            },
        },
    ),
    (
        "auth can-i with a subresource",
        ["auth", "can-i", "patch", "pods", "--subresource=status"],
        f"POST /apis/{AUTHZ}/selfsubjectaccessreviews",
        {
            "apiVersion": AUTHZ,
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "namespace": "default",
                    "verb": "patch",
                    "resource": "pods",
                    "subresource": "status",
                }
            },
        },
    ),
    (
        "auth can-i with non-resource attributes",
        ["auth", "can-i", "get", "/healthz"],
        f"POST /apis/{AUTHZ}/selfsubjectaccessreviews",
        {
            "apiVersion": AUTHZ,
            "kind": "SelfSubjectAccessReview",
            "spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}},
        },
    ),
]


@pytest.mark.kubectl
@pytest.mark.parametrize(
    ("args", "path", "expected"),
    [case[1:] for case in LIVE_CASES],
    ids=[case[0] for case in LIVE_CASES],
)
def test_real_kubectl_body_decodes_field_by_field(
    kubectl_env: tuple[dict[str, str], Capture],
    args: list[str],
    path: str,
    expected: dict[str, Any],
) -> None:
    """kubectl's protobuf body decodes to exactly the JSON object it stands for."""
    env, capture = kubectl_env
    output, _, decoded = _run(env, capture, args)
    assert path in output
    assert decoded == expected


@pytest.mark.kubectl
def test_kubectl_accepts_json_answers_to_protobuf_requests(
    kubectl_env: tuple[dict[str, str], Capture],
) -> None:
    """kubectl prints success from a JSON answer, so the server never needs to encode protobuf."""
    env, capture = kubectl_env
    output, _, _ = _run(env, capture, ["create", "secret", "generic", "s", "--from-literal=a=b"])
    assert "secret/s created" in output
    output, _, _ = _run(env, capture, ["auth", "can-i", "get", "secrets"])
    assert output.startswith("yes")


@pytest.mark.kubectl
def test_impersonation_travels_in_headers_not_in_the_review(
    kubectl_env: tuple[dict[str, str], Capture],
) -> None:
    """``auth can-i --as/--as-group`` sends Impersonate-* headers; the body has no user."""
    env, capture = kubectl_env
    _, headers, decoded = _run(
        env, capture, ["auth", "can-i", "list", "secrets", "--as=bob", "--as-group=devs"]
    )
    assert headers["Impersonate-User"] == "bob"
    assert headers["Impersonate-Group"] == "devs"
    assert "user" not in decoded["spec"]


@pytest.mark.kubectl
def test_save_config_annotation_is_decoded(kubectl_env: tuple[dict[str, str], Capture]) -> None:
    """ObjectMeta annotations (here kubectl's last-applied-configuration) come through."""
    env, capture = kubectl_env
    _, _, decoded = _run(env, capture, ["create", "configmap", "c", "--save-config"])
    annotation = decoded["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"
    ]
    assert json.loads(annotation)["metadata"]["name"] == "c"


# --------------------------------------------------------------------------- hand-made vectors


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes | int | str) -> bytes:
    """Encode one field: ints as varints, str/bytes length-delimited."""
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _envelope(api_version: str, kind: str, raw: bytes, encoding: str = "") -> bytes:
    type_meta = _field(1, api_version) + _field(2, kind)
    return protobuf.MAGIC + _field(1, type_meta) + _field(2, raw) + _field(3, encoding)


def _entry(key: str, value: str | bytes) -> bytes:
    return _field(1, key) + _field(2, value)


def test_full_object_meta_decodes() -> None:
    """generateName, namespace, labels, annotations, finalizers, ownerReferences, times, ints."""
    owner = (
        _field(1, "Deployment")
        + _field(3, "web")
        + _field(4, "uid-1")
        + _field(5, "apps/v1")
        + _field(6, 1)
        + _field(7, 0)
    )
    created = _field(1, 1_700_000_000) + _field(2, 0)
    meta = (
        _field(2, "web-")
        + _field(3, "apps")
        + _field(7, 3)
        + _field(8, created)
        + _field(10, -1)
        + _field(11, _entry("app", "web"))
        + _field(11, _entry("tier", "front"))
        + _field(12, _entry("note", "x"))
        + _field(13, owner)
        + _field(14, "a/b")
        + _field(14, "c/d")
        + _field(99, "ignored unknown field")
    )
    secret = _field(1, meta) + _field(2, _entry("bin", b"\x00\xff")) + _field(5, 0)
    assert protobuf.decode(_envelope("v1", "Secret", secret)) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "generateName": "web-",
            "namespace": "apps",
            "generation": 3,
            "creationTimestamp": "2023-11-14T22:13:20Z",
            "deletionGracePeriodSeconds": -1,
            "labels": {"app": "web", "tier": "front"},
            "annotations": {"note": "x"},
            "ownerReferences": [
                {
                    "kind": "Deployment",
                    "name": "web",
                    "uid": "uid-1",
                    "apiVersion": "apps/v1",
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
            "finalizers": ["a/b", "c/d"],
        },
        "data": {"bin": "AP8="},
        "immutable": False,
    }


def test_subject_access_review_with_user_groups_and_extra() -> None:
    """SubjectAccessReview specs carry user, groups, extra and uid."""
    extra_value = _field(1, "a") + _field(1, "b")
    spec = (
        _field(2, _field(1, "/metrics") + _field(2, "get"))
        + _field(3, "alice")
        + _field(4, "devs")
        + _field(4, "ops")
        + _field(5, _entry("scopes", extra_value))
        + _field(6, "u-1")
    )
    body = _envelope(AUTHZ, "SubjectAccessReview", _field(2, spec))
    assert protobuf.decode(body)["spec"] == {
        "nonResourceAttributes": {"path": "/metrics", "verb": "get"},
        "user": "alice",
        "groups": ["devs", "ops"],
        "extra": {"scopes": ["a", "b"]},
        "uid": "u-1",
    }


@pytest.mark.parametrize(
    ("body", "message", "unsupported"),
    [
        (b'{"kind": "Secret"}', "k8s magic", False),
        (_envelope("apps/v1", "Deployment", b""), "apps/v1 Deployment are not supported", True),
        (_envelope("v1", "Secret", b"", encoding="gzip"), 'encoding "gzip"', True),
        (protobuf.MAGIC + b"\x0a\x05ab", "runs past the end", False),
        (protobuf.MAGIC + b"\x08\xff", "varint runs past the end", False),
        (protobuf.MAGIC + b"\x08" + b"\xff" * 11, "longer than 10 bytes", False),
        (protobuf.MAGIC + b"\x0b", "wire type 3", False),
        (protobuf.MAGIC + b"\x00", "field number 0", False),
        (protobuf.MAGIC + b"\x09\x00", "cut short", False),
        (_envelope("v1", "Secret", _field(3, 5)), 'field "type" has wire type 0', False),
        (_envelope("v1", "Secret", _field(3, b"\xff")), "not valid UTF-8", False),
        (_envelope("v1", "Secret", _field(2, _field(1, 7))), 'bad entry in map "data"', False),
    ],
    ids=[
        "JSON body",
        "kind without a decoder",
        "compressed content",
        "truncated length-delimited field",
        "truncated varint",
        "overlong varint",
        "group wire type",
        "field number zero",
        "truncated fixed64",
        "string field as varint",
        "invalid UTF-8",
        "map entry with a varint key",
    ],
)
def test_bad_bodies_raise_clear_errors(body: bytes, message: str, unsupported: bool) -> None:
    """Malformed bodies (400) and unsupported kinds (415) raise ProtobufError with a sentence."""
    with pytest.raises(protobuf.ProtobufError, match=message) as caught:
        protobuf.decode(body)
    assert caught.value.unsupported is unsupported
