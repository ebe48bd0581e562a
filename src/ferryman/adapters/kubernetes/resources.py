"""lightkube resource classes for any kind, and the ones Ferryman reads and writes itself.

lightkube keeps one class per (apiVersion, kind) in a process-wide registry: typed classes for the
built-in kinds, generic (dict) classes for the rest. ``kind_class`` returns whichever is
registered (creating a generic one when none is), and objects are always built with
``from_dict`` so both kinds of class work.
"""

from __future__ import annotations

from typing import Any

from lightkube import generic_resource
from lightkube.core.resource_registry import resource_registry

from ferryman.api import pipeline


def kind_class(group: str, version: str, kind: str, plural: str, *, namespaced: bool = True) -> Any:
    """The lightkube class for a kind (typed for built-ins, generic otherwise)."""
    if not group:
        return resource_registry.load(version, kind)
    existing = resource_registry.get(f"{group}/{version}", kind)
    if existing is not None:
        return existing
    if namespaced:
        return generic_resource.create_namespaced_resource(group, version, kind, plural)
    return generic_resource.create_global_resource(group, version, kind, plural)


def build(cls: Any, body: dict[str, Any]) -> Any:
    """An instance of ``cls`` holding ``body``."""
    return cls.from_dict(body)


PIPELINE: Any = kind_class(pipeline.GROUP, pipeline.VERSION, pipeline.KIND, pipeline.PLURAL)
EVENT: Any = kind_class("events.k8s.io", "v1", "Event", "events")
SECRET: Any = kind_class("", "v1", "Secret", "secrets")
LEASE: Any = kind_class("coordination.k8s.io", "v1", "Lease", "leases")
