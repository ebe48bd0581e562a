"""In-memory fakes of the server's ports: tokens, RBAC, Secrets and the reconcile trigger.

``FakeAuthenticator`` is a token table (like kube-apiserver's ``--token-auth-file``);
``FakeAccessReviewer`` evaluates a list of ``Grant``s the way an RBAC RoleBinding would (user or
group, verbs, namespace, resource names); ``FakeSecrets`` is a Secret store; ``FakeTrigger``
records what was enqueued. Each can be told to be unavailable, so tests can check the server
fails closed. No module globals: every test builds its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ferryman.domain import errors
from ferryman.ports import auth
from ferryman.ports import kubernetes as k8s


class FakeAuthenticator:
    """``Authenticator`` over a token → identity table."""

    def __init__(self, tokens: dict[str, auth.Identity] | None = None) -> None:
        self.tokens: dict[str, auth.Identity] = dict(tokens or {})
        self.unavailable = False
        self.calls = 0

    async def authenticate(self, token: str) -> auth.Identity | None:
        self.calls += 1
        if self.unavailable:
            raise k8s.Unavailable("TokenReview failed: the fake API server is down")
        return self.tokens.get(token)


@dataclass(frozen=True)
class Grant:
    """One RBAC rule bound to a user or group (``*`` matches anything, empty tuples too)."""

    subject: str  # "alice" or "group:release-managers"
    verbs: tuple[str, ...]
    namespace: str = "*"  # "*": a ClusterRoleBinding
    names: tuple[str, ...] = ()  # resourceNames; empty: every object
    resource: str = "pipelines"
    group: str = "pipelines.weave.works"

    def admits(self, identity: auth.Identity, request: auth.AccessRequest) -> bool:
        """Whether this rule allows ``request`` for ``identity``."""
        subject_ok = self.subject == identity.user or (
            self.subject.startswith("group:") and self.subject[6:] in identity.groups
        )
        return (
            subject_ok
            and (request.verb in self.verbs or "*" in self.verbs)
            and request.resource == self.resource
            and request.group == self.group
            and (self.namespace == "*" or self.namespace == request.namespace)
            and (not self.names or request.name in self.names)
        )


class FakeAccessReviewer:
    """``AccessReviewer`` evaluating ``Grant``s; records every request it answered."""

    def __init__(self, grants: Iterable[Grant] = ()) -> None:
        self.grants: list[Grant] = list(grants)
        self.unavailable = False
        self.requests: list[tuple[auth.Identity, auth.AccessRequest]] = []

    async def review(
        self, identity: auth.Identity, request: auth.AccessRequest
    ) -> tuple[bool, str]:
        if self.unavailable:
            raise k8s.Unavailable("SubjectAccessReview failed: the fake API server is down")
        self.requests.append((identity, request))
        for grant in self.grants:
            if grant.admits(identity, request):
                return True, f"allowed by a grant to {grant.subject}"
        return False, ""


@dataclass
class FakeSecrets:
    """``SecretReader`` over ``{(namespace, name): data}``."""

    data: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)
    unavailable: bool = False
    reads: int = 0

    async def read(self, namespace: str, name: str) -> dict[str, bytes]:
        self.reads += 1
        if self.unavailable:
            raise errors.TemporaryError(f'cannot read secret "{namespace}/{name}": Unavailable')
        found = self.data.get((namespace, name))
        if found is None:
            raise errors.PermanentError(
                f'secret "{namespace}/{name}" not found', reason="SecretNotFound"
            )
        return dict(found)


@dataclass
class FakeTrigger:
    """``Trigger`` that remembers every enqueued pipeline, in order."""

    enqueued: list[tuple[str, str]] = field(default_factory=list)

    def enqueue(self, namespace: str, name: str) -> None:
        self.enqueued.append((namespace, name))
