"""Generate ``src/ferryman/embedded/apiserver/strategic_schema.py`` from Kubernetes' OpenAPI.

Why: the embedded API server applies strategic merge patches to built-in kinds, and the merge keys
and patch strategies (``x-kubernetes-patch-merge-key`` / ``x-kubernetes-patch-strategy``) live in
Kubernetes' OpenAPI documents. The ``kubernetes-validate`` package ships those documents as JSON
Schema; reading them here, once, keeps that package out of Ferryman's runtime dependencies.

The output is a small table: for every type that (transitively) carries patch metadata, the fields
that lead to it. Types without any patch metadata below them are left out, because for them the
default (maps merge recursively, lists are replaced) is already right.

Run (needs ``pip install "kubernetes-validate>=1.30,<2"``)::

    .venv/bin/python tools/generate_strategic_schema.py [--version 1.32.0]
    .venv/bin/ruff format src/ferryman/embedded/apiserver/strategic_schema.py
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # the package ships no type hints

OUTPUT = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "ferryman"
    / "embedded"
    / "apiserver"
    / "strategic_schema.py"
)
_PREFIXES = (
    "io.k8s.apiextensions-apiserver.pkg.apis.",
    "io.k8s.kube-aggregator.pkg.apis.",
    "io.k8s.apimachinery.pkg.apis.",
    "io.k8s.apimachinery.pkg.",
    "io.k8s.api.",
)

Field = tuple[str, str, str]


def short(ref: str) -> str:
    """Shorten ``#/$defs/io.k8s.api.core.v1.Pod`` to ``core.v1.Pod`` (unique in practice)."""
    name = ref.rsplit("/", 1)[-1]
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def field_of(prop: Mapping[str, Any]) -> Field:
    """Describe one property: the type its values/items have, its strategy and merge key."""
    target = ""
    if "$ref" in prop:
        target = short(prop["$ref"])
    elif "$ref" in prop.get("items", {}):
        target = short(prop["items"]["$ref"])
    elif (
        "$ref" in prop.get("additionalProperties", {})
        if isinstance(prop.get("additionalProperties"), dict)
        else False
    ):
        target = "map:" + short(prop["additionalProperties"]["$ref"])
    return (
        target,
        str(prop.get("x-kubernetes-patch-strategy", "")),
        str(prop.get("x-kubernetes-patch-merge-key", "")),
    )


def build(version: str) -> tuple[dict[str, str], dict[str, dict[str, Field]]]:
    """Return (kind key -> root type, type -> relevant fields), pruned to types that matter."""
    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    definitions = json.loads((base / f"v{version}-local" / "_definitions.json").read_text())
    defs: dict[str, Any] = definitions["$defs"]
    all_types: dict[str, dict[str, Field]] = {}
    for name, schema in defs.items():
        props = schema.get("properties") or {}
        all_types[short(name)] = {key: field_of(prop) for key, prop in props.items()}

    relevant: dict[str, bool] = {}

    def matters(type_name: str, visiting: frozenset[str]) -> bool:
        if type_name in relevant:
            return relevant[type_name]
        if type_name in visiting:
            return False
        result = False
        for target, strategy, key in all_types.get(type_name, {}).values():
            inner = target.removeprefix("map:")
            if strategy or key or (inner and matters(inner, visiting | {type_name})):
                result = True
        if not visiting:
            relevant[type_name] = result
        return result

    types: dict[str, dict[str, Field]] = {}
    for type_name, fields in all_types.items():
        if not matters(type_name, frozenset()):
            continue
        kept = {}
        for key, (target, strategy, merge_key) in fields.items():
            inner = target.removeprefix("map:")
            if strategy or merge_key or (inner and matters(inner, frozenset())):
                kept[key] = (target, strategy, merge_key)
        types[type_name] = kept

    kinds: dict[str, str] = {}
    for name, schema in defs.items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            if len(schema.get("x-kubernetes-group-version-kind", [])) != 1:
                continue
            if gvk["kind"].endswith("List") or "properties" not in schema:
                continue
            group_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            kinds[f"{group_version}/{gvk['kind']}"] = short(name)
    reachable: set[str] = set()
    pending = list(kinds.values())
    while pending:
        current = pending.pop()
        if current in reachable or current not in types:
            continue
        reachable.add(current)
        pending.extend(target.removeprefix("map:") for target, _, _ in types[current].values())
    kinds = {key: value for key, value in kinds.items() if value in reachable}
    types = {key: value for key, value in types.items() if key in reachable}
    return dict(sorted(kinds.items())), dict(sorted(types.items()))


def render(version: str, kinds: dict[str, str], types: dict[str, dict[str, Field]]) -> str:
    """Write the table as a typed Python module (no JSON parsing at import, ships with the code)."""
    lines = [
        '"""Strategic-merge-patch metadata of Kubernetes built-in kinds (GENERATED, do not edit).',
        "",
        f"Generated by tools/generate_strategic_schema.py from the Kubernetes v{version} OpenAPI",
        "schemas shipped by the kubernetes-validate package. KINDS maps a kind key",
        '("apps/v1/Deployment", "v1/Secret") to its type; TYPES lists, per type, only the fields',
        "that carry patch metadata or lead to a type that does, as (target type, patch strategy,",
        'merge key). A target starting with "map:" names the value type of a map field.',
        '"""',
        "",
        "# ruff: noqa: E501  (generated table: one entry per line keeps diffs reviewable)",
        "",
        "from typing import Final",
        "",
        f'SOURCE_VERSION: Final = "{version}"',
        "",
        "KINDS: Final[dict[str, str]] = {",
    ]
    lines += [f'    "{key}": "{value}",' for key, value in kinds.items()]
    lines += ["}", "", "TYPES: Final[dict[str, dict[str, tuple[str, str, str]]]] = {"]
    for type_name, fields in types.items():
        lines.append(f'    "{type_name}": {{')
        for key, (target, strategy, merge_key) in fields.items():
            lines.append(f'        "{key}": ("{target}", "{strategy}", "{merge_key}"),')
        lines.append("    },")
    lines += ["}", ""]
    return "\n".join(lines)


def main() -> None:
    """Parse arguments and write the module."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1.32.0", help="Kubernetes schema version to read")
    args = parser.parse_args()
    kinds, types = build(args.version)
    OUTPUT.write_text(render(args.version, kinds, types))
    print(f"wrote {OUTPUT} ({len(kinds)} kinds, {len(types)} types)")


if __name__ == "__main__":
    main()
