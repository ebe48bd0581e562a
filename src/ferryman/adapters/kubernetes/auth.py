"""``Authenticator`` and ``AccessReviewer`` over TokenReview and SubjectAccessReview (lightkube).

The controller's ServiceAccount needs ``create`` on ``tokenreviews.authentication.k8s.io`` and
``subjectaccessreviews.authorization.k8s.io`` (the ``system:auth-delegator`` ClusterRole grants
both). Failures of the review requests are ``Unavailable``: the server fails closed on them. The
token is sent only in the TokenReview body and never appears in an error message.
"""

from __future__ import annotations

import lightkube
from lightkube.models import authentication_v1 as authn_models
from lightkube.models import authorization_v1 as authz_models
from lightkube.resources import authentication_v1 as authn
from lightkube.resources import authorization_v1 as authz

from ferryman.adapters.kubernetes import errors
from ferryman.ports import auth
from ferryman.ports import kubernetes as k8s


class LightkubeAuthenticator:
    """Identifies bearer tokens with ``POST /apis/authentication.k8s.io/v1/tokenreviews``."""

    def __init__(self, client: lightkube.AsyncClient, *, audiences: tuple[str, ...] = ()) -> None:
        self._client = client
        self._audiences = list(audiences) or None

    async def authenticate(self, token: str) -> auth.Identity | None:
        review = authn.TokenReview(
            spec=authn_models.TokenReviewSpec(token=token, audiences=self._audiences)
        )
        try:
            with errors.translated():
                answered = await self._client.create(review)
        except k8s.KubernetesError as exc:
            raise k8s.Unavailable(f"TokenReview failed: {type(exc).__name__}") from exc
        status = answered.status
        if status is None or not status.authenticated or status.user is None:
            return None
        user = status.user
        if not user.username:
            return None
        return auth.Identity(
            user=user.username, uid=user.uid or "", groups=tuple(user.groups or ())
        )


class LightkubeAccessReviewer:
    """Asks RBAC with ``POST /apis/authorization.k8s.io/v1/subjectaccessreviews``."""

    def __init__(self, client: lightkube.AsyncClient) -> None:
        self._client = client

    async def review(
        self, identity: auth.Identity, request: auth.AccessRequest
    ) -> tuple[bool, str]:
        attributes = authz_models.ResourceAttributes(
            verb=request.verb,
            resource=request.resource,
            group=request.group,
            namespace=request.namespace or None,
            name=request.name or None,
        )
        review = authz.SubjectAccessReview(
            spec=authz_models.SubjectAccessReviewSpec(
                user=identity.user,
                uid=identity.uid or None,
                groups=list(identity.groups),
                resourceAttributes=attributes,
            )
        )
        try:
            with errors.translated():
                answered = await self._client.create(review)
        except k8s.KubernetesError as exc:
            raise k8s.Unavailable(f"SubjectAccessReview failed: {exc}") from exc
        status = answered.status
        if status is None:
            return False, "the authorizer returned no decision"
        return bool(status.allowed), status.reason or status.evaluationError or ""
