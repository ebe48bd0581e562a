"""TokenReview and the access reviews, and the approval authorization path built on them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ferryman.embedded.apiserver import testing
from ferryman.embedded.apiserver.server import EmbeddedApiServer

from .conftest import Http

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
SAR = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
SELF_SAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
LOCAL_SAR = "/apis/authorization.k8s.io/v1/namespaces/team/localsubjectaccessreviews"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
TOKENS = 'alice-token,alice,u-alice,"release-managers,staff"\nbob-token,bob,u-bob\n'
APPROVER = {
    "metadata": {"name": "web-approver"},
    "rules": [
        {
            "apiGroups": ["pipelines.weave.works"],
            "resources": ["pipelines"],
            "verbs": ["approve", "reject"],
            "resourceNames": ["web"],
        }
    ],
}
BINDING = {
    "metadata": {"name": "web-approvers", "namespace": "team"},
    "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "web-approver",
    },
    "subjects": [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "release-managers"}
    ],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedApiServer]:
    """A server with alice (release-managers) and bob, and web's approver role in ``team``."""
    base = tmp_path_factory.mktemp("reviews")
    (base / "tokens.csv").write_text(TOKENS, encoding="utf-8")
    with testing.serve(base / "api", token_file=base / "tokens.csv") as api:
        admin = Http(api)
        assert admin.post("/api/v1/namespaces", {"metadata": {"name": "team"}}).status == 201
        assert admin.post(f"{RBAC}/clusterroles", APPROVER).status == 201
        assert admin.post(f"{RBAC}/namespaces/team/rolebindings", BINDING).status == 201
        yield api


def review_token(server: EmbeddedApiServer, token: Any, **spec: Any) -> Any:
    """POST a TokenReview as the admin; returns the reply."""
    return Http(server).post(TOKEN_REVIEWS, {"spec": {"token": token, **spec}})


def approve_attributes(name: str, namespace: str = "team") -> dict[str, str]:
    """The resource attributes Ferryman's approval API asks about."""
    return {
        "verb": "approve",
        "group": "pipelines.weave.works",
        "resource": "pipelines",
        "namespace": namespace,
        "name": name,
    }


# --------------------------------------------------------------------------- TokenReview


def test_token_review_of_a_known_token(server: EmbeddedApiServer) -> None:
    """A token-file token answers its user, uid and groups plus system:authenticated."""
    reply = review_token(server, "alice-token", audiences=["ferryman"])
    assert reply.status == 201
    assert reply.body["kind"] == "TokenReview"
    assert reply.body["status"] == {
        "authenticated": True,
        "user": {
            "username": "alice",
            "uid": "u-alice",
            "groups": ["release-managers", "staff", "system:authenticated"],
        },
        "audiences": ["ferryman"],
    }


def test_token_review_of_the_admin_token(server: EmbeddedApiServer) -> None:
    """The generated admin token is known too, in system:masters."""
    status = review_token(server, server.token).body["status"]
    assert status["authenticated"] is True
    assert status["user"]["groups"] == ["system:masters", "system:authenticated"]


def test_token_review_of_an_unknown_token(server: EmbeddedApiServer) -> None:
    """An unknown token is not an error: ``authenticated`` is false."""
    reply = review_token(server, "forged")
    assert reply.status == 201
    assert reply.body["status"]["authenticated"] is False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(["not", "an", "object"], 400, id="body is a list"),
        pytest.param({"spec": "token"}, 400, id="spec is a string"),
        pytest.param({"spec": {"token": 42}}, 400, id="token is a number"),
        pytest.param({"spec": {"audiences": "x", "token": "t"}}, 400, id="audiences not a list"),
        pytest.param({"spec": {}}, 422, id="token missing"),
        pytest.param({"kind": "Secret", "spec": {"token": "t"}}, 400, id="wrong kind"),
    ],
)
def test_malformed_token_reviews(server: EmbeddedApiServer, body: Any, code: int) -> None:
    """Bodies a Go client could not decode are 400, a missing token 422, with a message."""
    reply = Http(server).post(TOKEN_REVIEWS, body)
    assert reply.status == code, reply.body
    assert reply.body["kind"] == "Status" and reply.body["message"]


def test_token_review_needs_a_grant(server: EmbeddedApiServer) -> None:
    """Only callers RBAC allows to create tokenreviews may check tokens."""
    assert (
        Http(server, token="bob-token").post(TOKEN_REVIEWS, {"spec": {"token": "x"}}).status == 403
    )


# --------------------------------------------------------------------------- access reviews


@pytest.mark.parametrize(
    ("spec", "allowed"),
    [
        pytest.param(
            {
                "user": "alice",
                "groups": ["release-managers"],
                "resourceAttributes": approve_attributes("web"),
            },
            True,
            id="group member may approve the named pipeline",
        ),
        pytest.param(
            {
                "user": "alice",
                "groups": ["release-managers"],
                "resourceAttributes": approve_attributes("api"),
            },
            False,
            id="another pipeline name is denied",
        ),
        pytest.param(
            {
                "user": "alice",
                "groups": ["release-managers"],
                "resourceAttributes": approve_attributes("web", "default"),
            },
            False,
            id="the RoleBinding's namespace only",
        ),
        pytest.param(
            {"user": "bob", "resourceAttributes": approve_attributes("web")},
            False,
            id="a user outside the group is denied",
        ),
        pytest.param(
            {
                "user": "root",
                "groups": ["system:masters"],
                "resourceAttributes": approve_attributes("x"),
            },
            True,
            id="system:masters may do everything",
        ),
        pytest.param(
            {
                "user": "bob",
                "groups": ["system:authenticated"],
                "nonResourceAttributes": {"path": "/version", "verb": "get"},
            },
            True,
            id="non-resource URL granted by the bootstrap policy",
        ),
        pytest.param(
            {
                "user": "bob",
                "groups": ["system:authenticated"],
                "nonResourceAttributes": {"path": "/metrics", "verb": "get"},
            },
            False,
            id="non-resource URL nobody granted",
        ),
    ],
)
def test_subject_access_review(
    server: EmbeddedApiServer, spec: dict[str, Any], allowed: bool
) -> None:
    """SubjectAccessReview answers from the stored RBAC objects."""
    reply = Http(server).post(SAR, {"spec": spec})
    assert reply.status == 201, reply.body
    assert reply.body["status"]["allowed"] is allowed
    if allowed and "system:masters" not in spec.get("groups", []):
        assert reply.body["status"]["reason"].startswith("RBAC: allowed by ")


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({"user": "bob"}, id="no attributes"),
        pytest.param(
            {
                "user": "bob",
                "resourceAttributes": {"verb": "get"},
                "nonResourceAttributes": {"path": "/", "verb": "get"},
            },
            id="both attributes",
        ),
        pytest.param({"resourceAttributes": {"verb": "get"}}, id="neither user nor groups"),
    ],
)
def test_invalid_subject_access_review(server: EmbeddedApiServer, spec: dict[str, Any]) -> None:
    """Specs Kubernetes' validation refuses are 422 Invalid."""
    reply = Http(server).post(SAR, {"spec": spec})
    assert reply.status == 422
    assert reply.body["reason"] == "Invalid"


def test_self_and_local_subject_access_reviews(server: EmbeddedApiServer) -> None:
    """Self reviews ask about the caller; local ones are pinned to their namespace."""
    alice = Http(server, token="alice-token")
    mine = alice.post(SELF_SAR, {"spec": {"resourceAttributes": approve_attributes("web")}})
    assert mine.status == 201 and mine.body["status"]["allowed"] is True
    bob = Http(server, token="bob-token")
    theirs = bob.post(SELF_SAR, {"spec": {"resourceAttributes": approve_attributes("web")}})
    assert theirs.body["status"]["allowed"] is False
    attributes = {k: v for k, v in approve_attributes("web").items() if k != "namespace"}
    local = Http(server).post(
        LOCAL_SAR,
        {
            "spec": {
                "user": "alice",
                "groups": ["release-managers"],
                "resourceAttributes": attributes,
            }
        },
    )
    assert local.status == 201
    assert local.body["status"]["allowed"] is True
    assert local.body["spec"]["resourceAttributes"]["namespace"] == "team"
    elsewhere = Http(server).post(
        LOCAL_SAR,
        {"spec": {"user": "alice", "resourceAttributes": approve_attributes("web", "default")}},
    )
    assert elsewhere.status == 422


def test_approval_authorization_path(server: EmbeddedApiServer) -> None:
    """What Ferryman's approval API does: TokenReview for identity, then SAR for ``approve``."""
    for token, name, allowed in (
        ("alice-token", "web", True),
        ("alice-token", "api", False),
        ("bob-token", "web", False),
    ):
        user = review_token(server, token).body["status"]["user"]
        spec = {
            "user": user["username"],
            "uid": user["uid"],
            "groups": user["groups"],
            "resourceAttributes": approve_attributes(name),
        }
        assert Http(server).post(SAR, {"spec": spec}).body["status"]["allowed"] is allowed
