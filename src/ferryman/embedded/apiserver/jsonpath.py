"""The JSONPath subset used by ``additionalPrinterColumns`` (kubectl's dialect).

Supports ``.field``, ``['field']``, ``[n]`` (negative too), ``[*]``, ``..field`` (recursive) and
filters ``[?(@.a.b=="x")]`` with ``== != < > <= >=`` or bare existence. A path is compiled once per
CRD version so rendering a Table row costs only the walk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Step = Callable[[list[Any]], list[Any]]

_FILTER_RE = re.compile(
    r"^\?\(\s*@((?:\.[\w-]+|\['[^']*'\])*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$"
)


class JSONPathError(ValueError):
    """The expression is not in the supported subset (the CRD is refused with this text)."""


def _field(name: str) -> Step:
    return lambda nodes: [n[name] for n in nodes if isinstance(n, dict) and name in n]


def _index(i: int) -> Step:
    def step(nodes: list[Any]) -> list[Any]:
        out = []
        for n in nodes:
            if isinstance(n, list) and -len(n) <= i < len(n):
                out.append(n[i])
        return out

    return step


def _wildcard(nodes: list[Any]) -> list[Any]:
    out: list[Any] = []
    for n in nodes:
        if isinstance(n, list):
            out.extend(n)
        elif isinstance(n, dict):
            out.extend(n.values())
    return out


def _recursive(name: str) -> Step:
    def walk(node: Any, out: list[Any]) -> None:
        if isinstance(node, dict):
            if name in node:
                out.append(node[name])
            for v in node.values():
                walk(v, out)
        elif isinstance(node, list):
            for v in node:
                walk(v, out)

    def step(nodes: list[Any]) -> list[Any]:
        out: list[Any] = []
        for n in nodes:
            walk(n, out)
        return out

    return step


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    try:
        if op == "<":
            return bool(left < right)
        if op == ">":
            return bool(left > right)
        if op == "<=":
            return bool(left <= right)
        return bool(left >= right)
    except TypeError:
        return False


def _filter(expr: str) -> Step:
    m = _FILTER_RE.match(expr)
    if not m:
        raise JSONPathError(f"unsupported filter: [{expr}]")
    path = compile_path(m.group(1)) if m.group(1) else None
    op, value = m.group(2), _literal(m.group(3)) if m.group(3) is not None else None

    def step(nodes: list[Any]) -> list[Any]:
        out = []
        for n in nodes:
            items = n if isinstance(n, list) else [n]
            for item in items:
                found = path(item) if path else [item]
                if not found:
                    continue
                if op is None or _compare(found[0], op, value):
                    out.append(item)
        return out

    return step


def compile_path(expr: str) -> Callable[[Any], list[Any]]:
    """Compile ``expr`` (``{}`` optional) into a function returning all matches."""
    text = expr.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    steps: list[Step] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("..", i):
            m = re.match(r"[\w-]+", text[i + 2 :])
            if not m:
                raise JSONPathError(f"unsupported path: {expr}")
            steps.append(_recursive(m.group(0)))
            i += 2 + len(m.group(0))
        elif ch == ".":
            m = re.match(r"[\w-]*", text[i + 1 :])
            name = m.group(0) if m else ""
            if name:
                steps.append(_field(name))
            i += 1 + len(name)
        elif ch == "[":
            depth, j = 0, i
            while j < len(text):
                if text[j] == "[":
                    depth += 1
                elif text[j] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(text):
                raise JSONPathError(f"unterminated [ in {expr}")
            inner = text[i + 1 : j].strip()
            if inner == "*":
                steps.append(_wildcard)
            elif inner.startswith("?"):
                steps.append(_filter(inner))
            elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
                steps.append(_field(inner[1:-1]))
            else:
                try:
                    steps.append(_index(int(inner)))
                except ValueError:
                    raise JSONPathError(f"unsupported index [{inner}] in {expr}") from None
            i = j + 1
        elif ch == "@" or ch == "$":
            i += 1
        else:
            raise JSONPathError(f"unexpected {ch!r} in {expr}")

    def run(root: Any) -> list[Any]:
        nodes = [root]
        for step in steps:
            nodes = step(nodes)
            if not nodes:
                break
        return nodes

    return run
