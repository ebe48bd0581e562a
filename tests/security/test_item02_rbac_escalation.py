"""Issue 16, item 2: the embedded API server must refuse RBAC escalation as kube-apiserver does.

The review, against ``ferryman up``: a user with ``admin`` in one namespace bound ``cluster-admin``
there and wrote a Role granting herself ``approve`` on pipelines; a user allowed only to create
Roles wrote one granting ``get secrets``. The same requests go to the embedded API of the running
demo, as ``gina`` (admin in ``team-a``) and ``mallory`` (may create Roles), through HTTP and
through the real ``kubectl``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.security import demo

RBAC = "/apis/rbac.authorization.k8s.io/v1"
G = "rbac.authorization.k8s.io"
HELD = "is attempting to grant RBAC permissions not currently held"


def user(name: str) -> list[dict[str, str]]:
    """One User subject."""
    return [{"apiGroup": G, "kind": "User", "name": name}]


@pytest.fixture(scope="module")
def team(up: demo.Up) -> demo.Up:
    """Namespace team-a; gina is its admin; mallory may create Roles anywhere."""
    objects: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/namespaces", {"metadata": {"name": "team-a"}}),
        (
            f"{RBAC}/namespaces/team-a/rolebindings",
            {
                "metadata": {"name": "gina-admin"},
                "roleRef": {"apiGroup": G, "kind": "ClusterRole", "name": "admin"},
                "subjects": user("gina"),
            },
        ),
        (
            f"{RBAC}/clusterroles",
            {
                "metadata": {"name": "item2-role-writer"},
                "rules": [{"apiGroups": [G], "resources": ["roles"], "verbs": ["create"]}],
            },
        ),
        (
            f"{RBAC}/clusterrolebindings",
            {
                "metadata": {"name": "item2-role-writer"},
                "roleRef": {"apiGroup": G, "kind": "ClusterRole", "name": "item2-role-writer"},
                "subjects": user("mallory"),
            },
        ),
    ]
    with demo.kube_client(up.admin_kubeconfig) as admin:
        for path, obj in objects:
            answer = admin.post(path, json=obj)
            assert answer.status_code in (201, 409), answer.text
    return up


def post(up: demo.Up, who: str, path: str, obj: dict[str, Any], tmp: Path) -> tuple[int, str]:
    """POST ``obj`` as ``who``; (status, message)."""
    with demo.kube_client(up.kubeconfig(who, tmp / f"{who}.kubeconfig")) as client:
        answer = client.post(path, json=obj)
    return answer.status_code, str(answer.json().get("message", ""))


def test_item2_namespace_admin_cannot_bind_cluster_admin(team: demo.Up, tmp_path: Path) -> None:
    """gina (admin in team-a) binds cluster-admin to herself there: 403, kube-apiserver's words."""
    binding = {
        "metadata": {"name": "gina-root"},
        "roleRef": {"apiGroup": G, "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": user("gina"),
    }
    status, message = post(
        team, "gina", f"{RBAC}/namespaces/team-a/rolebindings", binding, tmp_path
    )
    assert status == 403
    assert message.startswith(
        'rolebindings.rbac.authorization.k8s.io "gina-root" is forbidden: user "gina" '
        f'(groups=["system:authenticated"]) {HELD}:\n'
    )
    assert '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}' in message


def test_item2_namespace_admin_cannot_grant_herself_approve(team: demo.Up, tmp_path: Path) -> None:
    """gina writes a Role granting approve/reject on pipelines (admin holds neither): 403."""
    role = {
        "metadata": {"name": "self-approve"},
        "rules": [
            {
                "apiGroups": ["pipelines.weave.works"],
                "resources": ["pipelines"],
                "verbs": ["approve", "reject"],
            }
        ],
    }
    status, message = post(team, "gina", f"{RBAC}/namespaces/team-a/roles", role, tmp_path)
    assert status == 403
    assert HELD in message
    assert 'Resources:["pipelines"], Verbs:["approve" "reject"]}' in message


def test_item2_role_creator_cannot_grant_get_secrets(team: demo.Up, tmp_path: Path) -> None:
    """mallory may create Roles but holds nothing: a Role granting get secrets is refused, also
    through kubectl, which shows the API server's message."""
    role = {
        "metadata": {"name": "read-secrets"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
    }
    status, message = post(team, "mallory", f"{RBAC}/namespaces/default/roles", role, tmp_path)
    assert status == 403 and HELD in message
    kubeconfig = team.kubeconfig("mallory", tmp_path / "mallory-kubectl")
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "-n", "default", "create", "role",
         "read-secrets-2", "--verb=get", "--resource=secrets"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert HELD in done.stderr, done.stderr


def test_item2_delegation_within_held_rights_still_works(team: demo.Up, tmp_path: Path) -> None:
    """What admins legitimately do keeps working: a Role with rules gina holds, and binding the
    ``view`` role (which ``admin`` includes) in her namespace."""
    role = {
        "metadata": {"name": "cm-reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
    }
    status, message = post(team, "gina", f"{RBAC}/namespaces/team-a/roles", role, tmp_path)
    assert status in (201, 409), message
    binding = {
        "metadata": {"name": "bob-views"},
        "roleRef": {"apiGroup": G, "kind": "ClusterRole", "name": "view"},
        "subjects": user("bob"),
    }
    status, message = post(
        team, "gina", f"{RBAC}/namespaces/team-a/rolebindings", binding, tmp_path
    )
    assert status in (201, 409), message
