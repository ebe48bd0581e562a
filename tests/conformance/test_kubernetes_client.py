"""The official ``kubernetes`` Python client against the embedded API server.

A client nobody here wrote: its typed models are generated from Kubernetes' own OpenAPI, so
whatever the server returns must deserialise into them, and its errors are ``ApiException`` with
the server's status, reason and body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from ferryman.embedded.apiserver import testing
from ferryman.embedded.apiserver.server import EmbeddedApiServer


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[EmbeddedApiServer, client.ApiClient]]:
    """A fresh server and an ApiClient built from its kubeconfig, as a user would build it."""
    with testing.serve(tmp_path / "api") as server:
        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(server.kubeconfig_path), client_configuration=configuration
        )
        # One connection per request: a pooled keep-alive connection still open when the
        # in-process server stops leaves its transport unclosed (a ResourceWarning, an error
        # under -W error), which says nothing about the server's API.
        with client.ApiClient(configuration, "Connection", "close") as api_client:
            yield server, api_client


def _deployment(name: str) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="web", image="nginx:1.27")]
                ),
            ),
        ),
    )


def test_typed_workloads_round_trip(api: tuple[EmbeddedApiServer, client.ApiClient]) -> None:
    """Deployments, Services and Jobs are created, defaulted and read back as typed models."""
    _, api_client = api
    apps, core, batch = (
        client.AppsV1Api(api_client),
        client.CoreV1Api(api_client),
        client.BatchV1Api(api_client),
    )
    created = apps.create_namespaced_deployment("default", _deployment("web"))
    assert created.spec.replicas == 1
    assert created.spec.strategy.rolling_update.max_surge == "25%"
    assert created.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"
    service = core.create_namespaced_service(
        "default",
        client.V1Service(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1ServiceSpec(
                selector={"app": "web"}, ports=[client.V1ServicePort(port=80, target_port=8080)]
            ),
        ),
    )
    assert service.spec.cluster_ip.startswith("10.96.")
    job = batch.create_namespaced_job(
        "default",
        client.V1Job(
            metadata=client.V1ObjectMeta(name="gate"),
            spec=client.V1JobSpec(
                template=client.V1PodTemplateSpec(
                    spec=client.V1PodSpec(
                        restart_policy="Never",
                        containers=[client.V1Container(name="check", image="busybox:1.36")],
                    )
                )
            ),
        ),
    )
    assert job.spec.selector.match_labels == {
        "batch.kubernetes.io/controller-uid": job.metadata.uid
    }
    batch.patch_namespaced_job_status(
        "gate",
        "default",
        {"status": {"active": 1, "startTime": "2024-01-01T00:00:00Z"}},
    )
    assert batch.read_namespaced_job_status("gate", "default").status.active == 1
    names = [d.metadata.name for d in apps.list_deployment_for_all_namespaces().items]
    assert names == ["web"]


def test_errors_carry_kubernetes_status(api: tuple[EmbeddedApiServer, client.ApiClient]) -> None:
    """Refusals arrive as ApiException with the Status code, reason and message."""
    _, api_client = api
    core = client.CoreV1Api(api_client)
    with pytest.raises(ApiException) as bad_type:
        core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"a": 1}})
    assert bad_type.value.status == 400
    assert (
        "cannot unmarshal number into Go struct field ConfigMap.data"
        in json.loads(bad_type.value.body)["message"]
    )
    rbac = client.RbacAuthorizationV1Api(api_client)
    with pytest.raises(ApiException) as invalid:
        rbac.create_namespaced_role(
            "default",
            {"metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]},
        )
    status = json.loads(invalid.value.body)
    assert (invalid.value.status, status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "rules[0].verbs"
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_secret("nope", "default")
    assert missing.value.status == 404


def test_paging_watch_and_cascading_delete(
    api: tuple[EmbeddedApiServer, client.ApiClient],
) -> None:
    """_continue pages, a watch from the list's RV, and propagation_policy on delete."""
    _, api_client = api
    core = client.CoreV1Api(api_client)
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    for i in range(3):
        core.create_namespaced_config_map(
            "default",
            {
                "metadata": {
                    "name": f"dep-{i}",
                    "ownerReferences": [
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "name": "owner",
                            "uid": owner.metadata.uid,
                        }
                    ],
                }
            },
        )
    page = core.list_namespaced_config_map("default", limit=2)
    assert page.metadata.remaining_item_count == 3
    rest = core.list_namespaced_config_map("default", limit=10, _continue=page.metadata._continue)
    seen = [c.metadata.name for c in page.items + rest.items]
    assert seen == ["dep-0", "dep-1", "dep-2", "kube-root-ca.crt", "owner"]
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Background")
    events = watch.Watch().stream(
        core.list_namespaced_config_map,
        "default",
        resource_version=rest.metadata.resource_version,
        timeout_seconds=1,
    )
    deleted = sorted(e["object"].metadata.name for e in events if e["type"] == "DELETED")
    assert deleted == ["dep-0", "dep-1", "dep-2", "owner"]


def test_reviews_and_tokens(api: tuple[EmbeddedApiServer, client.ApiClient]) -> None:
    """SelfSubjectReview, SelfSubjectRulesReview and a TokenRequest that authenticates."""
    server, api_client = api
    authentication = client.AuthenticationV1Api(api_client)
    me = authentication.create_self_subject_review(client.V1SelfSubjectReview())
    assert me.status.user_info.username == "admin"
    rules = client.AuthorizationV1Api(api_client).create_self_subject_rules_review(
        client.V1SelfSubjectRulesReview(
            spec=client.V1SelfSubjectRulesReviewSpec(namespace="default")
        )
    )
    assert any(r.resources == ["*"] for r in rules.status.resource_rules)
    core = client.CoreV1Api(api_client)
    token = core.create_namespaced_service_account_token(
        "default",
        "default",
        client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[])),
    ).status.token
    review = authentication.create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token))
    )
    assert review.status.authenticated is True
    assert review.status.user.username == "system:serviceaccount:default:default"
    del server
