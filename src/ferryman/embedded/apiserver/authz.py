"""The server's default authorizer: RBAC over the Roles and bindings stored in this server.

Why here and not in ``rbac.py``: ``rbac.py`` is pure (plain dicts in, a decision out); this module
is the glue to the SQLite store — it reads the four RBAC resources, caches them until one of them
changes (the store's change callbacks invalidate the cache, so a new binding takes effect on the
next request), and plays Kubernetes' clusterrole-aggregation controller by writing the union of
the selected roles' rules into every aggregated ClusterRole, so ``kubectl get clusterrole view -o
yaml`` shows the rules a real cluster would show.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from ferryman.embedded.apiserver import auth, rbac
from ferryman.embedded.apiserver.store import Event, Store

RBAC_GROUP = rbac.RBAC_GROUP
CLUSTER_ROLES = "rbac.authorization.k8s.io/clusterroles"
CLUSTER_ROLE_BINDINGS = "rbac.authorization.k8s.io/clusterrolebindings"
ROLES = "rbac.authorization.k8s.io/roles"
ROLE_BINDINGS = "rbac.authorization.k8s.io/rolebindings"
RBAC_RESOURCES = (CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ROLES, ROLE_BINDINGS)


class StoreRBAC:
    """``rbac.RBACStore`` over the server's store, cached until an RBAC object changes."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        for gr in RBAC_RESOURCES:
            store.subscribe(gr, self._invalidate)

    def _invalidate(self, event: Event) -> None:
        self._cache = {key: value for key, value in self._cache.items() if key[0] != event.gr}

    def _scan(self, gr: str, namespace: str | None) -> list[dict[str, Any]]:
        key = (gr, namespace)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._store.scan(gr, namespace)
        return cached

    def cluster_roles(self) -> Iterable[Mapping[str, Any]]:
        """Every ClusterRole."""
        return self._scan(CLUSTER_ROLES, None)

    def cluster_role_bindings(self) -> Iterable[Mapping[str, Any]]:
        """Every ClusterRoleBinding."""
        return self._scan(CLUSTER_ROLE_BINDINGS, None)

    def roles(self, namespace: str) -> Iterable[Mapping[str, Any]]:
        """The Roles of one namespace."""
        return self._scan(ROLES, namespace)

    def role_bindings(self, namespace: str) -> Iterable[Mapping[str, Any]]:
        """The RoleBindings of one namespace."""
        return self._scan(ROLE_BINDINGS, namespace)


class RBACAuthorizer:
    """An ``auth.Authorizer`` deciding every request with ``rbac.authorize``."""

    def __init__(self, rbac_store: rbac.RBACStore) -> None:
        self.rbac_store = rbac_store

    def __call__(self, attributes: auth.Attributes) -> tuple[bool, str]:
        decision = rbac.authorize(self.rbac_store, attributes.to_rbac())
        return decision.allowed, decision.reason


def reconcile_aggregation(store: Store) -> int:
    """Write the aggregated rules into every aggregated ClusterRole whose rules are stale.

    Returns how many roles were rewritten. Like the real controller, a role whose rules already
    equal the union is left alone, so calling this after every ClusterRole write is cheap and
    converges (writing an aggregated role can only change roles that select it, which the loop
    recomputes from the fresh state until nothing changes; cycles are cut by ``rbac``).
    """
    written = 0
    for _ in range(10):  # aggregation chains are short; the bound only guards against a bug
        roles = {r["metadata"]["name"]: r for r in store.scan(CLUSTER_ROLES, None)}
        changed = 0
        for name, rules in rbac.aggregate_cluster_roles(roles.values()).items():
            role = roles[name]
            if (role.get("rules") or []) == rules:
                continue
            updated = copy.deepcopy(role)
            updated["rules"] = rules
            store.write(CLUSTER_ROLES, updated, role)
            changed += 1
        written += changed
        if not changed:
            break
    return written
