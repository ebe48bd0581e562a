"""Pruning and defaulting of a custom resource, in place, as the apiserver does on every write.

Pruning drops fields the schema does not declare (unless ``x-kubernetes-preserve-unknown-fields``
keeps them) and returns their paths, which is what strict field validation reports as
``unknown field "spec.foo"``. Defaulting fills absent fields whose parent exists, replaces
``null`` in non-nullable fields by their default (or drops it when there is none), and recurses
into the value it just set, so nested defaults, defaults of array items and of map values apply.
"""

from __future__ import annotations

import copy
from typing import Any

from ferryman.embedded.apiserver.schema_model import MISSING, Node

# ObjectMeta fields an embedded resource may carry; anything else in its metadata is pruned.
OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
_TYPE_META = ("apiVersion", "kind")


def prune(node: Node, value: Any, path: str, removed: list[str], *, root: bool = False) -> None:
    """Drop unknown fields below ``value`` in place, appending each dropped field's path."""
    if isinstance(value, dict):
        if node.type not in (None, "object"):
            return  # a type error; validation reports it
        for key in list(value):
            item = value[key]
            sub_path = f"{path}.{key}" if path else key
            if (root or node.embedded) and key in ("metadata", *_TYPE_META):
                if key == "metadata" and node.embedded and not root:
                    _prune_meta(item, sub_path, removed)
                elif key in node.properties and key != "metadata":
                    prune(node.properties[key], item, sub_path, removed)
                continue
            sub = node.properties.get(key)
            if sub is not None:
                prune(sub, item, sub_path, removed)
            elif node.additional is not None:
                prune(node.additional, item, f"{path}[{key}]", removed)
            elif not (node.preserve_unknown or node.additional_any):
                del value[key]
                removed.append(sub_path)
    elif isinstance(value, list) and node.items is not None:
        for index, item in enumerate(value):
            prune(node.items, item, f"{path}[{index}]", removed)


def _prune_meta(meta: Any, path: str, removed: list[str]) -> None:
    if isinstance(meta, dict):
        for key in [k for k in meta if k not in OBJECT_META_FIELDS]:
            del meta[key]
            removed.append(f"{path}.{key}")


def default(node: Node, value: Any, *, root: bool = False) -> None:
    """Apply defaults below ``value`` in place (the value itself is never replaced)."""
    if isinstance(value, dict):
        if node.type not in (None, "object"):
            return
        for key, sub in node.properties.items():
            if root and key == "metadata":
                continue
            current = value.get(key, MISSING)
            if current is MISSING or (current is None and not sub.nullable):
                if sub.default is not MISSING:
                    value[key] = copy.deepcopy(sub.default)
                elif current is None:
                    del value[key]  # a null where null is not allowed and nothing replaces it
        additional = node.additional
        for key in list(value):
            if root and key == "metadata":
                continue
            schema = node.properties.get(key) or additional
            if schema is None:
                continue
            if value[key] is None and not schema.nullable and key not in node.properties:
                if schema.default is MISSING:
                    del value[key]
                    continue
                value[key] = copy.deepcopy(schema.default)
            default(schema, value[key])
    elif isinstance(value, list) and node.items is not None:
        items = node.items
        for index, item in enumerate(value):
            if item is None and not items.nullable and items.default is not MISSING:
                value[index] = copy.deepcopy(items.default)
            default(items, value[index])
