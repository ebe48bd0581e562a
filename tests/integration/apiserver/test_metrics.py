"""``GET /metrics``: ``apiserver_request_total`` counts every request with kube-apiserver's labels,
and the GET fast path serves exactly what the decoded path would."""

from __future__ import annotations

import copy
import json
import re
import urllib.request
from typing import Any

from ferryman.embedded.apiserver.server import EmbeddedApiServer

from .conftest import PIPELINES, Http, load_crd, pipeline

SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def counts(http: Http) -> dict[tuple[tuple[str, str], ...], float]:
    """Every ``apiserver_request_total`` sample, keyed by its sorted labels."""
    reply = http.get("/metrics", accept="text/plain")
    assert reply.status == 200
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for line in str(reply.body).splitlines():
        match = SAMPLE.match(line)
        if match:
            pairs = re.findall(r'(\w+)="([^"]*)"', match["labels"])
            found[tuple(sorted(pairs))] = float(match["value"])
    return found


def key(**labels: str) -> tuple[tuple[str, str], ...]:
    """A sample's key from its labels (``component`` is always ``apiserver``)."""
    full = {"component": "apiserver", "subresource": "", **labels}
    return tuple(sorted(full.items()))


def delta(
    before: dict[tuple[tuple[str, str], ...], float],
    after: dict[tuple[tuple[str, str], ...], float],
) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples that grew, by how much (the /metrics reads themselves left out)."""
    grown = {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}
    return {k: v for k, v in grown.items() if ("resource", "") not in k}


def test_every_verb_is_counted_as_kube_apiserver_labels_it(
    crd_server: EmbeddedApiServer, http: Http
) -> None:
    """GET, LIST, WATCH, POST, PUT, PATCH, APPLY and DELETE, each with group, version, resource,
    subresource, scope and code as kube-apiserver writes them."""
    before = counts(http)
    assert http.post(PIPELINES, pipeline("web")).status == 201
    obj = http.get(f"{PIPELINES}/web").body
    assert http.get(f"{PIPELINES}/missing").status == 404
    assert http.get(PIPELINES).status == 200
    assert http.get("/apis/pipelines.weave.works/v1alpha1/pipelines").status == 200
    assert http.get(f"{PIPELINES}?watch=true&timeoutSeconds=1").status == 200
    obj["status"] = {"observedGeneration": 1}
    assert http.put(f"{PIPELINES}/web/status", obj).status == 200
    assert http.patch(f"{PIPELINES}/web", {"metadata": {"labels": {"a": "b"}}}).status == 200
    applied = {"apiVersion": obj["apiVersion"], "kind": "Pipeline", "metadata": {"name": "web"}}
    reply = http.patch(
        f"{PIPELINES}/web?fieldManager=test",
        applied,
        content_type="application/apply-patch+yaml",
    )
    assert reply.status == 200
    assert http.delete(f"{PIPELINES}/web").status == 200
    group = {"group": "pipelines.weave.works", "version": "v1alpha1", "resource": "pipelines"}
    assert delta(before, counts(http)) == {
        key(verb="POST", scope="resource", code="201", **group): 1,
        key(verb="GET", scope="resource", code="200", **group): 1,
        key(verb="GET", scope="resource", code="404", **group): 1,
        key(verb="LIST", scope="namespace", code="200", **group): 1,
        key(verb="LIST", scope="cluster", code="200", **group): 1,
        key(verb="WATCH", scope="namespace", code="200", **group): 1,
        key(verb="PUT", scope="resource", code="200", subresource="status", **group): 1,
        key(verb="PATCH", scope="resource", code="200", **group): 1,
        key(verb="APPLY", scope="resource", code="200", **group): 1,
        key(verb="DELETE", scope="resource", code="200", **group): 1,
    }


def test_unauthenticated_and_non_resource_requests_are_counted(
    apiserver: EmbeddedApiServer, http: Http
) -> None:
    """A refused request counts with its code; ``/version`` with the empty scope."""
    before = counts(http)
    assert Http(apiserver, token="nope").get("/api/v1/namespaces").status == 401
    assert http.get("/version").status == 200
    after = counts(http)
    assert after[key(verb="GET", group="", version="", resource="", scope="", code="401")] == (
        before.get(key(verb="GET", group="", version="", resource="", scope="", code="401"), 0) + 1
    )
    assert after[key(verb="GET", group="", version="", resource="", scope="", code="200")] > 0


def test_get_serves_the_stored_row_exactly_as_the_decoded_path(
    crd_server: EmbeddedApiServer, http: Http
) -> None:
    """The bytes of a GET equal the JSON of the same object in a list (decoded, re-encoded)."""
    assert http.post(PIPELINES, pipeline("web")).status == 201
    request = urllib.request.Request(  # noqa: S310 - the loopback server under test
        f"{crd_server.url}{PIPELINES}/web",
        headers={"Authorization": f"Bearer {crd_server.token}"},
    )
    with urllib.request.urlopen(request, context=crd_server.ssl_context()) as response:  # noqa: S310
        raw = response.read()
    listed = http.get(PIPELINES).body["items"][0]
    assert raw == json.dumps(listed, separators=(",", ":"), ensure_ascii=False).encode()
    assert raw.startswith(b'{"apiVersion":"pipelines.weave.works/v1alpha1","kind":"Pipeline",')


def test_an_unfiltered_list_is_the_stored_rows_exactly_as_the_decoded_path(
    crd_server: EmbeddedApiServer, http: Http
) -> None:
    """A whole, current list (served from the stored rows) has the bytes of the same list
    served through the decoded path (``limit`` takes that path), and a selector still filters."""
    for name in ("a", "b", "c"):
        assert http.post(PIPELINES, pipeline(name)).status == 201
    assert http.patch(f"{PIPELINES}/b", {"metadata": {"labels": {"tier": "x"}}}).status == 200

    def raw(path: str) -> bytes:
        request = urllib.request.Request(  # noqa: S310 - the loopback server under test
            f"{crd_server.url}{path}", headers={"Authorization": f"Bearer {crd_server.token}"}
        )
        with urllib.request.urlopen(request, context=crd_server.ssl_context()) as response:  # noqa: S310
            body: bytes = response.read()
            return body

    assert raw(PIPELINES) == raw(f"{PIPELINES}?limit=100")
    assert raw(PIPELINES) == raw(f"{PIPELINES}?resourceVersion=0")
    listed = json.loads(raw(PIPELINES))
    assert [item["metadata"]["name"] for item in listed["items"]] == ["a", "b", "c"]
    assert listed["kind"] == "PipelineList" and listed["metadata"]["resourceVersion"]
    selected = json.loads(raw(f"{PIPELINES}?labelSelector=tier%3Dx"))
    assert [item["metadata"]["name"] for item in selected["items"]] == ["b"]


def test_get_through_another_served_version_names_that_version(
    apiserver: EmbeddedApiServer, http: Http
) -> None:
    """An object stored as v1alpha1 read through v1alpha2 says v1alpha2 (no stored bytes)."""
    crd: dict[str, Any] = load_crd()
    second = copy.deepcopy(crd["spec"]["versions"][0])
    second.update(name="v1alpha2", storage=False)
    crd["spec"]["versions"].append(second)
    assert http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).status == 201
    assert http.post(PIPELINES, pipeline("web")).status == 201
    other = PIPELINES.replace("v1alpha1", "v1alpha2")
    assert http.get(f"{other}/web").body["apiVersion"] == "pipelines.weave.works/v1alpha2"
    assert http.get(f"{PIPELINES}/web").body["apiVersion"] == "pipelines.weave.works/v1alpha1"
