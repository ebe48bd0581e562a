"""The one chokepoint for bearer-token routes: who is calling (TokenReview), may they (RBAC).

Every route of the approval and read API calls ``identify`` and then ``require`` before it reads
anything, so an unauthenticated caller learns nothing (not even whether a pipeline exists) and a
denied one learns only which permission is missing.
"""

from __future__ import annotations

from starlette.requests import Request

from ferryman.api import pipeline
from ferryman.ports import auth
from ferryman.server import errors
from ferryman.server.deps import Deps

MAX_TOKEN_LENGTH = 16 * 1024
RESOURCE = f"{pipeline.PLURAL}.{pipeline.GROUP}"


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``, or ``None`` when there is none usable."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


async def identify(deps: Deps, request: Request) -> auth.Identity:
    """The caller's identity; ``Unauthorized`` (401) without a token the API server accepts."""
    token = bearer_token(request)
    if token is None:
        raise errors.Unauthorized(bearer=True)
    identity = await deps.authenticator.authenticate(token)
    if identity is None:
        raise errors.Unauthorized(bearer=True)
    return identity


def denial(identity: auth.Identity, request: auth.AccessRequest) -> str:
    """The sentence naming the missing permission, as kubectl users read RBAC denials."""
    target = f'{RESOURCE} "{request.name}"' if request.name else RESOURCE
    where = f'in namespace "{request.namespace}"' if request.namespace else "in any namespace"
    return f'user "{identity.user}" may not {request.verb} {target} {where}'


async def require(
    deps: Deps, identity: auth.Identity, verb: str, *, namespace: str = "", name: str = ""
) -> None:
    """Return if RBAC allows ``verb`` on the pipeline(s); else ``HttpError`` 403 naming it."""
    request = auth.AccessRequest(
        verb=verb,
        resource=pipeline.PLURAL,
        group=pipeline.GROUP,
        namespace=namespace,
        name=name,
    )
    allowed, _reason = await deps.reviewer.review(identity, request)
    if not allowed:
        raise errors.HttpError(403, denial(identity, request), reason="Forbidden")
