"""The real kubectl's imperative commands, RBAC checks and server-side apply against the server.

``kubectl create …`` and ``kubectl auth can-i`` send protobuf bodies; ``--as``/``--as-group``
impersonate; ``apply --server-side`` exercises field ownership and conflicts.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.integration.apiserver.conftest import Http

from ferryman.embedded.apiserver import testing

from .conftest import KUBECTL, REPO, Kubectl

GENERATED_CRD = REPO / "config" / "crd" / "bases" / "pipelines.weave.works_pipelines.yaml"
KUSTOMIZATION = REPO / "config" / "default"
TOKENS = 'alice-token,alice,u-alice,"approvers"\nbob-token,bob,u-bob,""\n'
#: Kinds the embedded server serves; kustomize output also holds a Deployment and a Service.
SERVED_KINDS = {
    "Namespace",
    "CustomResourceDefinition",
    "ServiceAccount",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
}
PIPELINE = """
apiVersion: pipelines.weave.works/v1alpha1
kind: Pipeline
metadata:
  name: web
  namespace: team
  labels:
    tier: frontend
spec:
  appRef:
    apiVersion: helm.toolkit.fluxcd.io/v2
    kind: HelmRelease
    name: {app}
  environments:
  - name: dev
    targets:
    - namespace: dev
"""


@pytest.fixture
def k(tmp_path: Path) -> Iterator[Kubectl]:
    """kubectl (admin) against a server with alice and bob in a token file; FAILS without it."""
    if not KUBECTL.exists():
        pytest.fail(f"{KUBECTL} is required by the kubectl conformance suite but is not installed")
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(TOKENS, encoding="utf-8")
    with testing.serve(tmp_path / "api", token_file=tokens) as server:
        yield Kubectl(server, tmp_path / "kube-cache")


def can_i(k: Kubectl, *args: str) -> str:
    """``kubectl auth can-i`` → "yes" or "no" (exit status 1 means no, not failure)."""
    result = k.run("auth", "can-i", *args, check=False)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout.strip()


def test_create_commands_send_protobuf_and_work(k: Kubectl) -> None:
    """namespace, secret (type defaults to Opaque), configmap, serviceaccount, RBAC objects."""
    k.run("create", "namespace", "team")
    k.run("create", "secret", "generic", "creds", "-n", "team", "--from-literal=token=s3cret")
    secret = json.loads(k.run("get", "secret", "creds", "-n", "team", "-o", "json").stdout)
    assert secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["token"]) == b"s3cret"
    k.run("create", "configmap", "cfg", "-n", "team", "--from-literal=a=b")
    assert k.run("get", "cm", "cfg", "-n", "team", "-o", "jsonpath={.data.a}").stdout == "b"
    k.run("create", "serviceaccount", "bot", "-n", "team")
    k.run("create", "role", "reader", "-n", "team", "--verb=get", "--resource=configmaps")
    k.run(
        "create",
        "rolebinding",
        "bot-reads",
        "-n",
        "team",
        "--role=reader",
        "--serviceaccount=team:bot",
    )
    k.run("create", "clusterrole", "lister", "--verb=list", "--resource=namespaces")
    k.run("create", "clusterrolebinding", "bob-lists", "--clusterrole=lister", "--user=bob")
    assert (
        can_i(k, "get", "configmaps", "-n", "team", "--as", "system:serviceaccount:team:bot")
        == "yes"
    )
    assert (
        can_i(k, "get", "secrets", "-n", "team", "--as", "system:serviceaccount:team:bot") == "no"
    )
    assert can_i(k, "list", "namespaces", "--as", "bob") == "yes"


def test_can_i_approve_agrees_with_the_approval_path(k: Kubectl) -> None:
    """`auth can-i approve` (impersonated and with the user's own token) matches TokenReview+SAR."""
    k.run("create", "namespace", "team")
    k.run("apply", "--server-side", "-f", str(GENERATED_CRD))
    k.run(
        "create",
        "clusterrole",
        "web-approver",
        "--verb=approve",
        "--resource=pipelines.pipelines.weave.works",
        "--resource-name=web",
    )
    k.run(
        "create",
        "rolebinding",
        "approvers",
        "-n",
        "team",
        "--clusterrole=web-approver",
        "--group=approvers",
    )
    http = Http(k.server)
    for token, user, groups in (("alice-token", "alice", ["approvers"]), ("bob-token", "bob", [])):
        identity = http.post(
            "/apis/authentication.k8s.io/v1/tokenreviews", {"spec": {"token": token}}
        ).body["status"]["user"]
        for name in ("web", "api"):
            spec = {
                "user": identity["username"],
                "groups": identity["groups"],
                "resourceAttributes": {
                    "verb": "approve",
                    "group": "pipelines.weave.works",
                    "resource": "pipelines",
                    "namespace": "team",
                    "name": name,
                },
            }
            review = http.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", {"spec": spec})
            expected = "yes" if review.body["status"]["allowed"] else "no"
            target = f"pipelines.pipelines.weave.works/{name}"
            as_flags = ["--as", user, *[f"--as-group={g}" for g in groups]]
            assert can_i(k, "approve", target, "-n", "team", *as_flags) == expected
            assert can_i(k, "--token", token, "approve", target, "-n", "team") == expected
            assert expected == ("yes" if (user, name) == ("alice", "web") else "no")


def test_impersonation_with_kubectl_as(k: Kubectl) -> None:
    """--as works for the admin; bob, lacking the impersonate verb, is refused."""
    denied = k.run("get", "secrets", "--as", "alice", check=False)
    assert denied.returncode == 1
    assert 'User "alice" cannot list resource "secrets"' in denied.stderr
    refused = k.run("--token", "bob-token", "get", "ns", "--as", "alice", check=False)
    assert (
        'users "alice" is forbidden: User "bob" cannot impersonate resource "users"'
        in refused.stderr
    )


def test_server_side_apply_conflicts_and_force(k: Kubectl, tmp_path: Path) -> None:
    """Apply twice with a second manager: 409 naming the field, then --force-conflicts moves it."""
    k.run("create", "namespace", "team")
    k.run("apply", "--server-side", "-f", str(GENERATED_CRD))
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(PIPELINE.format(app="web"), encoding="utf-8")
    second.write_text(
        "apiVersion: pipelines.weave.works/v1alpha1\nkind: Pipeline\nmetadata:\n  name: web\n"
        "  namespace: team\nspec:\n  appRef:\n    apiVersion: helm.toolkit.fluxcd.io/v2\n"
        "    kind: HelmRelease\n    name: other\n",
        encoding="utf-8",
    )
    assert "serverside-applied" in k.run("apply", "--server-side", "-f", str(first)).stdout
    k.run("apply", "--server-side", "-f", str(first))  # idempotent
    conflict = k.run(
        "apply", "--server-side", "--field-manager=other", "-f", str(second), check=False
    )
    assert conflict.returncode == 1
    assert (
        'Apply failed with 1 conflict: conflict with "kubectl" using '
        "pipelines.weave.works/v1alpha1: .spec.appRef.name" in conflict.stderr
    )
    k.run("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", str(second))
    obj = json.loads(
        k.run("get", "pipeline", "web", "-n", "team", "-o", "json", "--show-managed-fields").stdout
    )
    assert obj["spec"]["appRef"]["name"] == "other"
    owners = {e["manager"]: e for e in obj["metadata"]["managedFields"]}
    assert owners["other"]["operation"] == "Apply"
    assert "f:name" in owners["other"]["fieldsV1"]["f:spec"]["f:appRef"]
    assert "f:name" not in owners["kubectl"]["fieldsV1"]["f:spec"]["f:appRef"]
    # kubectl stops applying the label it alone owned: the server removes it.
    first.write_text(PIPELINE.format(app="other").replace("  labels:\n    tier: frontend\n", ""))
    k.run("apply", "--server-side", "-f", str(first))
    labels = k.run(
        "get", "pipeline", "web", "-n", "team", "-o", "jsonpath={.metadata.labels}"
    ).stdout
    assert "tier" not in labels


def test_server_side_apply_of_a_secret(k: Kubectl, tmp_path: Path) -> None:
    """Secrets too: conflicting data key, then forced; the untouched key keeps its owner."""
    manifest = tmp_path / "secret.yaml"
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "default"},
        "data": {"user": base64.b64encode(b"alice").decode(), "password": "cGFzcw=="},
    }
    manifest.write_text(yaml.safe_dump(body), encoding="utf-8")
    k.run("apply", "--server-side", "-f", str(manifest))
    body["data"] = {"password": "bmV3"}
    manifest.write_text(yaml.safe_dump(body), encoding="utf-8")
    conflict = k.run(
        "apply", "--server-side", "--field-manager=rotator", "-f", str(manifest), check=False
    )
    assert 'conflict with "kubectl" using v1: .data.password' in conflict.stderr
    k.run(
        "apply",
        "--server-side",
        "--field-manager=rotator",
        "--force-conflicts",
        "-f",
        str(manifest),
    )
    data = json.loads(k.run("get", "secret", "creds", "-o", "json").stdout)["data"]
    assert data == {"user": base64.b64encode(b"alice").decode(), "password": "bmV3"}


def test_server_side_apply_of_the_kustomized_install(k: Kubectl) -> None:
    """`kubectl kustomize config/default` output (the kinds this server serves) applies twice."""
    assert KUSTOMIZATION.exists(), f"{KUSTOMIZATION} is missing"
    rendered = subprocess.run(
        [str(KUBECTL), "kustomize", str(KUSTOMIZATION)], capture_output=True, text=True, check=True
    ).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d and d.get("kind") in SERVED_KINDS]
    assert {d["kind"] for d in docs} >= {"CustomResourceDefinition", "ClusterRole", "Namespace"}
    stream = yaml.safe_dump_all(docs)
    first = k.run("apply", "--server-side", "-f", "-", stdin=stream).stdout
    assert first.count("serverside-applied") == len(docs)
    k.run("apply", "--server-side", "-f", "-", stdin=stream)
    roles = k.run("get", "clusterroles", "-o", "name").stdout
    assert "ferryman" in roles


def test_strategic_merge_for_built_in_kinds(k: Kubectl, tmp_path: Path) -> None:
    """kubectl patch (strategic by default) and client-side apply of a ConfigMap both merge."""
    k.run("create", "configmap", "cfg", "--from-literal=a=1")
    k.run("patch", "configmap", "cfg", "-p", '{"data":{"b":"2"},"metadata":{"finalizers":["x/y"]}}')
    k.run(
        "patch",
        "configmap",
        "cfg",
        "-p",
        '{"metadata":{"$deleteFromPrimitiveList/finalizers":["x/y"]}}',
    )
    obj = json.loads(k.run("get", "cm", "cfg", "-o", "json").stdout)
    assert obj["data"] == {"a": "1", "b": "2"}
    assert not obj["metadata"].get("finalizers")
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  a: '1'\n"
    )
    k.run("apply", "-f", str(manifest))
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  b: '2'\n"
    )
    k.run("apply", "-f", str(manifest))
    assert json.loads(k.run("get", "cm", "csa", "-o", "json").stdout)["data"] == {"b": "2"}


def test_protobuf_bodies_the_decoder_cannot_read(k: Kubectl) -> None:
    """415 for a kind the decoder does not know, 400 for a malformed body."""
    http = Http(k.server)
    envelope = (
        b"k8s\x00" + bytes([0x0A, 0x0E, 0x0A, 0x02]) + b"v1" + bytes([0x12, 0x08]) + b"Endpoint"
    )
    unknown = http.post(
        "/api/v1/namespaces/default/configmaps",
        None,
        raw=envelope,
        content_type="application/vnd.kubernetes.protobuf",
    )
    assert unknown.status == 415, unknown.body
    garbage = http.post(
        "/api/v1/namespaces/default/configmaps",
        None,
        raw=b"not protobuf",
        content_type="application/vnd.kubernetes.protobuf",
    )
    assert garbage.status == 400, garbage.body
