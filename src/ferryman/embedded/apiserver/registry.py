"""Which resources the server serves: the built-in kinds plus one entry per served CRD version.

A ``ResourceType`` is everything the request path needs to know about one group/version/resource:
naming for discovery, scope, verbs, the ``/status`` subresource, printer columns, the compiled CRD
schema and the storage key. Several versions (and events.k8s.io's view of core Events) can share
one storage key; they then see the same objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ferryman.embedded.apiserver import builtin_types, jsonpath

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)


@dataclass(frozen=True)
class Column:
    """One Table column; ``path`` is compiled from a CRD's ``jsonPath`` (None for built-ins)."""

    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0
    path: Callable[[Any], list[Any]] | None = None


@dataclass(frozen=True)
class ResourceType:
    """One served group/version/resource (see the module docstring)."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    status: bool = False
    storage: str = ""
    crd: str = ""
    schema: Any = None
    columns: tuple[Column, ...] = ()
    field_labels: tuple[str, ...] = ()
    generation: bool = False
    definition: str = ""
    # The definition objects are stored as, when the served one is a view (events.k8s.io/v1).
    stored_definition: str = ""
    subresources: tuple[str, ...] = ()
    openapi_schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        """``group/version``, or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def gr(self) -> str:
        """The storage key: objects of every type with the same key are the same objects."""
        return self.storage or f"{self.group}/{self.plural}"

    @property
    def kind_key(self) -> str:
        """``v1/Secret``-style key used by the strategic-merge module."""
        return f"{self.api_version}/{self.kind}"

    @property
    def qualified(self) -> str:
        """``plural.group`` as used in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def is_custom(self) -> bool:
        """Whether a CRD defines this type."""
        return bool(self.crd)


_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)
_EVENTS_K8S_FIELDS = (
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reason",
    "reportingController",
    "type",
)

#: Short names and categories: not in OpenAPI, each resource's REST storage declares them
#: (``ShortNames()``/``Categories()`` in kubernetes ``pkg/registry/<group>/<resource>/storage``;
#: CRDs and APIServices in the apiextensions and kube-aggregator storages).
_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "/componentstatuses": (("cs",), ()),
    "/configmaps": (("cm",), ()),
    "/endpoints": (("ep",), ()),
    "/events": (("ev",), ()),
    "/limitranges": (("limits",), ()),
    "/namespaces": (("ns",), ()),
    "/nodes": (("no",), ()),
    "/persistentvolumeclaims": (("pvc",), ()),
    "/persistentvolumes": (("pv",), ()),
    "/pods": (("po",), ("all",)),
    "/replicationcontrollers": (("rc",), ("all",)),
    "/resourcequotas": (("quota",), ()),
    "/serviceaccounts": (("sa",), ()),
    "/services": (("svc",), ("all",)),
    "admissionregistration.k8s.io/mutatingwebhookconfigurations": ((), ("api-extensions",)),
    "admissionregistration.k8s.io/validatingadmissionpolicies": ((), ("api-extensions",)),
    "admissionregistration.k8s.io/validatingadmissionpolicybindings": ((), ("api-extensions",)),
    "admissionregistration.k8s.io/validatingwebhookconfigurations": ((), ("api-extensions",)),
    "apiextensions.k8s.io/customresourcedefinitions": (("crd", "crds"), ("api-extensions",)),
    "apiregistration.k8s.io/apiservices": ((), ("api-extensions",)),
    "apps/daemonsets": (("ds",), ("all",)),
    "apps/deployments": (("deploy",), ("all",)),
    "apps/replicasets": (("rs",), ("all",)),
    "apps/statefulsets": (("sts",), ("all",)),
    "autoscaling/horizontalpodautoscalers": (("hpa",), ("all",)),
    "batch/cronjobs": (("cj",), ("all",)),
    "batch/jobs": ((), ("all",)),
    "certificates.k8s.io/certificatesigningrequests": (("csr",), ()),
    "events.k8s.io/events": (("ev",), ()),
    "networking.k8s.io/ingresses": (("ing",), ()),
    "networking.k8s.io/networkpolicies": (("netpol",), ()),
    "policy/poddisruptionbudgets": (("pdb",), ()),
    "scheduling.k8s.io/priorityclasses": (("pc",), ()),
    "storage.k8s.io/storageclasses": (("sc",), ()),
}
#: Kinds whose strategy sets ``metadata.generation`` (PrepareForCreate sets 1 and
#: PrepareForUpdate bumps it when the spec changes, in kubernetes ``pkg/registry``).
_GENERATION = frozenset(
    (
        "/replicationcontrollers",
        "admissionregistration.k8s.io/mutatingwebhookconfigurations",
        "admissionregistration.k8s.io/validatingadmissionpolicies",
        "admissionregistration.k8s.io/validatingadmissionpolicybindings",
        "admissionregistration.k8s.io/validatingwebhookconfigurations",
        "apiextensions.k8s.io/customresourcedefinitions",
        "apps/daemonsets",
        "apps/deployments",
        "apps/replicasets",
        "apps/statefulsets",
        "batch/cronjobs",
        "batch/jobs",
        "flowcontrol.apiserver.k8s.io/flowschemas",
        "flowcontrol.apiserver.k8s.io/prioritylevelconfigurations",
        "networking.k8s.io/ingressclasses",
        "networking.k8s.io/ingresses",
        "networking.k8s.io/networkpolicies",
        "policy/poddisruptionbudgets",
    )
)
#: Field selectors each resource accepts beyond metadata.name/namespace (the field label
#: conversion functions of kubernetes ``pkg/apis/<group>/v1/conversion.go``).
_FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "/events": _EVENT_FIELDS,
    "events.k8s.io/events": _EVENTS_K8S_FIELDS,
    "/namespaces": ("status.phase",),
    "/secrets": ("type",),
    "/nodes": ("spec.unschedulable",),
    "/pods": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.podIPs",
        "status.nominatedNodeName",
    ),
    "/replicationcontrollers": ("status.replicas",),
    "/services": ("spec.clusterIP", "spec.type"),
    "apps/replicasets": ("status.replicas",),
    "batch/jobs": ("status.successful",),
    "certificates.k8s.io/certificatesigningrequests": ("spec.signerName",),
}
#: Subresources this server implements besides ``status`` (the rest — logs, exec, eviction,
#: binding, proxy… — need a kubelet or a scheduler and are not advertised).
_SERVED_SUBRESOURCES = frozenset(("serviceaccounts/token",))
#: Resources of the upstream table this server does not serve (pods/binding's collection twin).
_NOT_SERVED = frozenset(("/bindings",))


def _builtin(row: builtin_types.Row) -> ResourceType | None:
    group, version, kind, plural, namespaced, verbs, definition, subresources = row
    key = f"{group}/{plural}"
    if key in _NOT_SERVED:
        return None
    short_names, categories = _NAMES.get(key, ((), ()))
    served = {name for name, _, _ in subresources}
    return ResourceType(
        group,
        version,
        kind,
        plural,
        kind.lower(),
        namespaced,
        short_names,
        categories,
        verbs=verbs,
        status="status" in served,
        storage="/events" if key == "events.k8s.io/events" else "",
        stored_definition="io.k8s.api.core.v1.Event" if key == "events.k8s.io/events" else "",
        field_labels=_FIELD_LABELS.get(key, ()),
        generation=key in _GENERATION,
        definition=definition,
        subresources=tuple(
            sorted(name for name in served if f"{plural}/{name}" in _SERVED_SUBRESOURCES)
        ),
    )


BUILTINS: tuple[ResourceType, ...] = tuple(
    t for t in (_builtin(row) for row in builtin_types.RESOURCES) if t is not None
)

#: Kinds that exist only as create-only review endpoints; nothing of theirs is stored.
REVIEW_KINDS = frozenset(t.plural for t in BUILTINS if t.verbs == CREATE_ONLY)

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key putting Kubernetes' preferred version first (v2 > v1 > v1beta1 > v1alpha1)."""
    m = _VERSION_RE.match(version)
    if not m:
        return (3, 0, 0, version)
    major = int(m.group(1))
    level = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (level, -major, -minor, version)


def column_from_crd(spec: dict[str, Any]) -> Column:
    """Compile one ``additionalPrinterColumns`` entry (raises JSONPathError when unsupported)."""
    return Column(
        name=str(spec["name"]),
        type=str(spec.get("type", "string")),
        format=str(spec.get("format", "")),
        description=str(spec.get("description", "")),
        priority=int(spec.get("priority", 0)),
        path=jsonpath.compile_path(str(spec["jsonPath"])),
    )


class Registry:
    """The served types, indexed for routing and grouped for discovery."""

    def __init__(self) -> None:
        self._custom: dict[str, tuple[ResourceType, ...]] = {}
        self.revision = 0
        self._rebuild()

    def _rebuild(self) -> None:
        types: list[ResourceType] = list(BUILTINS)
        for crd_types in self._custom.values():
            types.extend(crd_types)
        self._by_path: dict[tuple[str, str, str], ResourceType] = {
            (t.group, t.version, t.plural): t for t in types
        }
        groups: dict[str, list[str]] = {}
        for t in types:
            versions = groups.setdefault(t.group, [])
            if t.version not in versions:
                versions.append(t.version)
        self._groups = {g: sorted(v, key=version_priority) for g, v in groups.items()}
        self._types = types
        self.revision += 1

    def set_crd(self, name: str, types: Iterable[ResourceType]) -> None:
        """Serve (or re-serve) the types of CRD ``name``."""
        self._custom[name] = tuple(types)
        self._rebuild()

    def remove_crd(self, name: str) -> None:
        """Stop serving the types of CRD ``name``."""
        if self._custom.pop(name, None) is not None:
            self._rebuild()

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The type served at ``/apis/{group}/{version}/{plural}``, if any."""
        return self._by_path.get((group, version, plural))

    def groups(self) -> dict[str, list[str]]:
        """Group name → served versions, preferred first (core group under "")."""
        return self._groups

    def types(self, group: str | None = None, version: str | None = None) -> list[ResourceType]:
        """All served types, optionally of one group/version."""
        return [
            t
            for t in self._types
            if (group is None or t.group == group) and (version is None or t.version == version)
        ]
