"""Discovery documents, legacy (``APIVersions``, ``APIGroupList``, ``APIResourceList``) and
aggregated (``apidiscovery.k8s.io/v2`` ``APIGroupDiscoveryList``: kubectl then skips the fan-out).
"""

from __future__ import annotations

from typing import Any

from ferryman.embedded.apiserver.registry import Registry, ResourceType

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
_STATUS_VERBS = ["get", "patch", "update"]


def wants_aggregated(accept: str) -> bool:
    """Whether the Accept header asks for the v2 aggregated document first (as kubectl does)."""
    for part in accept.split(","):
        params = {p.strip() for p in part.split(";")}
        if "as=APIGroupDiscoveryList" in params and "v=v2" in params:
            return True
    return False


def api_versions(server_address: str) -> dict[str, Any]:
    """``GET /api``: the legacy core group document."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(registry: Registry, name: str) -> dict[str, Any]:
    versions = registry.groups()[name]
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: Registry) -> dict[str, Any]:
    """``GET /apis``: every non-core group."""
    groups = [_group(registry, g) for g in registry.groups() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, name: str) -> dict[str, Any] | None:
    """``GET /apis/{group}``, or None when the group is not served."""
    if name not in registry.groups() or not name:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(registry, name)}


def _legacy_resource(t: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": t.plural,
        "singularName": t.singular,
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": list(t.verbs),
    }
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    return entry


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """``GET /api/v1`` or ``/apis/{group}/{version}``, or None when not served."""
    types = registry.types(group, version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for t in types:
        resources.append(_legacy_resource(t))
        if t.status:
            resources.append(
                {
                    "name": f"{t.plural}/status",
                    "singularName": "",
                    "namespaced": t.namespaced,
                    "kind": t.kind,
                    "verbs": list(_STATUS_VERBS),
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _aggregated_resource(t: ResourceType) -> dict[str, Any]:
    kind = {"group": t.group, "version": t.version, "kind": t.kind}
    entry: dict[str, Any] = {
        "resource": t.plural,
        "responseKind": kind,
        "scope": "Namespaced" if t.namespaced else "Cluster",
        "singularResource": t.singular,
        "verbs": list(t.verbs),
    }
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    if t.status:
        entry["subresources"] = [
            {"subresource": "status", "responseKind": kind, "verbs": list(_STATUS_VERBS)}
        ]
    return entry


def aggregated(registry: Registry, *, core: bool) -> dict[str, Any]:
    """The v2 ``APIGroupDiscoveryList`` for ``/api`` (core) or ``/apis`` (all other groups)."""
    items = []
    for group, versions in registry.groups().items():
        if bool(group) == core:
            continue
        items.append(
            {
                "metadata": {"name": group} if group else {},
                "versions": [
                    {
                        "version": v,
                        "resources": [_aggregated_resource(t) for t in registry.types(group, v)],
                        "freshness": "Current",
                    }
                    for v in versions
                ],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
