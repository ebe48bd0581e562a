"""Built-in kinds over HTTP: what Kubernetes refuses is refused, with its codes and reasons, and
the API machinery around them (paging, garbage collection, namespace defaults, tokens) behaves as
on a cluster."""

from __future__ import annotations

from typing import Any

import pytest

from ferryman.embedded.apiserver.server import EmbeddedApiServer

from .conftest import PIPELINES, Http, pipeline

CMS = "/api/v1/namespaces/default/configmaps"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
RBAC = "/apis/rbac.authorization.k8s.io/v1/namespaces/default"
JOBS = "/apis/batch/v1/namespaces/default/jobs"
CONTAINER = {"name": "c", "image": "busybox:1.36"}

REFUSED: list[Any] = [
    pytest.param(
        CMS,
        {"metadata": {"name": "a"}, "data": {"a": 1}},
        400,
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
        "number into Go struct field ConfigMap.data of type string",
        id="ConfigMap data must be strings (400)",
    ),
    pytest.param(
        LEASES,
        {"metadata": {"name": "l"}, "spec": {"leaseDurationSeconds": "ten"}},
        400,
        'Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal string into '
        "Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32",
        id="Lease duration must be a number (400)",
    ),
    pytest.param(
        LEASES,
        {"metadata": {"name": "l"}, "spec": {"renewTime": "2024-01-01T00:00:00Z"}},
        400,
        'Lease in version "v1" cannot be handled as a Lease: parsing time "2024-01-01T00:00:00Z" '
        'as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"',
        id="MicroTime has exactly six fractional digits (400)",
    ),
    pytest.param(
        LEASES,
        {"metadata": {"name": "l"}, "spec": {"leaseDurationSeconds": -1}},
        422,
        'Lease.coordination.k8s.io "l" is invalid: spec.leaseDurationSeconds: Invalid value: -1: '
        "must be greater than 0",
        id="negative lease duration (422)",
    ),
    pytest.param(
        f"{RBAC}/roles",
        {"metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]},
        422,
        'Role.rbac.authorization.k8s.io "r" is invalid: rules[0].verbs: Required value: verbs '
        "must contain at least one value",
        id="a role rule without verbs (422)",
    ),
    pytest.param(
        f"{RBAC}/rolebindings",
        {"metadata": {"name": "rb"}, "subjects": [{"kind": "User", "name": "bob"}]},
        422,
        'RoleBinding.rbac.authorization.k8s.io "rb" is invalid: [roleRef.kind: Unsupported value: '
        '"": supported values: "Role", "ClusterRole", roleRef.name: Required value]',
        id="a role binding without roleRef (422)",
    ),
    pytest.param(
        "/api/v1/namespaces/kube-system/events",
        {"metadata": {"name": "e"}, "reason": "Started"},
        422,
        'Event "e" is invalid: involvedObject.namespace: Invalid value: "": does not match '
        "event.namespace",
        id="an event without involvedObject (422)",
    ),
    pytest.param(
        JOBS,
        {"metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [CONTAINER]}}}},
        422,
        'Job.batch "j" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": '
        'supported values: "OnFailure", "Never"',
        id="a Job's pods may not restart in place (422)",
    ),
    pytest.param(
        "/api/v1/namespaces/default/services",
        {"metadata": {"name": "Web"}, "spec": {"ports": [{"port": 80}]}},
        422,
        'Service "Web" is invalid: metadata.name: Invalid value: "Web": a DNS-1035 label must '
        "consist of lower case alphanumeric characters or '-', start with an alphabetic "
        "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
        "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        id="Service names are DNS-1035 labels (422)",
    ),
    pytest.param(
        CMS,
        {"metadata": {"name": "a", "labels": {"bad key": "x"}}},
        422,
        'ConfigMap "a" is invalid: metadata.labels: Invalid value: "bad key": name part must '
        "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
        "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        id="label keys are qualified names (422)",
    ),
]


@pytest.mark.parametrize(("path", "body", "code", "message"), REFUSED)
def test_bad_objects_are_refused_like_kubernetes(
    http: Http, path: str, body: dict[str, Any], code: int, message: str
) -> None:
    """Each object the issue lists is refused with Kubernetes' code, reason and message."""
    reply = http.post(path, body)
    assert reply.status == code, reply.body
    assert reply.body["reason"] == ("BadRequest" if code == 400 else "Invalid")
    assert reply.body["message"] == message


def test_unknown_fields_warn_or_fail_strictly(http: Http) -> None:
    """Unknown fields of a built-in give a Warning by default and a 400 with Strict."""
    body = {"metadata": {"name": "u", "colour": "red"}, "data": {"a": "1"}, "bogus": 1}
    warned = http.post(CMS, body)
    assert warned.status == 201
    assert warned.headers["warning"] == [
        '299 - "unknown field \\"bogus\\""',
        '299 - "unknown field \\"metadata.colour\\""',
    ]
    assert "bogus" not in warned.body
    strict = http.post(f"{CMS}?fieldValidation=Strict", {**body, "metadata": {"name": "v"}})
    assert strict.status == 400
    assert strict.body["message"] == 'strict decoding error: unknown field "bogus"'


def test_immutable_configmap_and_secret_type(http: Http) -> None:
    """An immutable ConfigMap keeps its data; a Secret keeps its type."""
    http.post(CMS, {"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": True})
    changed = http.patch(f"{CMS}/frozen", {"data": {"a": "2"}})
    assert changed.status == 422
    assert changed.body["message"] == (
        'ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    )
    secrets = "/api/v1/namespaces/default/secrets"
    http.post(secrets, {"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    retyped = http.patch(f"{secrets}/s", {"type": "kubernetes.io/basic-auth"})
    assert retyped.status == 422
    assert retyped.body["details"]["causes"][0] == {
        "reason": "FieldValueInvalid",
        "message": 'Invalid value: "kubernetes.io/basic-auth": field is immutable',
        "field": "type",
    }


def test_role_binding_role_ref_is_immutable(http: Http) -> None:
    """roleRef cannot change once the binding exists."""
    binding = {
        "metadata": {"name": "rb"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "bob"}],
    }
    created = http.post(f"{RBAC}/rolebindings", binding)
    assert created.status == 201
    assert created.body["subjects"][0]["apiGroup"] == "rbac.authorization.k8s.io"  # defaulted
    moved = http.patch(f"{RBAC}/rolebindings/rb", {"roleRef": {"name": "edit"}})
    assert moved.status == 422
    assert moved.body["details"]["causes"][0]["message"] == (
        'Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", '
        'Name:"edit"}: cannot change roleRef'
    )


def test_job_is_defaulted_and_its_status_is_written_by_tests(http: Http) -> None:
    """A Job gets its generated selector and defaults; /status is the Job controller's part."""
    job = {
        "metadata": {"name": "gate"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [CONTAINER]}}},
    }
    created = http.post(JOBS, job).body
    uid = created["metadata"]["uid"]
    assert created["spec"]["selector"] == {
        "matchLabels": {"batch.kubernetes.io/controller-uid": uid}
    }
    assert created["spec"]["template"]["metadata"]["labels"]["job-name"] == "gate"
    assert created["spec"]["backoffLimit"] == 6
    assert created["metadata"]["generation"] == 1
    status = {
        "status": {
            "startTime": "2024-01-01T00:00:00Z",
            "completionTime": "2024-01-01T00:01:00Z",
            "succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True"}],
        }
    }
    written = http.patch(f"{JOBS}/gate/status", status)
    assert written.status == 200, written.body
    assert written.body["status"]["succeeded"] == 1
    assert written.body["metadata"]["generation"] == 1
    table = http.get(JOBS, accept="application/json;as=Table;v=v1;g=meta.k8s.io").body
    names = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert names == ["Name", "Status", "Completions", "Duration", "Age"]
    assert table["rows"][0]["cells"][1:4] == ["Complete", "1/1", "60s"]
    spec_change = http.patch(
        f"{JOBS}/gate", {"spec": {"template": {"spec": {"restartPolicy": "OnFailure"}}}}
    )
    assert spec_change.status == 422


def test_api_machinery_422s(http: Http) -> None:
    """Bad list, patch and delete options are 422s on the options' own kinds."""
    listed = http.get(f"{CMS}?resourceVersionMatch=NotOlderThan")
    assert listed.status == 422
    assert listed.body["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "resourceVersionMatch is forbidden unless resourceVersion is provided"
    )
    http.post(CMS, {"metadata": {"name": "a"}})
    forced = http.patch(f"{CMS}/a?force=true", {"data": {"b": "c"}})
    assert forced.status == 422
    assert forced.body["details"]["kind"] == "PatchOptions"
    applied = http.patch(f"{CMS}/a", {"data": {}}, content_type="application/apply-patch+yaml")
    assert applied.status == 422
    assert applied.body["details"]["causes"][0]["field"] == "fieldManager"


def test_pages_are_one_snapshot_with_remaining_count(http: Http) -> None:
    """Later pages show the objects as of the first page; remainingItemCount counts the rest."""
    for i in range(4):
        http.post(CMS, {"metadata": {"name": f"p{i}", "labels": {"page": "yes"}}})
    first = http.get(f"{CMS}?limit=2").body
    assert [o["metadata"]["name"] for o in first["items"]] == ["kube-root-ca.crt", "p0"]
    assert first["metadata"]["remainingItemCount"] == 3
    http.delete(f"{CMS}/p2")
    http.post(CMS, {"metadata": {"name": "p9"}})
    http.patch(f"{CMS}/p3", {"data": {"later": "yes"}})
    rest = http.get(f"{CMS}?limit=10&continue={first['metadata']['continue']}").body
    assert [o["metadata"]["name"] for o in rest["items"]] == ["p1", "p2", "p3"]
    assert "data" not in rest["items"][2]
    assert rest["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    filtered = http.get(f"{CMS}?limit=1&labelSelector=page%3Dyes").body
    assert "remainingItemCount" not in filtered["metadata"]  # not exact under a selector


def _owned(http: Http, owner: dict[str, Any], name: str, **meta: Any) -> None:
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": True,
    }
    assert (
        http.post(CMS, {"metadata": {"name": name, "ownerReferences": [ref], **meta}}).status == 201
    )


@pytest.mark.parametrize(
    ("policy", "dependent_left"),
    [
        pytest.param("Background", False, id="background deletes dependents"),
        pytest.param("Orphan", True, id="orphan keeps them without the reference"),
        pytest.param("Foreground", False, id="foreground deletes them first"),
    ],
)
def test_garbage_collection(http: Http, policy: str, dependent_left: bool) -> None:
    """Deleting an owner collects (or orphans) its dependents by ownerReferences."""
    owner = http.post(CMS, {"metadata": {"name": "owner"}}).body
    _owned(http, owner, "dependent")
    assert http.delete(f"{CMS}/owner", {"propagationPolicy": policy}).status == 200
    assert http.get(f"{CMS}/owner").status == 404
    dependent = http.get(f"{CMS}/dependent")
    assert (dependent.status == 200) is dependent_left
    if dependent_left:
        assert "ownerReferences" not in dependent.body["metadata"]


def test_foreground_waits_for_a_finalized_dependent(http: Http) -> None:
    """The owner keeps the foregroundDeletion finalizer until the blocking dependent is gone."""
    owner = http.post(CMS, {"metadata": {"name": "owner"}}).body
    _owned(http, owner, "held", finalizers=["example.com/hold"])
    deleting = http.delete(f"{CMS}/owner", {"propagationPolicy": "Foreground"}).body
    assert deleting["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert http.get(f"{CMS}/held").body["metadata"]["deletionTimestamp"]
    http.patch(f"{CMS}/held", {"metadata": {"finalizers": None}})
    assert http.get(f"{CMS}/held").status == 404
    assert http.get(f"{CMS}/owner").status == 404


def test_generation_moves_when_deletion_starts(http: Http) -> None:
    """Setting deletionTimestamp bumps a tracked generation, as BeforeDelete does."""
    deployment = {
        "metadata": {"name": "web", "finalizers": ["example.com/hold"]},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [CONTAINER]},
            },
        },
    }
    path = "/apis/apps/v1/namespaces/default/deployments"
    assert http.post(path, deployment).body["metadata"]["generation"] == 1
    deleted = http.delete(f"{path}/web").body
    assert deleted["metadata"]["generation"] == 2
    assert deleted["metadata"]["deletionTimestamp"]


def test_namespaces_get_their_defaults(http: Http) -> None:
    """A new namespace has its name label, default ServiceAccount and kube-root-ca.crt."""
    created = http.post("/api/v1/namespaces", {"metadata": {"name": "team"}}).body
    assert created["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    assert http.get("/api/v1/namespaces/team/serviceaccounts/default").status == 200
    ca = http.get("/api/v1/namespaces/team/configmaps/kube-root-ca.crt").body
    assert ca["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    service = http.get("/api/v1/namespaces/default/services/kubernetes").body
    assert service["spec"]["clusterIP"] == "10.96.0.1"


def test_token_request_issues_a_token_the_server_accepts(
    apiserver: EmbeddedApiServer, http: Http
) -> None:
    """serviceaccounts/{name}/token answers a TokenRequest whose token authenticates as the SA,
    until the service account is deleted."""
    http.post("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "bot"}})
    issued = http.post(
        "/api/v1/namespaces/default/serviceaccounts/bot/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    assert issued.status == 201
    token = issued.body["status"]["token"]
    assert issued.body["spec"]["expirationSeconds"] == 3600
    as_bot = Http(apiserver, token)
    who = as_bot.post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    ).body
    assert who["status"]["userInfo"]["username"] == "system:serviceaccount:default:bot"
    assert "system:serviceaccounts:default" in who["status"]["userInfo"]["groups"]
    http.delete("/api/v1/namespaces/default/serviceaccounts/bot")
    assert as_bot.get("/api/v1/namespaces").status == 401


def test_rules_review_lists_what_rbac_grants(apiserver: EmbeddedApiServer, http: Http) -> None:
    """SelfSubjectRulesReview answers with the rules of the bindings that name the requester."""
    review = http.post(
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        {"spec": {"namespace": "default"}},
    ).body
    assert {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]} in review["status"][
        "resourceRules"
    ]


def test_crd_selectable_fields_select(crd_server: EmbeddedApiServer, http: Http) -> None:
    """A CRD's selectableFields become field selectors; other fields are still refused."""
    crd = http.get(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/pipelines.pipelines.weave.works"
    ).body
    crd["spec"]["versions"][0]["selectableFields"] = [{"jsonPath": ".spec.appRef.name"}]
    assert (
        http.put(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/pipelines.pipelines.weave.works",
            crd,
        ).status
        == 200
    )
    http.post(PIPELINES, pipeline("web"))
    http.post(PIPELINES, pipeline("api"))
    found = http.get(f"{PIPELINES}?fieldSelector=spec.appRef.name%3Dapi").body["items"]
    assert [p["metadata"]["name"] for p in found] == ["api"]
    assert http.get(f"{PIPELINES}?fieldSelector=spec.suspend%3Dtrue").status == 400
