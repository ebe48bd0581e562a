"""The first kubectl commands people type, against built-in kinds of the embedded API server."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import REPO, Kubectl

TOKEN_REVIEW = """
apiVersion: authentication.k8s.io/v1
kind: TokenReview
spec:
  token: not-a-token
"""
BAD_CONFIG_MAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: bad
data:
  a: 1
"""


def test_install_and_get_all(kubectl: Kubectl) -> None:
    """``apply -k config/default``, then ``get all -A`` lists the install with real columns."""
    applied = kubectl.run("apply", "-k", str(REPO / "config" / "default")).stdout
    assert "deployment.apps/ferryman-controller created" in applied
    assert "service/ferryman created" in applied
    listing = kubectl.run("get", "all", "-A").stdout
    assert "service/kubernetes" in listing
    assert "deployment.apps/ferryman-controller   0/2" in listing
    header = next(line for line in listing.splitlines() if "CLUSTER-IP" in line)
    assert header.split() == [
        "NAMESPACE",
        "NAME",
        "TYPE",
        "CLUSTER-IP",
        "EXTERNAL-IP",
        "PORT(S)",
        "AGE",
    ]
    wide = kubectl.run("get", "clusterrolebinding", "ferryman-controller", "-o", "wide").stdout
    assert wide.split("\n")[0].split() == [
        "NAME",
        "ROLE",
        "AGE",
        "USERS",
        "GROUPS",
        "SERVICEACCOUNTS",
    ]
    assert "ferryman-system/ferryman-controller" in wide


def test_create_review_kinds_and_lists_with_default_validation(
    kubectl: Kubectl, tmp_path: Path
) -> None:
    """Kinds without PATCH and ``kind: List`` files validate against /openapi/v2 (protobuf)."""
    review = tmp_path / "review.yaml"
    review.write_text(TOKEN_REVIEW, encoding="utf-8")
    created = kubectl.run("create", "-f", str(review), "-o", "json").stdout
    assert json.loads(created)["status"]["authenticated"] is False
    kubectl.run("create", "configmap", "settings", "--from-literal=level=debug")
    exported = kubectl.run("get", "cm", "settings", "-o", "yaml").stdout
    listed = kubectl.run("get", "cm", "-o", "yaml").stdout
    assert "kind: List" in listed
    reapplied = kubectl.run("apply", "-f", "-", stdin=listed).stdout
    assert "configmap/settings" in reapplied
    assert "level: debug" in exported


def test_auth_commands(kubectl: Kubectl) -> None:
    """whoami (SelfSubjectReview over protobuf), can-i --list, create token and cluster-info."""
    whoami = kubectl.run("auth", "whoami").stdout
    assert "admin" in whoami and "system:masters" in whoami
    rules = kubectl.run("auth", "can-i", "--list").stdout
    assert "*.*" in rules
    token = kubectl.run("create", "token", "default").stdout.strip()
    assert token.count(".") == 2
    kubectl.run("create", "role", "pod-reader", "--verb=get", "--resource=pods")
    info = kubectl.run("cluster-info").stdout
    assert "Kubernetes control plane is running at https://127.0.0.1:" in info


def test_explain_built_in_fields(kubectl: Kubectl) -> None:
    """explain reads the upstream schemas (no placeholders for RBAC or Leases)."""
    subjects = kubectl.run("explain", "rolebinding.subjects").stdout
    assert "kind\t<string> -required-" in subjects
    holder = kubectl.run("explain", "lease.spec.holderIdentity").stdout
    assert "holderIdentity" in holder


def test_bad_objects_fail_with_the_servers_words(kubectl: Kubectl, tmp_path: Path) -> None:
    """kubectl shows the server's refusal of a ConfigMap with a number in its data."""
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(BAD_CONFIG_MAP, encoding="utf-8")
    result = kubectl.run("apply", "-f", str(manifest), check=False)
    assert result.returncode != 0
    assert (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
        "number into Go struct field ConfigMap.data of type string"
    ) in result.stderr
