"""Authentication by bearer token and the single authorization hook.

Tokens come from the generated admin token (user ``admin`` in ``system:masters``) and an optional
CSV file in kube-apiserver's ``--token-auth-file`` format (``token,user,uid,"group1,group2"``).
Every request's ``Attributes`` are computed in one place (``app.py``) and passed to one
``Authorizer`` callable, so plugging in the RBAC evaluator is a one-line change.
"""

from __future__ import annotations

import csv
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ADMIN_GROUPS = ("system:masters",)


@dataclass(frozen=True)
class User:
    """An authenticated identity (``system:authenticated`` is always among ``groups``)."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()


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


Authorizer = Callable[[Attributes], tuple[bool, str]]


def allow_authenticated(attributes: Attributes) -> tuple[bool, str]:
    """The default authorizer: every authenticated user may do everything."""
    return True, ""


def forbidden_message(a: Attributes, reason: str) -> str:
    """The apiserver's wording of a denial."""
    who = f'User "{a.user.name}"'
    if not a.is_resource_request:
        text = f'forbidden: {who} cannot {a.verb} path "{a.path}"'
    else:
        resource = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
        qualified = f"{a.resource}.{a.api_group}" if a.api_group else a.resource
        subject = f'{qualified} "{a.name}"' if a.name else qualified
        scope = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
        text = (
            f'{subject} is forbidden: {who} cannot {a.verb} resource "{resource}" in API group '
            f'"{a.api_group}" {scope}'
        )
    return f"{text}: {reason}" if reason else text


class TokenTable:
    """Bearer tokens → users; comparisons are constant-time."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}

    def add(self, token: str, user: User) -> None:
        """Accept ``token`` for ``user``."""
        groups = (
            user.groups
            if "system:authenticated" in user.groups
            else (*user.groups, "system:authenticated")
        )
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

    def authenticate(self, authorization: str | None) -> User | None:
        """The user of an ``Authorization: Bearer <token>`` header, or None."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        return self.lookup(authorization[7:].strip())

    def lookup(self, token: str) -> User | None:
        """The user owning ``token`` (used by TokenReview too)."""
        found = None
        for known, user in self._users.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = user
        return found
