"""Compiled form of one CRD version's structural schema, and the rules that refuse a bad one.

The embedded API server walks a schema three times per write (prune, default, validate), so the
OpenAPI mapping is turned once into a tree of frozen ``Node`` objects with precompiled regular
expressions and CEL programs. Compiling is also where a schema that a real apiserver would refuse
(not structural, ``additionalProperties: false``, a CEL rule that does not compile, ...) raises
``SchemaError``: a CRD whose rules this server cannot enforce is refused loudly instead of being
served half-checked.

The module is a little over 400 lines on purpose: it is one concept (what a structural schema
may say), and each rule is a short check carrying the apiserver's wording.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ferryman.embedded.apiserver import schema_cel as cel

TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})
JUNCTORS = ("allOf", "anyOf", "oneOf", "not")
# Keywords a structural schema may not use anywhere (apiextensions' "forbidden" list).
_FORBIDDEN = ("$ref", "definitions", "dependencies", "patternProperties", "additionalItems", "id")
# Keywords that belong to the structural part and may not appear under allOf/anyOf/oneOf/not.
_NOT_IN_JUNCTORS = (
    "type",
    "nullable",
    "default",
    "additionalProperties",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
)
# Go RE2 refuses these Perl constructs; Python's re would silently accept them.
_NON_RE2 = re.compile(r"\(\?[=!]|\(\?<[=!]|\\[1-9]")
MISSING: Any = object()  # marks "no default" (None is a legal default for nullable fields)


class SchemaError(ValueError):
    """A schema the real apiserver would refuse, with the offending path in the message."""


@dataclasses.dataclass(frozen=True, eq=False)
class Node:
    """One schema node: what the walkers need, precomputed so a walk does no parsing."""

    type: str | None = None
    nullable: bool = False
    format: str | None = None
    enum: tuple[Any, ...] | None = None
    pattern: re.Pattern[str] | None = None
    pattern_source: str = ""
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    multiple_of: int | float | None = None
    min_items: int | None = None
    max_items: int | None = None
    min_properties: int | None = None
    max_properties: int | None = None
    required: tuple[str, ...] = ()
    properties: Mapping[str, Node] = dataclasses.field(default_factory=dict)
    additional: Node | None = None  # schema of map values (additionalProperties)
    additional_any: bool = False  # additionalProperties: true, values kept as they are
    items: Node | None = None
    all_of: tuple[Node, ...] = ()
    any_of: tuple[Node, ...] = ()
    one_of: tuple[Node, ...] = ()
    not_: Node | None = None
    default: Any = MISSING
    preserve_unknown: bool = False
    embedded: bool = False
    int_or_string: bool = False
    list_type: str | None = None
    list_map_keys: tuple[str, ...] = ()
    rules: tuple[cel.Rule, ...] = ()
    # True when this node or any node below it carries CEL rules (lets the CEL walk skip subtrees).
    has_rules: bool = False
    has_defaults: bool = False  # same, for defaults
    # Built-in kinds only: the Go type the apiserver decodes into ("int32", "v1.LeaseSpec",
    # "v1.MicroTime"…), which names it in decoding errors and picks the time/quantity parsers.
    go_type: str = ""

    @property
    def type_name(self) -> str:
        """The type as CEL errors name it ("object", "string", ...; "" when untyped)."""
        return self.type or ""


def compile_schema(raw: Mapping[str, Any]) -> Node:
    """Compile a CRD version's ``openAPIV3Schema`` into a Node tree, or raise SchemaError."""
    if not isinstance(raw, Mapping):
        raise SchemaError("openAPIV3Schema must be an object")
    if raw.get("type") != "object":
        raise SchemaError('openAPIV3Schema.type: Required value: must be "object" at the root')
    if "default" in raw:
        raise SchemaError("openAPIV3Schema.default: Forbidden: must not be set at the root")
    _check_root_metadata(raw.get("properties", {}).get("metadata"))
    return _compile(raw, "openAPIV3Schema", in_junctor=False, correlatable=True)


def _check_root_metadata(meta: Any) -> None:
    """At the root, metadata may only constrain name and generateName (apiextensions rule)."""
    if meta is None:
        return
    path = "openAPIV3Schema.properties[metadata]"
    if not isinstance(meta, Mapping) or meta.get("type") != "object":
        raise SchemaError(f'{path}.type: Unsupported value: must be "object"')
    extra = sorted(set(meta) - {"type", "properties", "description"})
    if extra:
        raise SchemaError(
            f"{path}: Forbidden: must not specify anything other than name and "
            f"generateName, but metadata is implicitly specified ({extra[0]})"
        )
    for key, sub in meta.get("properties", {}).items():
        if key not in ("name", "generateName"):
            raise SchemaError(f"{path}.properties[{key}]: Forbidden: must not be specified")
        if not isinstance(sub, Mapping) or sub.get("type") != "string":
            raise SchemaError(f'{path}.properties[{key}].type: Unsupported value: must be "string"')


_INT_OR_STRING_ANY_OF: Final = [{"type": "integer"}, {"type": "string"}]


def _without_int_or_string_pattern(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """``raw`` without x-kubernetes-int-or-string's own ``anyOf: [{type: integer}, {type:
    string}]`` (directly or as ``allOf[0].anyOf``): the one place apiextensions lets ``type``
    into a junctor (``isIntOrStringAnyOfPattern``). It checks nothing the int-or-string node
    does not, so it is left out of the compiled node (the published schema keeps it)."""
    if raw.get("anyOf") == _INT_OR_STRING_ANY_OF:
        return {key: value for key, value in raw.items() if key != "anyOf"}
    all_of = raw.get("allOf")
    if (
        isinstance(all_of, list)
        and all_of
        and isinstance(all_of[0], Mapping)
        and all_of[0].get("anyOf") == _INT_OR_STRING_ANY_OF
    ):
        first = {key: value for key, value in all_of[0].items() if key != "anyOf"}
        return {**raw, "allOf": [first, *all_of[1:]]}
    return raw


def _compile(raw: Any, path: str, *, in_junctor: bool, correlatable: bool) -> Node:
    """Compile one node; ``path`` names it in errors the way apiextensions does."""
    if not isinstance(raw, Mapping):
        raise SchemaError(f"{path}: Invalid value: must be an object")
    if raw.get("x-kubernetes-int-or-string") is True:
        raw = _without_int_or_string_pattern(raw)
    for key in _FORBIDDEN:
        if key in raw:
            raise SchemaError(f"{path}.{key}: Forbidden: {key} is not supported")
    if in_junctor:
        for key in _NOT_IN_JUNCTORS:
            if key in raw:
                raise SchemaError(
                    f"{path}.{key}: Forbidden: must not be used inside allOf, anyOf, oneOf or not"
                )
    typ = raw.get("type")
    preserve = raw.get("x-kubernetes-preserve-unknown-fields") is True
    int_or_string = raw.get("x-kubernetes-int-or-string") is True
    if typ is not None and typ not in TYPES:
        raise SchemaError(
            f'{path}.type: Unsupported value: "{typ}": supported values: '
            '"array", "boolean", "integer", "number", "object", "string"'
        )
    if int_or_string and typ is not None:
        raise SchemaError(
            f"{path}.type: Forbidden: must be empty if x-kubernetes-int-or-string is true"
        )
    if typ is None and not (in_junctor or preserve or int_or_string):
        raise SchemaError(
            f"{path}.type: Required value: must not be empty for specified object fields"
        )
    if raw.get("uniqueItems") is True:
        raise SchemaError(
            f"{path}.uniqueItems: Forbidden: uniqueItems cannot be set to true "
            "since the runtime complexity becomes quadratic"
        )
    properties = {
        str(key): _compile(
            sub, f"{path}.properties[{key}]", in_junctor=in_junctor, correlatable=correlatable
        )
        for key, sub in _mapping(raw, "properties", path).items()
    }
    additional, additional_any = _additional(raw, path, properties, in_junctor, correlatable)
    items = _items(raw, path, typ, in_junctor, correlatable)
    list_type, keys = _list_type(raw, path, typ, items)
    if raw.get("x-kubernetes-embedded-resource") is True and (
        typ != "object" or not (properties or preserve)
    ):
        raise SchemaError(
            f"{path}: Required value: x-kubernetes-embedded-resource needs type "
            "object and properties or x-kubernetes-preserve-unknown-fields"
        )
    if "x-kubernetes-map-type" in raw and typ != "object":
        raise SchemaError(
            f"{path}.x-kubernetes-map-type: Invalid value: must only be used on type object"
        )
    junctors = {
        key: tuple(
            _compile(sub, f"{path}.{key}[{i}]", in_junctor=True, correlatable=False)
            for i, sub in enumerate(_list(raw, key, path))
        )
        for key in ("allOf", "anyOf", "oneOf")
    }
    not_ = None
    if "not" in raw:
        not_ = _compile(raw["not"], f"{path}.not", in_junctor=True, correlatable=False)
    if not in_junctor:
        subs = (*junctors["allOf"], *junctors["anyOf"], *junctors["oneOf"])
        for sub in (*subs, not_) if not_ is not None else subs:
            _check_junctor_shape(sub, properties, items, path)
    pattern_source = raw.get("pattern")
    node = Node(
        type=typ,
        nullable=raw.get("nullable") is True,
        format=raw.get("format"),
        enum=tuple(raw["enum"]) if "enum" in raw else None,
        pattern=_pattern(pattern_source, path) if pattern_source is not None else None,
        pattern_source=pattern_source or "",
        min_length=_int(raw, "minLength", path),
        max_length=_int(raw, "maxLength", path),
        minimum=_number(raw, "minimum", path),
        maximum=_number(raw, "maximum", path),
        exclusive_minimum=raw.get("exclusiveMinimum") is True,
        exclusive_maximum=raw.get("exclusiveMaximum") is True,
        multiple_of=_number(raw, "multipleOf", path),
        min_items=_int(raw, "minItems", path),
        max_items=_int(raw, "maxItems", path),
        min_properties=_int(raw, "minProperties", path),
        max_properties=_int(raw, "maxProperties", path),
        required=tuple(str(r) for r in _list(raw, "required", path)),
        properties=properties,
        additional=additional,
        additional_any=additional_any,
        items=items,
        all_of=junctors["allOf"],
        any_of=junctors["anyOf"],
        one_of=junctors["oneOf"],
        not_=not_,
        default=copy.deepcopy(raw["default"]) if "default" in raw else MISSING,
        preserve_unknown=preserve,
        embedded=raw.get("x-kubernetes-embedded-resource") is True,
        int_or_string=int_or_string,
        list_type=list_type,
        list_map_keys=keys,
        rules=_rules(raw, path, correlatable=correlatable),
    )
    children = [
        *properties.values(),
        *([additional] if additional else []),
        *([items] if items else []),
    ]
    return dataclasses.replace(
        node,
        has_rules=bool(node.rules) or any(c.has_rules for c in children),
        has_defaults=any(c.default is not MISSING or c.has_defaults for c in children),
    )


def _additional(
    raw: Mapping[str, Any],
    path: str,
    properties: Mapping[str, Node],
    in_junctor: bool,
    correlatable: bool,
) -> tuple[Node | None, bool]:
    """additionalProperties: a schema for map values, ``true``, or refused."""
    value = raw.get("additionalProperties")
    if value is None:
        return None, False
    if value is False:
        raise SchemaError(f"{path}.additionalProperties: Forbidden: must not be false")
    if properties:
        raise SchemaError(
            f"{path}.additionalProperties: Forbidden: additionalProperties and "
            "properties are mutual exclusive"
        )
    if value is True:
        return None, True
    sub = _compile(
        value, f"{path}.additionalProperties", in_junctor=in_junctor, correlatable=correlatable
    )
    return sub, False


def _items(
    raw: Mapping[str, Any], path: str, typ: str | None, in_junctor: bool, correlatable: bool
) -> Node | None:
    """items: one schema (tuple validation is not structural); required for arrays."""
    value = raw.get("items")
    if value is None:
        if typ == "array" and not in_junctor:
            raise SchemaError(f"{path}.items: Required value: must be specified")
        return None
    if not isinstance(value, Mapping):
        raise SchemaError(
            f"{path}.items: Forbidden: items must be a schema object and not an array"
        )
    # Items of a map-type list correlate with the old list by key; other lists do not.
    item_correlatable = correlatable and raw.get("x-kubernetes-list-type") == "map"
    return _compile(value, f"{path}.items", in_junctor=in_junctor, correlatable=item_correlatable)


def _list_type(
    raw: Mapping[str, Any], path: str, typ: str | None, items: Node | None
) -> tuple[str | None, tuple[str, ...]]:
    """x-kubernetes-list-type and its map keys, with apiextensions' consistency rules."""
    list_type = raw.get("x-kubernetes-list-type")
    keys = tuple(str(k) for k in _list(raw, "x-kubernetes-list-map-keys", path))
    if list_type is None:
        if keys:
            raise SchemaError(
                f"{path}.x-kubernetes-list-map-keys: Forbidden: must only be used "
                "when x-kubernetes-list-type is map"
            )
        return None, ()
    if list_type not in ("atomic", "set", "map"):
        raise SchemaError(
            f'{path}.x-kubernetes-list-type: Unsupported value: "{list_type}": '
            'supported values: "atomic", "map", "set"'
        )
    if typ != "array":
        raise SchemaError(
            f"{path}.x-kubernetes-list-type: Invalid value: must only be used on type array"
        )
    if list_type != "map":
        if keys:
            raise SchemaError(
                f"{path}.x-kubernetes-list-map-keys: Forbidden: must only be used "
                "when x-kubernetes-list-type is map"
            )
        return list_type, ()
    if not keys:
        raise SchemaError(
            f"{path}.x-kubernetes-list-map-keys: Required value: must not be "
            "empty if x-kubernetes-list-type is map"
        )
    if items is None or items.type != "object":
        raise SchemaError(
            f"{path}.items.type: Invalid value: must be object if parent array's "
            "x-kubernetes-list-type is map"
        )
    for key in keys:
        sub = items.properties.get(key)
        if sub is None:
            raise SchemaError(
                f"{path}.x-kubernetes-list-map-keys: Invalid value: {key!r}: "
                "entries must all be names of item properties"
            )
        if sub.type not in ("string", "integer", "number", "boolean") and not sub.int_or_string:
            raise SchemaError(
                f"{path}.items.properties[{key}].type: Invalid value: must be a "
                "scalar type if parent array's x-kubernetes-list-type is map"
            )
        if key not in items.required and sub.default is MISSING:
            raise SchemaError(
                f"{path}.items.properties[{key}]: Required value: map keys must "
                "be required or have a default value"
            )
    return list_type, keys


def _check_junctor_shape(
    sub: Node, properties: Mapping[str, Node], items: Node | None, path: str
) -> None:
    """Junctors may only constrain values the structural part already declares."""
    for key in sub.properties:
        if key not in properties:
            raise SchemaError(
                f"{path}.properties[{key}]: Required value: must be specified in "
                "the structural part of the schema, not only inside a junctor"
            )
    if sub.items is not None and items is None:
        raise SchemaError(
            f"{path}.items: Required value: must be specified in the structural "
            "part of the schema, not only inside a junctor"
        )


def _rules(raw: Mapping[str, Any], path: str, *, correlatable: bool) -> tuple[cel.Rule, ...]:
    """Compile x-kubernetes-validations; a rule that cannot be enforced refuses the schema."""
    rules = []
    for i, entry in enumerate(_list(raw, "x-kubernetes-validations", path)):
        where = f"{path}.x-kubernetes-validations[{i}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("rule"), str):
            raise SchemaError(f"{where}.rule: Required value")
        try:
            rule = cel.Rule.compile(
                entry["rule"],
                message=str(entry.get("message", "")),
                message_expression=str(entry.get("messageExpression", "")),
                field_path=str(entry.get("fieldPath", "")),
                reason=entry.get("reason"),
            )
        except cel.CelCompileError as exc:
            raise SchemaError(f"{where}: {exc}") from exc
        if rule.uses_old_self and not correlatable:
            raise SchemaError(
                f"{where}.rule: Invalid value: {entry['rule']!r}: oldSelf cannot be "
                "used on the uncorrelatable portion of the schema"
            )
        rules.append(rule)
    return tuple(rules)


def _pattern(source: Any, path: str) -> re.Pattern[str]:
    """Compile a Go RE2 pattern with Python's re, refusing what RE2 would refuse."""
    if not isinstance(source, str) or _NON_RE2.search(source):
        raise SchemaError(
            f"{path}.pattern: Invalid value: {source!r}: not a valid RE2 regular expression"
        )
    try:
        return re.compile(source.replace(r"\z", r"\Z"))
    except re.error as exc:
        raise SchemaError(f"{path}.pattern: Invalid value: {source!r}: {exc}") from exc


def _mapping(raw: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise SchemaError(f"{path}.{key}: Invalid value: must be an object")
    return value


def _list(raw: Mapping[str, Any], key: str, path: str) -> Sequence[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise SchemaError(f"{path}.{key}: Invalid value: must be a list")
    return value


def _int(raw: Mapping[str, Any], key: str, path: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SchemaError(f"{path}.{key}: Invalid value: must be a non-negative integer")
    return value


def _number(raw: Mapping[str, Any], key: str, path: str) -> int | float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(f"{path}.{key}: Invalid value: must be a number")
    if key == "multipleOf" and value <= 0:
        raise SchemaError(f"{path}.{key}: Invalid value: must be greater than zero")
    return value
