"""Field paths and field sets of server-side apply, in Kubernetes' ``FieldsV1`` format.

Why: ``metadata.managedFields`` records, per field manager, the set of fields it owns, and
server-side apply decides conflicts and removals with those sets. A path is a tuple of elements
as structured-merge-diff writes them: ``("f", name)`` a map field, ``("k", '{"name":"x"}')`` an
item of a list keyed by its key fields (``x-kubernetes-list-type: map``, or a built-in list with a
strategic merge key), ``("v", '"x"')`` a value of a set list, ``("i", "3")`` an index (never
produced, only read). Atomic lists and scalars are leaves. Which list is which comes from a
``Shape``: the CRD's structural schema for custom resources, the strategic-merge table for
built-in kinds (``metadata`` is always ``ObjectMeta``: finalizers a set, ownerReferences keyed by
``uid``).

Two enumerations exist because Kubernetes records them differently: ``applied`` (what an apply
configuration sets: leaves and list items) and ``nodes`` (every node of an object, maps included,
for Update operations, whose sets also own the maps they create — the ``".": {}`` entries).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ferryman.embedded.apiserver import schema_model, strategic_schema
from ferryman.embedded.apiserver.registry import ResourceType

Element = tuple[str, str]
Path = tuple[Element, ...]
MISSING: Any = object()

#: Fields the server owns; they never appear in a field set.
_IGNORED_TOP = frozenset(("apiVersion", "kind"))
_IGNORED_META = frozenset(
    (
        "name",
        "namespace",
        "generateName",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    )
)
_OBJECT_META = "meta.v1.ObjectMeta"


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Shape:
    """What server-side apply needs to know about one node: its list type and its children.

    Exactly one of ``node`` (a CRD schema node) and ``type_name`` (a strategic-merge type) is
    used; ``strategy``/``merge_key`` describe the list held by a built-in field.
    """

    node: schema_model.Node | None = None
    type_name: str = ""
    strategy: str = ""
    merge_key: str = ""
    root: bool = False

    def field(self, key: str) -> Shape:
        """The shape of the value under map key ``key``."""
        if self.root and key == "metadata":
            return Shape(type_name=_OBJECT_META)
        if self.node is not None:
            child = self.node.properties.get(key) or self.node.additional
            return Shape(node=child)
        if self.type_name.startswith("map:"):
            return Shape(type_name=self.type_name[4:])
        target, strategy, merge_key = strategic_schema.TYPES.get(self.type_name, {}).get(
            key, ("", "", "")
        )
        return Shape(type_name=target, strategy=strategy, merge_key=merge_key)

    def item(self) -> Shape:
        """The shape of this list's items."""
        if self.node is not None:
            return Shape(node=self.node.items)
        return Shape(type_name=self.type_name)

    def list_type(self) -> tuple[str, tuple[str, ...]]:
        """("atomic" | "set" | "map", map keys) of the list at this node."""
        if self.node is not None:
            if self.node.list_type == "map" and self.node.list_map_keys:
                return "map", tuple(self.node.list_map_keys)
            if self.node.list_type == "set":
                return "set", ()
            return "atomic", ()
        if "merge" in self.strategy.split(","):
            return ("map", (self.merge_key,)) if self.merge_key else ("set", ())
        return "atomic", ()


def shape_for(rt: ResourceType) -> Shape:
    """The root shape of objects of ``rt``."""
    if rt.schema is not None:
        return Shape(node=rt.schema.root, root=True)
    return Shape(type_name=strategic_schema.KINDS.get(rt.kind_key, ""), root=True)


# --------------------------------------------------------------------------- enumeration


def _ignored(path: Path) -> bool:
    if len(path) == 1:
        return path[0][1] in _IGNORED_TOP
    return len(path) == 2 and path[0] == ("f", "metadata") and path[1][1] in _IGNORED_META


def _key_of(item: Any, keys: tuple[str, ...]) -> str | None:
    if not isinstance(item, dict) or not all(k in item for k in keys):
        return None
    return json.dumps({k: item[k] for k in sorted(keys)}, separators=(",", ":"))


def list_elements(value: list[Any], shape: Shape) -> list[tuple[Element, Any]] | None:
    """(element, item) pairs of a granular list, or None when it is owned as a whole."""
    kind, keys = shape.list_type()
    if kind == "atomic" or not value:
        return None
    out: list[tuple[Element, Any]] = []
    for item in value:
        if kind == "set":
            if isinstance(item, dict | list):
                return None
            out.append((("v", json.dumps(item, separators=(",", ":"))), item))
        else:
            key = _key_of(item, keys)
            if key is None:
                return None
            out.append((("k", key), item))
    return out


def _walk(value: Any, shape: Shape, prefix: Path, *, maps: bool) -> Iterator[Path]:
    """Member paths below ``prefix``; ``maps`` also yields non-empty maps and list items."""
    if isinstance(value, dict) and value:
        for key, child in value.items():
            path = (*prefix, ("f", key))
            if _ignored(path):
                continue
            yield from _member(child, shape.field(key), path, maps=maps)
    elif isinstance(value, list):
        for element, item in list_elements(value, shape) or ():
            path = (*prefix, element)
            yield path
            if element[0] == "k":
                yield from _walk(item, shape.item(), path, maps=maps)


def _member(value: Any, shape: Shape, path: Path, *, maps: bool) -> Iterator[Path]:
    granular = (isinstance(value, dict) and bool(value)) or (
        isinstance(value, list) and list_elements(value, shape) is not None
    )
    if not granular:
        yield path
        return
    children = list(_walk(value, shape, path, maps=maps))
    if children and maps:
        yield path  # metadata holding only server-owned fields is no node of anyone's set
    yield from children


def applied(obj: dict[str, Any], shape: Shape) -> set[Path]:
    """The fields an apply configuration sets (leaves and list items)."""
    return set(_walk(obj, shape, (), maps=False))


def nodes(obj: dict[str, Any], shape: Shape) -> set[Path]:
    """Every node of ``obj`` (maps and granular lists included)."""
    return set(_walk(obj, shape, (), maps=True))


# --------------------------------------------------------------------------- access


def _find(items: list[Any], element: Element) -> int:
    kind, raw = element
    wanted = json.loads(raw)
    for index, item in enumerate(items):
        if kind == "v" and item == wanted:
            return index
        if (
            kind == "k"
            and isinstance(item, dict)
            and all(item.get(k) == v for k, v in wanted.items())
        ):
            return index
        if kind == "i" and index == wanted:
            return index
    return -1


def get(obj: Any, path: Path) -> Any:
    """The value at ``path``, or ``MISSING``."""
    value = obj
    for element in path:
        if element[0] == "f":
            if not isinstance(value, dict) or element[1] not in value:
                return MISSING
            value = value[element[1]]
        else:
            if not isinstance(value, list):
                return MISSING
            index = _find(value, element)
            if index < 0:
                return MISSING
            value = value[index]
    return value


def remove(obj: dict[str, Any], path: Path) -> None:
    """Delete the node at ``path`` (nothing when it is absent)."""
    parent = get(obj, path[:-1]) if len(path) > 1 else obj
    element = path[-1]
    if element[0] == "f":
        if isinstance(parent, dict):
            parent.pop(element[1], None)
    elif isinstance(parent, list):
        index = _find(parent, element)
        if index >= 0:
            del parent[index]


# --------------------------------------------------------------------------- FieldsV1


def encode(paths: set[Path]) -> dict[str, Any]:
    """The ``fieldsV1`` tree of a set: children nested, ``"."`` marks a member with children."""
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(f"{element[0]}:{element[1]}", {})
    for path in paths:
        node = tree
        for element in path:
            node = node[f"{element[0]}:{element[1]}"]
        if node and "." not in node:
            node["."] = {}
    return _sorted(tree)


def _sorted(tree: dict[str, Any]) -> dict[str, Any]:
    return {key: _sorted(tree[key]) for key in sorted(tree)}


def decode(fields: Any, prefix: Path = ()) -> set[Path]:
    """The set a ``fieldsV1`` tree describes (malformed entries are skipped)."""
    out: set[Path] = set()
    if not isinstance(fields, dict):
        return out
    for key, child in fields.items():
        if key == ".":
            if prefix:
                out.add(prefix)
            continue
        kind, _, raw = str(key).partition(":")
        if kind not in ("f", "k", "v", "i") or not _:
            continue
        if kind in ("k", "v"):
            try:
                parsed = json.loads(raw)
            except ValueError:
                continue
            raw = json.dumps(
                {k: parsed[k] for k in sorted(parsed)} if isinstance(parsed, dict) else parsed,
                separators=(",", ":"),
            )
        path = (*prefix, (kind, raw))
        if isinstance(child, dict) and child:
            out |= decode(child, path)
        else:
            out.add(path)
    return out


def render(path: Path) -> str:
    """structured-merge-diff's text form: ``.spec.containers[name="web"].image``."""
    parts: list[str] = []
    for kind, raw in path:
        if kind == "f":
            parts.append(f".{raw}")
        elif kind == "k":
            key = json.loads(raw)
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in key.items()) + "]")
        elif kind == "v":
            parts.append(f"[={raw}]")
        else:
            parts.append(f"[{raw}]")
    return "".join(parts)
