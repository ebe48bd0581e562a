"""Rejected requests answer a Kubernetes Status and leave nothing half-written."""

from __future__ import annotations

import json
from http import client as http_client
from pathlib import Path

import pytest

from ferryman.embedded.apiserver import testing
from ferryman.embedded.apiserver.server import EmbeddedApiServer

from .conftest import PIPELINES, Http, pipeline


def _assert_status(reply_body: object, code: int) -> None:
    assert isinstance(reply_body, dict)
    assert reply_body["kind"] == "Status"
    assert reply_body["apiVersion"] == "v1"
    assert reply_body["status"] == "Failure"
    assert reply_body["code"] == code


def test_malformed_json_is_400(apiserver: EmbeddedApiServer, http: Http) -> None:
    """A body that is not JSON is 400 BadRequest."""
    reply = http.request("POST", "/api/v1/namespaces/default/configmaps", raw=b"{not json")
    assert reply.status == 400
    _assert_status(reply.body, 400)


def test_wrong_content_type_is_415(apiserver: EmbeddedApiServer, http: Http) -> None:
    """Unknown body and patch content types are 415."""
    reply = http.request(
        "POST", "/api/v1/namespaces/default/configmaps", raw=b"x", content_type="text/plain"
    )
    assert reply.status == 415
    _assert_status(reply.body, 415)
    http.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}})
    patched = http.patch(
        "/api/v1/namespaces/default/configmaps/c", {}, content_type="application/xml"
    )
    assert patched.status == 415


def test_schema_violation_is_422_with_causes(crd_server: EmbeddedApiServer, http: Http) -> None:
    """A Pipeline missing required fields is 422 Invalid naming each field; nothing is stored."""
    bad = pipeline("bad")
    del bad["spec"]["appRef"]
    reply = http.post(PIPELINES, bad)
    assert reply.status == 422
    _assert_status(reply.body, 422)
    assert reply.body["reason"] == "Invalid"
    causes = reply.body["details"]["causes"]
    assert any(c["field"] == "spec.appRef" for c in causes)
    assert reply.body["details"]["kind"] == "Pipeline"
    assert http.get(f"{PIPELINES}/bad").status == 404


def test_strict_unknown_field_names_the_field(crd_server: EmbeddedApiServer, http: Http) -> None:
    """Strict rejects unknown fields (400); Warn adds a Warning header and prunes."""
    body = pipeline("strict", foo=1)
    strict = http.post(f"{PIPELINES}?fieldValidation=Strict", body)
    assert strict.status == 400
    assert strict.body["message"] == 'strict decoding error: unknown field "spec.foo"'
    warn = http.post(f"{PIPELINES}?fieldValidation=Warn", body)
    assert warn.status == 201
    assert warn.headers["warning"] == ['299 - "unknown field \\"spec.foo\\""']
    assert "foo" not in warn.body["spec"]


def test_invalid_update_leaves_object_unchanged(crd_server: EmbeddedApiServer, http: Http) -> None:
    """A rejected patch changes neither the object nor its resourceVersion."""
    created = http.post(PIPELINES, pipeline()).body
    reply = http.patch(f"{PIPELINES}/web", {"spec": {"environments": "not-a-list"}})
    assert reply.status == 422
    after = http.get(f"{PIPELINES}/web").body
    assert after == created


def test_oversized_body_is_413(apiserver: EmbeddedApiServer, http: Http) -> None:
    """Bodies over 3 MiB are refused with 413; stored objects over 1.5 MiB with etcd's message."""
    # Announce a huge body but send none: the server must answer from the headers alone.
    conn = http_client.HTTPSConnection("127.0.0.1", apiserver.port, context=apiserver.ssl_context())
    conn.putrequest("POST", "/api/v1/namespaces/default/configmaps")
    conn.putheader("Authorization", f"Bearer {apiserver.token}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(3 * 1024 * 1024 + 10))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["reason"] == "RequestEntityTooLarge"
    conn.close()
    # A Lease has no size rule of its own, so only etcd's limit stops it.
    big = {"metadata": {"name": "big"}, "spec": {"holderIdentity": "x" * (1600 * 1024)}}
    reply = http.post("/apis/coordination.k8s.io/v1/namespaces/default/leases", big)
    assert reply.status == 413
    assert reply.body["message"] == "etcdserver: request is too large"
    assert http.get("/apis/coordination.k8s.io/v1/namespaces/default/leases/big").status == 404
    # A ConfigMap's own validation refuses more than 1 MiB of data first.
    config = {"metadata": {"name": "big"}, "data": {"k": "x" * (1100 * 1024)}}
    reply = http.post("/api/v1/namespaces/default/configmaps", config)
    assert reply.status == 422
    assert reply.body["details"]["causes"][0]["message"] == (
        "Too long: may not be more than 1048576 bytes"
    )


def test_invalid_name_is_422(apiserver: EmbeddedApiServer, http: Http) -> None:
    """Names must be DNS subdomains."""
    reply = http.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "Bad_Name"}})
    assert reply.status == 422
    assert reply.body["details"]["causes"][0]["field"] == "metadata.name"


def test_debug_api_is_off_by_default(tmp_path: Path) -> None:
    """Without fault injection enabled, /debug answers 404."""
    with testing.serve(tmp_path / "api", fault_injection=False) as server:
        assert Http(server).post("/debug/compact", {}).status == 404


@pytest.mark.parametrize("value", ["1", "t", "T", "true", "TRUE", "True"])
def test_go_style_booleans(apiserver: EmbeddedApiServer, http: Http, value: str) -> None:
    """watch accepts every spelling of true that Go's ParseBool does."""
    reply = http.get(f"/api/v1/namespaces?watch={value}&timeoutSeconds=0.2")
    assert reply.status == 200
    assert '"type":"ADDED"' in str(reply.body) or "ADDED" in str(reply.body)
