"""The rendered install: what it contains, what the controller may do, how the Pod runs.

Permissions are checked by evaluating the rendered roles with the embedded API server's RBAC
evaluator (Kubernetes' rules), not by string matching, so an over-broad rule shows up as a request
that is allowed where it should be denied.
"""

from __future__ import annotations

from typing import Any

import click
import pytest
from tests.integration.install.conftest import NAMESPACE, SERVICE_ACCOUNT, Rendered
from tests.integration.install.rbac_store import ManifestRBAC

from ferryman.cli import controller as controller_cmd
from ferryman.embedded.apiserver import rbac
from ferryman.settings import Settings

PIPELINES = "pipelines.weave.works"


def test_the_default_install_has_every_part(rendered: Rendered) -> None:
    """Namespace, the generated CRD, identity, roles, bindings, Deployment and Service."""
    kinds = sorted((obj["kind"], obj["metadata"]["name"]) for obj in rendered.objects)
    assert kinds == [
        ("ClusterRole", "ferryman-approver"),
        ("ClusterRole", "ferryman-controller"),
        ("ClusterRole", "ferryman-operator"),
        ("ClusterRole", "ferryman-viewer"),
        ("ClusterRoleBinding", "ferryman-controller"),
        ("CustomResourceDefinition", "pipelines.pipelines.weave.works"),
        ("Deployment", "ferryman-controller"),
        ("Namespace", NAMESPACE),
        ("Role", "ferryman-leader-election"),
        ("Role", "ferryman-ui-sessions"),
        ("RoleBinding", "ferryman-leader-election"),
        ("RoleBinding", "ferryman-ui-sessions"),
        ("Service", "ferryman"),
        ("ServiceAccount", SERVICE_ACCOUNT),
    ]
    for obj in rendered.objects:
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "ferryman"
        cluster_scoped = (
            "Namespace",
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
        )
        if obj["kind"] not in cluster_scoped:
            assert obj["metadata"]["namespace"] == NAMESPACE, obj["kind"]


def test_no_role_uses_a_wildcard(rendered: Rendered) -> None:
    """Every rule names its groups, resources and verbs: nothing grows with the cluster."""
    for kind in ("ClusterRole", "Role"):
        for role in rendered.of_kind(kind):
            for rule in role["rules"]:
                for key in ("apiGroups", "resources", "verbs"):
                    assert "*" not in rule.get(key, []), (role["metadata"]["name"], rule)


CONTROLLER_CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("reads pipelines in any namespace", {"verb": "list", "resource": "pipelines"}, True),
    ("watches pipelines", {"verb": "watch", "resource": "pipelines", "namespace": "team"}, True),
    (
        "writes pipeline status",
        {"verb": "update", "resource": "pipelines", "subresource": "status", "namespace": "team"},
        True,
    ),
    ("never writes a pipeline spec", {"verb": "update", "resource": "pipelines"}, False),
    ("never deletes a pipeline", {"verb": "delete", "resource": "pipelines"}, False),
    ("never approves by itself", {"verb": "approve", "resource": "pipelines"}, False),
    ("creates Events", {"verb": "create", "group": "events.k8s.io", "resource": "events"}, True),
    (
        "never deletes Events",
        {"verb": "delete", "group": "events.k8s.io", "resource": "events"},
        False,
    ),
    (
        "watches HelmReleases",
        {"verb": "watch", "group": "helm.toolkit.fluxcd.io", "resource": "helmreleases"},
        True,
    ),
    (
        "never patches a HelmRelease",
        {"verb": "patch", "group": "helm.toolkit.fluxcd.io", "resource": "helmreleases"},
        False,
    ),
    (
        "lists Kustomizations",
        {"verb": "list", "group": "kustomize.toolkit.fluxcd.io", "resource": "kustomizations"},
        True,
    ),
    (
        "gets Argo CD Applications",
        {"verb": "get", "group": "argoproj.io", "resource": "applications"},
        True,
    ),
    (
        "watches GitopsClusters",
        {"verb": "watch", "group": "gitops.weave.works", "resource": "gitopsclusters"},
        True,
    ),
    (
        "never changes a GitopsCluster",
        {"verb": "update", "group": "gitops.weave.works", "resource": "gitopsclusters"},
        False,
    ),
    (
        "gets one Secret in a pipeline namespace",
        {"verb": "get", "group": "", "resource": "secrets"},
        True,
    ),
    ("never lists Secrets", {"verb": "list", "group": "", "resource": "secrets"}, False),
    ("never watches Secrets", {"verb": "watch", "group": "", "resource": "secrets"}, False),
    (
        "renews its Lease in ferryman-system",
        {
            "verb": "update",
            "group": "coordination.k8s.io",
            "resource": "leases",
            "namespace": NAMESPACE,
        },
        True,
    ),
    (
        "cannot touch Leases elsewhere",
        {
            "verb": "update",
            "group": "coordination.k8s.io",
            "resource": "leases",
            "namespace": "kube-system",
        },
        False,
    ),
    (
        "asks TokenReviews",
        {
            "verb": "create",
            "group": "authentication.k8s.io",
            "resource": "tokenreviews",
            "namespace": "",
        },
        True,
    ),
    (
        "asks SubjectAccessReviews",
        {
            "verb": "create",
            "group": "authorization.k8s.io",
            "resource": "subjectaccessreviews",
            "namespace": "",
        },
        True,
    ),
    ("never reads ConfigMaps", {"verb": "get", "group": "", "resource": "configmaps"}, False),
    *[
        (
            f"{what} ({verb} secrets/{name or '*'} in {namespace})",
            {
                "verb": verb,
                "group": "",
                "resource": "secrets",
                "namespace": namespace,
                "name": name,
            },
            allowed,
        )
        for what, verb, namespace, name, allowed in [
            ("watches the UI session Secret", "watch", NAMESPACE, "ferryman-ui-sessions", True),
            ("records sign-outs", "patch", NAMESPACE, "ferryman-ui-sessions", True),
            ("creates it on first use", "create", NAMESPACE, "", True),
            ("no other Secret is watched", "watch", NAMESPACE, "", False),
            ("no other Secret is patched", "patch", NAMESPACE, "other", False),
            ("no Secret is created elsewhere", "create", "team", "", False),
        ]
    ],
]


@pytest.mark.parametrize(
    ("request_", "allowed"),
    [pytest.param(request_, allowed, id=case) for case, request_, allowed in CONTROLLER_CASES],
)
def test_controller_service_account_permissions(
    rendered: Rendered, request_: dict[str, Any], allowed: bool
) -> None:
    """The controller's service account may do what the controller needs, and nothing more."""
    attributes = rbac.Attributes(
        user=rbac.service_account_user(NAMESPACE, SERVICE_ACCOUNT),
        verb=request_["verb"],
        namespace=request_.get("namespace", "team"),
        api_group=request_.get("group", PIPELINES),
        resource=request_["resource"],
        subresource=request_.get("subresource", ""),
        name=request_.get("name", "" if request_["verb"] in ("list", "watch", "create") else "x"),
    )
    assert rbac.authorize(ManifestRBAC(rendered.objects), attributes).allowed is allowed


def _bound(rendered: Rendered, role_kind: str, role: str, namespace: str) -> ManifestRBAC:
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "grant", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
    }
    # Stand-ins for the built-in roles, with the aggregation rules Kubernetes gives them.
    builtins = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "aggregationRule": {
                "clusterRoleSelectors": [
                    {"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{label}": "true"}}
                    for label in labels
                ]
            },
            "rules": [],
        }
        for name, labels in (
            ("admin", ("admin", "edit", "view")),
            ("edit", ("edit", "view")),
            ("view", ("view",)),
        )
    ]
    return ManifestRBAC([*rendered.objects, *builtins, binding])


def _may(store: ManifestRBAC, verb: str, namespace: str, resource: str = "pipelines") -> bool:
    attributes = rbac.Attributes(
        user=rbac.UserInfo("alice", groups=("system:authenticated",)),
        verb=verb,
        namespace=namespace,
        api_group=PIPELINES,
        resource=resource,
        name="web",
    )
    return rbac.authorize(store, attributes).allowed


@pytest.mark.parametrize(
    ("role", "approve", "reject", "get"),
    [
        pytest.param("ferryman-approver", True, True, False, id="ferryman-approver approves only"),
        pytest.param("ferryman-viewer", False, False, True, id="ferryman-viewer only reads"),
        pytest.param("admin", True, True, True, id="namespace admins may approve"),
        pytest.param("edit", False, False, True, id="editors (CI robots) may not approve"),
        pytest.param("view", False, False, True, id="viewers read pipelines"),
    ],
)
def test_user_roles_and_their_aggregation(
    rendered: Rendered, role: str, approve: bool, reject: bool, get: bool
) -> None:
    """Approval is granted by ferryman-approver or namespace admin, in the bound namespace only."""
    store = _bound(rendered, "ClusterRole", role, "team-a")
    assert _may(store, "approve", "team-a") is approve
    assert _may(store, "reject", "team-a") is reject
    assert _may(store, "get", "team-a") is get
    assert _may(store, "approve", "team-b") is False
    assert _may(store, "update", "team-a") is False


def _controller_container(rendered: Rendered) -> dict[str, Any]:
    deployment = rendered.one("Deployment", "ferryman-controller")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def test_deployment_args_are_accepted_by_ferryman_controller(rendered: Rendered) -> None:
    """The Deployment's args parse as ``ferryman controller`` flags and elect a leader."""
    args = _controller_container(rendered)["args"]
    context = controller_cmd.controller.make_context("controller", list(args))
    assert context.params["leader_elect"] is True
    assert context.params["lease_namespace"] == NAMESPACE
    with pytest.raises(click.UsageError):
        controller_cmd.controller.make_context("controller", [*args, "--no-such-flag"])


def test_ports_probes_and_service_agree_with_the_flags(rendered: Rendered) -> None:
    """Probes hit the health address; the Service reaches the http address and, for metrics,
    the health address (``process.health_app`` serves ``/metrics`` beside ``/healthz``)."""
    container = _controller_container(rendered)
    params = controller_cmd.controller.make_context("controller", list(container["args"])).params
    flags = {key: value for key, value in params.items() if key not in ("log_level", "namespaces")}
    settings = Settings.from_environment({}, **flags)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": settings.address("http")[1], "health": settings.address("health")[1]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    service = rendered.one("Service", "ferryman")
    assert {(p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        (8080, "http"),
        (9090, "health"),
    }
    deployment = rendered.one("Deployment", "ferryman-controller")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_the_pod_runs_restricted(rendered: Rendered) -> None:
    """Two replicas, non-root, read-only root filesystem, no capabilities, bounded resources."""
    deployment = rendered.one("Deployment", "ferryman-controller")
    spec = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 2
    assert "--leader-elect" in spec["containers"][0]["args"]
    assert spec["serviceAccountName"] == SERVICE_ACCOUNT
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = spec["containers"][0]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert "/tmp" in mounts, "git needs a writable /tmp on a read-only root filesystem"
    namespace = rendered.one("Namespace", NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize(
    ("role", "operate"),
    [
        pytest.param("ferryman-operator", True, id="ferryman-operator holds, promotes, verifies"),
        pytest.param("admin", True, id="namespace admins may operate releases"),
        pytest.param("ferryman-approver", False, id="approvers may not hold or roll back"),
        pytest.param("edit", False, id="editors (CI robots) may not operate releases"),
        pytest.param("view", False, id="viewers may not operate releases"),
    ],
)
def test_operator_verbs_and_force_in_no_aggregated_role(
    rendered: Rendered, role: str, operate: bool
) -> None:
    """hold, promote and verify come with ferryman-operator (aggregated into admin); force, which
    promotes a revision nobody ran, is in no role the install aggregates."""
    store = _bound(rendered, "ClusterRole", role, "team-a")
    for verb in ("hold", "promote", "verify"):
        assert _may(store, verb, "team-a") is operate
        assert _may(store, verb, "team-b") is False
    assert _may(store, "force", "team-a") is False
