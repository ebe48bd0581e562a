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

from ferryman.embedded.apiserver import jsonpath

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

BUILTINS: tuple[ResourceType, ...] = (
    ResourceType(
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        False,
        ("ns",),
        status=True,
        field_labels=("status.phase",),
    ),
    ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", True, ("cm",)),
    ResourceType("", "v1", "Secret", "secrets", "secret", True, field_labels=("type",)),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True, ("sa",)),
    ResourceType("", "v1", "Event", "events", "event", True, ("ev",), field_labels=_EVENT_FIELDS),
    ResourceType(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        "event",
        True,
        ("ev",),
        storage="/events",
        field_labels=_EVENTS_K8S_FIELDS,
    ),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", "lease", True),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "customresourcedefinition",
        False,
        ("crd", "crds"),
        ("api-extensions",),
        status=True,
        generation=True,
    ),
    ResourceType(
        "authentication.k8s.io",
        "v1",
        "TokenReview",
        "tokenreviews",
        "tokenreview",
        False,
        verbs=CREATE_ONLY,
    ),
    ResourceType(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        "selfsubjectreview",
        False,
        verbs=CREATE_ONLY,
    ),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        False,
        verbs=CREATE_ONLY,
    ),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        "subjectaccessreview",
        False,
        verbs=CREATE_ONLY,
    ),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        "localsubjectaccessreview",
        True,
        verbs=CREATE_ONLY,
    ),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", True),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", False
    ),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", True
    ),
    ResourceType(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        False,
    ),
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
