"""An ``rbac.RBACStore`` over rendered manifests, plus the bootstrap policy every cluster has.

The embedded API server's RBAC evaluator (``ferryman.embedded.apiserver.rbac``) decides exactly
like kube-apiserver's, so evaluating the install's roles with it tells what the controller's
service account may do on a real cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ferryman.embedded.apiserver import auth, bootstrap_policy, rbac

# What every cluster starts with (kube-apiserver's bootstrap policy, as the embedded API creates
# it): discovery and health for every authenticated user, and the aggregated view/edit/admin roles.
BOOTSTRAP: tuple[dict[str, Any], ...] = tuple(bootstrap_policy.objects())


class ManifestRBAC:
    """Roles and bindings from a list of objects (read-only: the install never changes)."""

    def __init__(self, objects: Iterable[Mapping[str, Any]]) -> None:
        self._objects = [*objects, *BOOTSTRAP]

    def _kind(self, kind: str, namespace: str | None = None) -> list[Mapping[str, Any]]:
        return [
            obj
            for obj in self._objects
            if obj.get("kind") == kind
            and (namespace is None or obj["metadata"].get("namespace") == namespace)
        ]

    def cluster_roles(self) -> Iterable[Mapping[str, Any]]:
        """Every ClusterRole."""
        return self._kind("ClusterRole")

    def cluster_role_bindings(self) -> Iterable[Mapping[str, Any]]:
        """Every ClusterRoleBinding."""
        return self._kind("ClusterRoleBinding")

    def roles(self, namespace: str) -> Iterable[Mapping[str, Any]]:
        """The Roles of one namespace."""
        return self._kind("Role", namespace)

    def role_bindings(self, namespace: str) -> Iterable[Mapping[str, Any]]:
        """The RoleBindings of one namespace."""
        return self._kind("RoleBinding", namespace)


def authorizer(store: rbac.RBACStore, denied: list[str]) -> auth.Authorizer:
    """An embedded-server authorizer evaluating ``store``; denials are appended to ``denied``."""

    def decide(attributes: auth.Attributes) -> tuple[bool, str]:
        decision = rbac.authorize(
            store,
            rbac.Attributes(
                user=rbac.UserInfo(
                    attributes.user.name, attributes.user.uid, attributes.user.groups
                ),
                verb=attributes.verb,
                namespace=attributes.namespace,
                api_group=attributes.api_group,
                resource=attributes.resource,
                subresource=attributes.subresource,
                name=attributes.name,
                path=attributes.path,
                resource_request=attributes.is_resource_request,
            ),
        )
        if not decision.allowed:
            denied.append(auth.forbidden_message(attributes, decision.reason))
        return decision.allowed, decision.reason

    return decide
