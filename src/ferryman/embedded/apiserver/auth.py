"""Authentication by bearer token and the single authorization hook.

Tokens come from the generated admin token (user ``admin`` in ``system:masters``) and an optional
CSV file in kube-apiserver's ``--token-auth-file`` format (``token,user,uid,"group1,group2"``);
a token in neither goes down a chain of authenticators, in order, as kube-apiserver's union of
token authenticators: the server's service-account tokens, then ID tokens of an OpenID Connect
issuer (``oidc``, the ``--oidc-*`` flags). The first that knows the token names its user.
Every request's ``Attributes`` are computed in one place (``app.py``) and passed to one
``Authorizer`` callable; the server's default is the RBAC evaluator over the stored roles and
bindings (``authz.py``), tests may replace it.
"""

from __future__ import annotations

import csv
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ferryman.embedded.apiserver import rbac

ADMIN_GROUPS = ("system:masters",)
AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class User:
    """An authenticated identity (``system:authenticated`` is always among ``groups``).

    ``extra`` carries ``Impersonate-Extra-*`` values; tokens from the token file have none.
    """

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)

    def to_rbac(self) -> rbac.UserInfo:
        """The same identity as the RBAC evaluator describes users."""
        return rbac.UserInfo(self.name, self.uid, self.groups, dict(self.extra))


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do, as Kubernetes' authorizer.Attributes."""

    user: User
    verb: str
    path: str
    is_resource_request: bool
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    def to_rbac(self) -> rbac.Attributes:
        """The same request as the RBAC evaluator describes requests."""
        return rbac.Attributes(
            user=self.user.to_rbac(),
            verb=self.verb,
            namespace=self.namespace,
            api_group=self.api_group,
            resource=self.resource,
            subresource=self.subresource,
            name=self.name,
            path=self.path,
            resource_request=self.is_resource_request,
        )


Authorizer = Callable[[Attributes], tuple[bool, str]]
#: A token authenticator of the chain: the token's user, or ``None`` when it does not know it.
TokenAuthenticator = Callable[[str], Awaitable["User | None"]]


def forbidden_message(a: Attributes, reason: str) -> str:
    """The apiserver's wording of a denial (shared with the RBAC module)."""
    return rbac.forbidden_message(a.to_rbac(), reason)


class TokenTable:
    """Bearer tokens → users; comparisons are constant-time."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        #: Consulted in order for tokens not in the table: service-account tokens, OIDC tokens.
        self.chain: list[TokenAuthenticator] = []

    def add(self, token: str, user: User) -> None:
        """Accept ``token`` for ``user``."""
        groups = user.groups if AUTHENTICATED in user.groups else (*user.groups, AUTHENTICATED)
        self._users[token] = User(user.name, user.uid, groups)

    def load_csv(self, path: Path) -> None:
        """Add every ``token,user,uid[,"groups"]`` row of a kube-apiserver token file."""
        with path.open(newline="", encoding="utf-8") as fh:
            for lineno, row in enumerate(csv.reader(fh), start=1):
                if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                    continue
                if len(row) < 3:
                    raise ValueError(
                        f"{path}:{lineno}: expected token,user,uid[,groups], got {len(row)} fields"
                    )
                groups = (
                    tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
                )
                self.add(row[0].strip(), User(row[1].strip(), row[2].strip(), groups))

    async def authenticate(self, authorization: str | None) -> User | None:
        """The user of an ``Authorization: Bearer <token>`` header, or None."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        return await self.lookup(authorization[7:].strip())

    async def lookup(self, token: str) -> User | None:
        """The user owning ``token`` (used by TokenReview too)."""
        found = None
        for known, user in self._users.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = user
        for authenticator in self.chain:
            if found is not None:
                break
            found = await authenticator(token)
        if found is not None and AUTHENTICATED not in found.groups:
            found = User(found.name, found.uid, (*found.groups, AUTHENTICATED), found.extra)
        return found
