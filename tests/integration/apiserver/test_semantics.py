"""Kubernetes object semantics over raw HTTP: RVs, generation, /status, finalizers, Tables."""

from __future__ import annotations

from typing import Any

from ferryman.embedded.apiserver.server import EmbeddedApiServer

from .conftest import PIPELINES, Http, pipeline


def _create(http: Http, name: str = "web") -> dict[str, Any]:
    reply = http.post(PIPELINES, pipeline(name))
    assert reply.status == 201, reply.body
    body: dict[str, Any] = reply.body
    return body


def test_create_sets_server_fields(crd_server: EmbeddedApiServer, http: Http) -> None:
    """Create answers 201 with uid, creationTimestamp, generation 1 and a resourceVersion."""
    obj = _create(http)
    meta = obj["metadata"]
    assert meta["generation"] == 1
    assert meta["uid"] and meta["creationTimestamp"] and meta["resourceVersion"]
    assert meta["managedFields"][0]["manager"]


def test_noop_write_keeps_resource_version(crd_server: EmbeddedApiServer, http: Http) -> None:
    """A patch that changes nothing keeps the RV (and so emits no event)."""
    obj = _create(http)
    reply = http.patch(f"{PIPELINES}/web", {"spec": {"appRef": {"name": "web"}}})
    assert reply.status == 200
    assert reply.body["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_generation_bumps_only_on_spec_change(crd_server: EmbeddedApiServer, http: Http) -> None:
    """Labels and status leave generation alone; a spec change adds one."""
    _create(http)
    labelled = http.patch(f"{PIPELINES}/web", {"metadata": {"labels": {"tier": "web"}}}).body
    assert labelled["metadata"]["generation"] == 1
    status = http.patch(f"{PIPELINES}/web/status", {"status": {"observedGeneration": 1}}).body
    assert status["metadata"]["generation"] == 1
    changed = http.patch(f"{PIPELINES}/web", {"spec": {"appRef": {"name": "other"}}}).body
    assert changed["metadata"]["generation"] == 2


def test_status_split(crd_server: EmbeddedApiServer, http: Http) -> None:
    """The main endpoint ignores .status; /status changes only .status."""
    _create(http)
    main = http.patch(f"{PIPELINES}/web", {"status": {"observedGeneration": 7}}).body
    assert "status" not in main or main["status"].get("observedGeneration") != 7
    sub = http.patch(
        f"{PIPELINES}/web/status",
        {
            "metadata": {"labels": {"x": "y"}},
            "spec": {"appRef": {"name": "zzz"}},
            "status": {"observedGeneration": 3},
        },
    ).body
    assert sub["status"]["observedGeneration"] == 3
    assert sub["spec"]["appRef"]["name"] == "web"
    assert "labels" not in sub["metadata"]


def test_stale_put_conflicts_and_cr_put_needs_rv(crd_server: EmbeddedApiServer, http: Http) -> None:
    """PUT with a stale RV is 409 with Kubernetes' message; a CR PUT without RV is 422."""
    obj = _create(http)
    http.patch(f"{PIPELINES}/web", {"spec": {"appRef": {"name": "v2"}}})
    stale = http.put(f"{PIPELINES}/web", obj)
    assert stale.status == 409
    assert stale.body["reason"] == "Conflict"
    assert (
        "the object has been modified; please apply your changes to the latest version"
        in stale.body["message"]
    )
    del obj["metadata"]["resourceVersion"]
    missing = http.put(f"{PIPELINES}/web", obj)
    assert missing.status == 422


def test_patch_with_stale_rv_is_precondition(crd_server: EmbeddedApiServer, http: Http) -> None:
    """A merge patch or JSON patch carrying metadata.resourceVersion fails with 409 when stale."""
    obj = _create(http)
    http.patch(f"{PIPELINES}/web", {"spec": {"appRef": {"name": "v2"}}})
    merge = http.patch(
        f"{PIPELINES}/web",
        {
            "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
            "spec": {"appRef": {"name": "v3"}},
        },
    )
    assert merge.status == 409
    ops = [{"op": "test", "path": "/spec/appRef/name", "value": "nope"}]
    assert (
        http.patch(f"{PIPELINES}/web", ops, content_type="application/json-patch+json").status
        == 422
    )


def test_strategic_merge_refused_for_custom_resources(
    crd_server: EmbeddedApiServer, http: Http
) -> None:
    """Strategic merge patches answer 415 for CRs, as the real apiserver does."""
    _create(http)
    reply = http.patch(
        f"{PIPELINES}/web/status",
        {"status": {}},
        content_type="application/strategic-merge-patch+json",
    )
    assert reply.status == 415
    assert reply.body["kind"] == "Status"


def test_strategic_merge_for_builtins(apiserver: EmbeddedApiServer, http: Http) -> None:
    """Built-in kinds accept strategic merge patches."""
    cm = {"metadata": {"name": "c"}, "data": {"a": "1"}}
    assert http.post("/api/v1/namespaces/default/configmaps", cm).status == 201
    reply = http.patch(
        "/api/v1/namespaces/default/configmaps/c",
        {"data": {"b": "2"}},
        content_type="application/strategic-merge-patch+json",
    )
    assert reply.status == 200
    assert reply.body["data"] == {"a": "1", "b": "2"}


def test_apply_patch_needs_field_manager_and_creates(
    crd_server: EmbeddedApiServer, http: Http
) -> None:
    """Apply without fieldManager is 422 PatchOptions; with it, an absent object is created."""
    body = pipeline("applied")
    refused = http.patch(f"{PIPELINES}/applied", body, content_type="application/apply-patch+yaml")
    assert refused.status == 422
    assert refused.body["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for '
        "apply patch"
    )
    created = http.patch(
        f"{PIPELINES}/applied?fieldManager=me", body, content_type="application/apply-patch+yaml"
    )
    assert created.status == 201
    assert http.get(f"{PIPELINES}/applied").status == 200


def test_finalizers_delay_deletion(crd_server: EmbeddedApiServer, http: Http) -> None:
    """DELETE with finalizers marks deletion; new ones are refused; the last removal deletes."""
    _create(http)
    http.patch(f"{PIPELINES}/web", {"metadata": {"finalizers": ["a/b"]}})
    deleting = http.delete(f"{PIPELINES}/web")
    assert deleting.status == 200
    assert deleting.body["metadata"]["deletionTimestamp"]
    refused = http.patch(f"{PIPELINES}/web", {"metadata": {"finalizers": ["a/b", "c/d"]}})
    assert refused.status == 422
    done = http.patch(
        f"{PIPELINES}/web",
        [{"op": "remove", "path": "/metadata/finalizers"}],
        content_type="application/json-patch+json",
    )
    assert done.status == 200
    assert http.get(f"{PIPELINES}/web").status == 404


def test_delete_preconditions(crd_server: EmbeddedApiServer, http: Http) -> None:
    """DELETE preconditions on uid and resourceVersion are checked."""
    _create(http)
    bad_uid = http.delete(f"{PIPELINES}/web", {"preconditions": {"uid": "nope"}})
    assert bad_uid.status == 409
    bad_rv = http.delete(f"{PIPELINES}/web", {"preconditions": {"resourceVersion": "1"}})
    assert bad_rv.status == 409
    ok = http.delete(f"{PIPELINES}/web", {"propagationPolicy": "Background"})
    assert ok.status == 200
    assert ok.body["kind"] == "Pipeline"


def test_missing_namespace_is_404(apiserver: EmbeddedApiServer, http: Http) -> None:
    """Creating in a namespace that does not exist answers namespaces "x" not found."""
    reply = http.post("/api/v1/namespaces/nowhere/configmaps", {"metadata": {"name": "c"}})
    assert reply.status == 404
    assert reply.body["message"] == 'namespaces "nowhere" not found'


def test_namespace_delete_cascades(apiserver: EmbeddedApiServer, http: Http) -> None:
    """Deleting a namespace deletes its contents, then the namespace."""
    http.post("/api/v1/namespaces", {"metadata": {"name": "team"}})
    http.post("/api/v1/namespaces/team/configmaps", {"metadata": {"name": "c"}})
    assert http.delete("/api/v1/namespaces/team").status == 200
    assert http.get("/api/v1/namespaces/team/configmaps/c").status == 404
    assert http.get("/api/v1/namespaces/team").status == 404


def test_dry_run_never_persists(crd_server: EmbeddedApiServer, http: Http) -> None:
    """dryRun=All on create, patch and delete changes nothing."""
    assert http.post(f"{PIPELINES}?dryRun=All", pipeline("dry")).status == 201
    assert http.get(f"{PIPELINES}/dry").status == 404
    obj = _create(http)
    http.patch(f"{PIPELINES}/web?dryRun=All", {"spec": {"appRef": {"name": "x"}}})
    http.delete(f"{PIPELINES}/web?dryRun=All")
    after = http.get(f"{PIPELINES}/web").body
    assert after["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_selectors_and_paging(apiserver: EmbeddedApiServer, http: Http) -> None:
    """Label (set-based) and field selectors filter; limit/continue pages."""
    for i, tier in enumerate(["a", "b", "c"]):
        http.post(
            "/api/v1/namespaces/default/configmaps",
            {"metadata": {"name": f"c{i}", "labels": {"tier": tier}}},
        )
    names = lambda r: [o["metadata"]["name"] for o in r.body["items"]]  # noqa: E731
    assert names(http.get("/api/v1/namespaces/default/configmaps?labelSelector=tier+in+(a,c)")) == [
        "c0",
        "c2",
    ]
    assert names(http.get("/api/v1/namespaces/default/configmaps?labelSelector=tier!=a,tier")) == [
        "c1",
        "c2",
    ]
    # Every namespace holds the cluster CA's ConfigMap, as on a real cluster.
    assert names(http.get("/api/v1/namespaces/default/configmaps?labelSelector=!tier")) == [
        "kube-root-ca.crt"
    ]
    assert names(
        http.get("/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dc1")
    ) == ["c1"]
    first = http.get("/api/v1/namespaces/default/configmaps?limit=2")
    assert names(first) == ["c0", "c1"]
    rest = http.get(
        f"/api/v1/namespaces/default/configmaps?limit=2&continue={first.body['metadata']['continue']}"
    )
    assert names(rest) == ["c2", "kube-root-ca.crt"]


def test_table_output_uses_printer_columns(crd_server: EmbeddedApiServer, http: Http) -> None:
    """Table output has Name plus the CRD's printer columns, evaluated with JSONPath filters."""
    _create(http)
    http.patch(
        f"{PIPELINES}/web/status",
        {
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "R",
                        "message": "fine",
                        "lastTransitionTime": "2024-01-01T00:00:00Z",
                    }
                ]
            }
        },
    )
    table = http.get(
        PIPELINES, accept="application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    ).body
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "App Kind",
        "App Name",
        "Age",
        "Ready",
        "Status",
    ]
    cells = table["rows"][0]["cells"]
    assert cells[:3] == ["web", "HelmRelease", "web"]
    assert cells[4:] == ["True", "fine"]


def test_discovery_and_openapi(crd_server: EmbeddedApiServer, http: Http) -> None:
    """Discovery (legacy, aggregated) lists the CRD; OpenAPI v3 has PATCH with fieldValidation."""
    legacy = http.get("/apis/pipelines.weave.works/v1alpha1/").body
    assert {r["name"] for r in legacy["resources"]} == {"pipelines", "pipelines/status"}
    aggregated = http.get(
        "/apis",
        accept="application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
    )
    assert aggregated.headers["content-type"][0].startswith(
        "application/json;g=apidiscovery.k8s.io;v=v2"
    )
    assert "pipelines.weave.works" in {g["metadata"]["name"] for g in aggregated.body["items"]}
    index = http.get("/openapi/v3").body["paths"]
    url = index["apis/pipelines.weave.works/v1alpha1"]["serverRelativeURL"]
    assert "?hash=" in url
    doc = http.get(url).body
    patch = doc["paths"][
        "/apis/pipelines.weave.works/v1alpha1/namespaces/{namespace}/pipelines/{name}"
    ]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Pipeline"
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    v2 = http.get("/openapi/v2").body
    assert v2["swagger"] == "2.0"
    assert "io.k8s.api.authentication.v1.TokenReview" in v2["definitions"]
    assert http.get("/version/").body["major"] == "1"


def test_crd_delete_stops_serving(crd_server: EmbeddedApiServer, http: Http) -> None:
    """Deleting the CRD removes its instances and its endpoints."""
    _create(http)
    assert (
        http.delete(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/pipelines.pipelines.weave.works"
        ).status
        == 200
    )
    assert http.get(PIPELINES).status == 404


def test_events_one_store_two_views(apiserver: EmbeddedApiServer, http: Http) -> None:
    """An events.k8s.io/v1 Event reads back as a core Event with converted fields."""
    event = {
        "metadata": {"name": "e1"},
        "eventTime": "2024-01-01T00:00:00.000000Z",
        "reportingController": "ferryman",
        "reportingInstance": "ferryman-0",
        "action": "Promote",
        "reason": "Promoted",
        "type": "Normal",
        "note": "promoted 1.2.3",
        "regarding": {"kind": "Pipeline", "name": "web", "namespace": "default"},
    }
    assert http.post("/apis/events.k8s.io/v1/namespaces/default/events", event).status == 201
    core = http.get("/api/v1/namespaces/default/events/e1").body
    assert core["message"] == "promoted 1.2.3"
    assert core["involvedObject"]["name"] == "web"
    assert core["reportingComponent"] == "ferryman"
    assert core["source"]["component"] == "ferryman"
    view = http.get("/apis/events.k8s.io/v1/namespaces/default/events/e1").body
    assert view["note"] == "promoted 1.2.3"


def test_secret_data_is_checked_and_string_data_folded(
    apiserver: EmbeddedApiServer, http: Http
) -> None:
    """Invalid base64 is 400; stringData becomes base64 data."""
    bad = http.post(
        "/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}, "data": {"k": "!!"}}
    )
    assert bad.status == 400
    good = http.post(
        "/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}, "stringData": {"k": "v"}}
    )
    assert good.body["data"] == {"k": "dg=="}
    assert "stringData" not in good.body


def test_authentication_and_authorization(apiserver: EmbeddedApiServer) -> None:
    """No token is 401; a denying authorizer gives Kubernetes' 403 wording."""
    assert Http(apiserver, token="").get("/api/v1/namespaces").status == 401
    apiserver.app.authorizer = lambda attrs: (False, "")
    denied = Http(apiserver).get("/api/v1/namespaces/default/secrets/x")
    assert denied.status == 403
    assert denied.body["message"] == (
        'secrets "x" is forbidden: User "admin" cannot get resource "secrets" in API group "" '
        'in the namespace "default"'
    )


def test_reviews(apiserver: EmbeddedApiServer, http: Http) -> None:
    """TokenReview answers from the token table; SelfSubjectAccessReview asks the authorizer."""
    review = http.post(
        "/apis/authentication.k8s.io/v1/tokenreviews", {"spec": {"token": apiserver.token}}
    )
    assert review.status == 201
    assert review.body["status"]["user"]["username"] == "admin"
    assert "system:masters" in review.body["status"]["user"]["groups"]
    ssar = http.post(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        {"spec": {"resourceAttributes": {"verb": "get", "resource": "secrets"}}},
    )
    assert ssar.body["status"]["allowed"] is True


def test_fault_injection(apiserver: EmbeddedApiServer, http: Http) -> None:
    """Injected faults answer the next N matching requests, then stop."""
    apiserver.add_fault(verb="GET", path_regex="/configmaps", code=503, count=1)
    assert http.get("/api/v1/namespaces/default/configmaps").status == 503
    assert http.get("/api/v1/namespaces/default/configmaps").status == 200
    reply = http.post(
        "/debug/faults", {"verb": "*", "pathRegex": "configmaps", "code": 409, "count": 2}
    )
    assert reply.status == 200
    assert http.delete("/debug/faults").status == 200
    assert http.get("/api/v1/namespaces/default/configmaps").status == 200
