"""Label and field selectors, parsed once per request into predicates over stored objects.

Label selectors follow ``k8s.io/apimachinery/pkg/labels``: equality (``=``, ``==``, ``!=``),
set-based (``in``, ``notin``), existence (``key``, ``!key``) and ``>``/``<`` on integers. Field
selectors support ``=``, ``==``, ``!=`` on ``metadata.name``, ``metadata.namespace`` and the extra
fields a resource declares (Events: ``involvedObject.name`` …).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ferryman.embedded.apiserver import errors

Predicate = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^(\S+?)\s+(in|notin)\s*\((.*)\)$")
_OP_RE = re.compile(r"^([^\s!=<>]+)\s*(==|!=|=|>|<)\s*(\S*)$")
_KEY_RE = re.compile(
    r"^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$"
)


def _split_top_level(text: str) -> list[str]:
    """Split at commas that are not inside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _check_key(key: str, selector: str) -> None:
    if not _KEY_RE.match(key) or len(key) > 316:
        raise errors.bad_request(
            f'unable to parse requirement: invalid label key "{key}" in selector "{selector}"'
        )


def _requirement(term: str, selector: str) -> Callable[[dict[str, str]], bool]:
    if term.startswith("!"):
        key = term[1:].strip()
        _check_key(key, selector)
        return lambda labels: key not in labels
    if m := _SET_RE.match(term):
        key, op, values_text = m.group(1), m.group(2), m.group(3)
        _check_key(key, selector)
        values = frozenset(v.strip() for v in values_text.split(",") if v.strip())
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _OP_RE.match(term):
        key, op, value = m.group(1), m.group(2), m.group(3)
        _check_key(key, selector)
        if op in ("=", "=="):
            return lambda labels: labels.get(key) == value
        if op == "!=":
            return lambda labels: labels.get(key) != value
        try:
            bound = int(value)
        except ValueError:
            raise errors.bad_request(
                f'unable to parse requirement: for "{op}" operator, the value must be an integer'
            ) from None
        return _compare(key, op, bound)
    _check_key(term, selector)
    return lambda labels: term in labels


def _compare(key: str, op: str, bound: int) -> Callable[[dict[str, str]], bool]:
    def test(labels: dict[str, str]) -> bool:
        value = _int_or_none(labels.get(key))
        return value is not None and (value > bound if op == ">" else value < bound)

    return test


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def label_selector(selector: str | None) -> Predicate | None:
    """A predicate for ``labelSelector``; None when the selector is empty (everything matches)."""
    if not selector or not selector.strip():
        return None
    requirements = [_requirement(t, selector) for t in _split_top_level(selector)]

    def matches(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(r(labels) for r in requirements)

    return matches


def _lookup(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"  # Go's strconv.FormatBool
    return node if isinstance(node, str) else str(node)


def _field_test(path: str, value: str, *, negate: bool) -> Predicate:
    def test(obj: dict[str, Any]) -> bool:
        return (_lookup(obj, path) == value) != negate

    return test


def field_selector(selector: str | None, extra_fields: Iterable[str] = ()) -> Predicate | None:
    """A predicate for ``fieldSelector``; unknown fields are refused with 400 like the apiserver."""
    if not selector or not selector.strip():
        return None
    allowed = {"metadata.name", "metadata.namespace", *extra_fields}
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for term in _split_top_level(selector):
        m = re.match(r"^([^\s!=]+)\s*(==|!=|=)\s*(.*)$", term)
        if not m:
            raise errors.bad_request(f"invalid selector: '{selector}'; can't understand '{term}'")
        path, op, value = m.group(1), m.group(2), m.group(3)
        if path not in allowed:
            raise errors.bad_request(f"field label not supported: {path}")
        tests.append(_field_test(path, value, negate=op == "!="))
    return lambda obj: all(t(obj) for t in tests)


def exact_name(selector: str | None) -> str:
    """The X of a ``metadata.name=X`` term, as kube-apiserver's RequestInfo takes it for list and
    watch (so RBAC ``resourceNames`` can grant a watch of one object); "" when there is none or
    X is not a valid path segment name."""
    for term in _split_top_level(selector or ""):
        m = re.match(r"^metadata\.name\s*==?\s*(.*)$", term.strip())
        if m and m.group(1) not in ("", ".", "..") and not set(m.group(1)) & {"/", "%"}:
            return m.group(1)
    return ""


def combine(*predicates: Predicate | None) -> Predicate | None:
    """AND of the given predicates, ignoring None; None when nothing constrains."""
    active = [p for p in predicates if p is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(p(obj) for p in active)
