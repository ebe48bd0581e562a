"""Validation of a custom resource against its compiled structural schema.

Two passes, in the order the real apiserver reports them: first the OpenAPI value checks
(kube-openapi's, translated into field errors by apiextensions), then the CEL rules of
``x-kubernetes-validations``. The CEL pass only descends into subtrees that carry rules, and
evaluates transition rules (``oldSelf``) only where the old object has a value at the same,
correlatable position (object properties, map values, items of ``list-type: map`` lists).
"""

from __future__ import annotations

import math
from typing import Any

from ferryman.embedded.apiserver import schema_causes, schema_cel_closures, schema_formats
from ferryman.embedded.apiserver import schema_cel as cel
from ferryman.embedded.apiserver.schema_causes import Cause
from ferryman.embedded.apiserver.schema_model import Node

Causes = list[Cause]
_ROOT_META = ("name", "generateName")


def child(path: str, name: str) -> str:
    """Field path of a property: ``spec`` + ``x`` -> ``spec.x``."""
    return f"{path}.{name}" if path else name


def json_kind(value: Any) -> str:
    """The OpenAPI type name of a decoded JSON value ("integer" for integral floats too)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def type_matches(node: Node, value: Any) -> bool:
    """Whether ``value`` has the node's type (number accepts integers; untyped takes all)."""
    kind = json_kind(value)
    if node.int_or_string:
        return kind in ("integer", "string")
    if node.type is None:
        return True
    return kind == node.type or (node.type == "number" and kind == "integer")


def validate_object(root: Node, obj: dict[str, Any], old: dict[str, Any] | None) -> Causes:
    """All causes for a whole object (root metadata only as far as the schema constrains it)."""
    causes: Causes = []
    _check(root, obj, "", causes, root_level=True)
    if root.has_rules:
        old_value = cel.ABSENT if old is None else _cel_root(old)
        _run_rules(root, _cel_root(obj), old_value, "", causes)
    return causes


def validate_value(node: Node, value: Any, path: str) -> Causes:
    """Causes for one value (used to check a schema's own defaults)."""
    causes: Causes = []
    _check(node, value, path, causes, root_level=False)
    if node.has_rules:
        _run_rules(node, value, cel.ABSENT, path, causes)
    return causes


def _cel_root(obj: dict[str, Any]) -> dict[str, Any]:
    """What CEL sees as ``self`` at the root: metadata reduced to name and generateName."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return obj
    return {**obj, "metadata": {k: meta[k] for k in _ROOT_META if k in meta}}


def _subject(path: str) -> str:
    return f"{path} in body" if path else "in body"


def _check(node: Node, value: Any, path: str, causes: Causes, *, root_level: bool) -> None:
    """kube-openapi's value validation of one node and everything below it."""
    if value is None:
        if not (node.nullable or (node.type is None and not node.int_or_string)):
            expected = "integer,string" if node.int_or_string else node.type
            causes.append(
                schema_causes.type_invalid(
                    path, "null", f'{_subject(path)} must be of type {expected}: "null"'
                )
            )
        return
    if not type_matches(node, value):
        kind = json_kind(value)
        expected = "integer,string" if node.int_or_string else node.type
        causes.append(
            schema_causes.type_invalid(
                path, kind, f'{_subject(path)} must be of type {expected}: "{kind}"'
            )
        )
        return
    if node.enum is not None and not any(
        schema_cel_closures.equal(value, member) for member in node.enum
    ):
        causes.append(schema_causes.not_supported(path, value, list(node.enum)))
    if isinstance(value, str):
        _check_string(node, value, path, causes)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(node, value, path, causes)
    elif isinstance(value, dict):
        _check_object(node, value, path, causes, root_level=root_level)
    elif isinstance(value, list):
        _check_array(node, value, path, causes)
    if node.all_of or node.any_of or node.one_of or node.not_ is not None:
        _check_junctors(node, value, path, causes)


def _check_string(node: Node, value: str, path: str, causes: Causes) -> None:
    if node.max_length is not None and len(value) > node.max_length:
        causes.append(schema_causes.too_long(path, node.max_length))
    if node.min_length is not None and len(value) < node.min_length:
        causes.append(
            schema_causes.invalid(
                path, value, f"{_subject(path)} should be at least {node.min_length} chars long"
            )
        )
    if node.pattern is not None and node.pattern.search(value) is None:
        causes.append(
            schema_causes.invalid(
                path, value, f"{_subject(path)} should match '{node.pattern_source}'"
            )
        )
    checker = schema_formats.FORMATS.get(node.format or "")
    if checker is not None and not checker(value):
        causes.append(
            schema_causes.type_invalid(
                path,
                value,
                f"{_subject(path)} must be of type {node.format}: {schema_causes.go_quote(value)}",
            )
        )


def _check_number(node: Node, value: int | float, path: str, causes: Causes) -> None:
    if node.maximum is not None and (
        value > node.maximum or (node.exclusive_maximum and value == node.maximum)
    ):
        relation = "less than" if node.exclusive_maximum else "less than or equal to"
        causes.append(
            schema_causes.invalid(
                path, value, f"{_subject(path)} should be {relation} {_number(node.maximum)}"
            )
        )
    if node.minimum is not None and (
        value < node.minimum or (node.exclusive_minimum and value == node.minimum)
    ):
        relation = "greater than" if node.exclusive_minimum else "greater than or equal to"
        causes.append(
            schema_causes.invalid(
                path, value, f"{_subject(path)} should be {relation} {_number(node.minimum)}"
            )
        )
    if node.multiple_of is not None and not _is_multiple(value, node.multiple_of):
        causes.append(
            schema_causes.invalid(
                path, value, f"{_subject(path)} should be a multiple of {_number(node.multiple_of)}"
            )
        )


def _number(value: int | float) -> str:
    return schema_causes.go_float(value) if isinstance(value, float) else str(value)


def _is_multiple(value: int | float, factor: int | float) -> bool:
    if isinstance(value, int) and isinstance(factor, int):
        return value % factor == 0
    quotient = value / factor
    return math.isclose(quotient, round(quotient), rel_tol=0, abs_tol=1e-9)


def _check_object(
    node: Node, value: dict[str, Any], path: str, causes: Causes, *, root_level: bool
) -> None:
    for name in node.required:
        if name not in value:
            causes.append(schema_causes.required(child(path, name)))
    if node.max_properties is not None and len(value) > node.max_properties:
        causes.append(schema_causes.too_many(path, len(value), node.max_properties))
    if node.min_properties is not None and len(value) < node.min_properties:
        causes.append(
            schema_causes.invalid(
                path,
                len(value),
                f"{_subject(path)} should have at least {node.min_properties} properties",
            )
        )
    if node.embedded:
        for name in ("apiVersion", "kind"):
            if not value.get(name):
                causes.append(schema_causes.required(child(path, name), "must not be empty"))
    for key, item in value.items():
        if root_level and key == "metadata":
            _check_root_metadata(node.properties.get(key), item, causes)
            continue
        sub = node.properties.get(key)
        if sub is not None:
            _check(sub, item, child(path, key), causes, root_level=False)
        elif node.additional is not None:
            _check(node.additional, item, f"{path}[{key}]", causes, root_level=False)


def _check_root_metadata(node: Node | None, meta: Any, causes: Causes) -> None:
    """ObjectMeta is the server's business; only schema-given name rules are checked here."""
    if node is None or not isinstance(meta, dict):
        return
    for key in _ROOT_META:
        sub = node.properties.get(key)
        if sub is not None and key in meta:
            _check(sub, meta[key], f"metadata.{key}", causes, root_level=False)


def _check_array(node: Node, value: list[Any], path: str, causes: Causes) -> None:
    if node.max_items is not None and len(value) > node.max_items:
        causes.append(schema_causes.too_many(path, len(value), node.max_items))
    if node.min_items is not None and len(value) < node.min_items:
        causes.append(
            schema_causes.invalid(
                path, len(value), f"{_subject(path)} should have at least {node.min_items} items"
            )
        )
    if node.list_type == "map":
        _check_map_keys(node, value, path, causes)
    elif node.list_type == "set":
        _check_set(value, path, causes)
    if node.items is not None:
        for index, item in enumerate(value):
            _check(node.items, item, f"{path}[{index}]", causes, root_level=False)


def _check_map_keys(node: Node, value: list[Any], path: str, causes: Causes) -> None:
    """Items of a map-list must differ in their keys (FieldValueDuplicate, keys only)."""
    seen: set[str] = set()
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            continue  # the item's own type error is reported by its schema
        keys = {k: item[k] for k in node.list_map_keys if k in item}
        fingerprint = schema_causes.json_text(keys)
        if fingerprint in seen:
            causes.append(schema_causes.duplicate(f"{path}[{index}]", keys))
        seen.add(fingerprint)


def _check_set(value: list[Any], path: str, causes: Causes) -> None:
    seen: set[str] = set()
    for index, item in enumerate(value):
        fingerprint = schema_causes.json_text(item)
        if fingerprint in seen:
            causes.append(schema_causes.duplicate(f"{path}[{index}]", item))
        seen.add(fingerprint)


def _passes(node: Node, value: Any, path: str) -> Causes:
    found: Causes = []
    _check(node, value, path, found, root_level=False)
    return found


def _check_junctors(node: Node, value: Any, path: str, causes: Causes) -> None:
    """allOf/anyOf/oneOf/not, reported the way kube-openapi reports composite failures."""
    quoted = f'"{path}"'
    for sub in node.all_of:
        failed = _passes(sub, value, path)
        if failed:
            causes.append(
                schema_causes.invalid(path, "", f"{quoted} must validate all the schemas (allOf)")
            )
            causes.extend(failed)
            break
    if node.any_of:
        results = [_passes(sub, value, path) for sub in node.any_of]
        if all(results):
            causes.append(
                schema_causes.invalid(
                    path, "", f"{quoted} must validate at least one schema (anyOf)"
                )
            )
            causes.extend(results[0])
    if node.one_of:
        results = [_passes(sub, value, path) for sub in node.one_of]
        valid = sum(1 for r in results if not r)
        if valid != 1:
            found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            causes.append(
                schema_causes.invalid(
                    path, "", f"{quoted} must validate one and only one schema (oneOf). {found}"
                )
            )
            if valid == 0:
                causes.extend(results[0])
    if node.not_ is not None and not _passes(node.not_, value, path):
        causes.append(
            schema_causes.invalid(path, "", f"{quoted} must not validate the schema (not)")
        )


def _run_rules(node: Node, value: Any, old: Any, path: str, causes: Causes) -> None:
    """The CEL pass: rules of this node, then of every descendant that has any."""
    if value is None or not type_matches(node, value):
        return
    for rule in node.rules:
        if rule.uses_old_self and old is cel.ABSENT:
            continue  # a transition rule only runs on update, where an old value exists
        cause = _evaluate(rule, node, value, old, path)
        if cause is not None:
            causes.append(cause)
    if isinstance(value, dict):
        old_map = old if isinstance(old, dict) else {}
        for key, item in value.items():
            sub = node.properties.get(key)
            sub_path = child(path, key)
            if sub is None and node.additional is not None:
                sub, sub_path = node.additional, f"{path}[{key}]"
            if sub is not None and sub.has_rules:
                _run_rules(sub, item, old_map.get(key, cel.ABSENT), sub_path, causes)
    elif isinstance(value, list) and node.items is not None and node.items.has_rules:
        old_items = _correlate(node, value, old)
        for index, item in enumerate(value):
            _run_rules(node.items, item, old_items[index], f"{path}[{index}]", causes)


def _correlate(node: Node, value: list[Any], old: Any) -> list[Any]:
    """Old items matched to new ones by map keys; other lists have no old counterpart."""
    if node.list_type != "map" or not isinstance(old, list):
        return [cel.ABSENT] * len(value)

    def key_of(item: Any) -> str | None:
        if not isinstance(item, dict):
            return None
        return schema_causes.json_text([item.get(k) for k in node.list_map_keys])

    by_key = {key_of(item): item for item in old}
    return [by_key.get(key_of(item), cel.ABSENT) for item in value]


def _evaluate(rule: cel.Rule, node: Node, value: Any, old: Any, path: str) -> Cause | None:
    """Run one rule; a false result or an evaluation error becomes a cause."""
    env = {"self": value, "oldSelf": old}
    try:
        result = rule.program.evaluate(env)
    except cel.CelEvalError as exc:
        detail = str(exc)
        if detail.startswith("no such overload"):
            detail = (
                f"'{detail}': call arguments did not match a supported operator, "
                f"function or macro signature for rule: {rule.describe()}"
            )
        else:
            detail = f"{detail} evaluating rule: {rule.describe()}"
        return schema_causes.invalid(path, node.type_name, detail)
    if result is True:
        return None
    if not isinstance(result, bool):
        return schema_causes.invalid(
            path,
            node.type_name,
            f"rule did not evaluate to a bool evaluating rule: {rule.describe()}",
        )
    field = path + rule.field_path
    if not path and field.startswith("."):
        field = field[1:]
    detail = _message(rule, env)
    if rule.reason == schema_causes.FORBIDDEN:
        return schema_causes.forbidden(field, detail)
    if rule.reason == schema_causes.REQUIRED:
        return schema_causes.required(field, detail)
    if rule.reason == schema_causes.DUPLICATE:
        return schema_causes.duplicate(field, node.type_name)
    return schema_causes.invalid(field, node.type_name, detail)


def _message(rule: cel.Rule, env: dict[str, Any]) -> str:
    """messageExpression when it yields a non-empty string, else message, else the default."""
    if rule.message_expression is not None:
        try:
            text = rule.message_expression.evaluate(env)
        except cel.CelEvalError:
            text = None
        if isinstance(text, str) and text.strip():
            return text.strip()
    return rule.message or f"failed rule: {rule.source.strip()}"
