"""The generated table of built-in resources matches the vendored upstream OpenAPI."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import sys
from pathlib import Path

from ferryman.embedded.apiserver import builtin_schema, builtin_types, registry

ROOT = Path(__file__).resolve().parents[4]
UPSTREAM = ROOT / "src" / "ferryman" / "embedded" / "apiserver" / "upstream"


def _generator() -> object:
    spec = importlib.util.spec_from_file_location(
        "generate_builtin_types", ROOT / "tools" / "generate_builtin_types.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_vendored_swagger_is_the_recorded_upstream_blob() -> None:
    """The README names the git blob of the upstream swagger.json; the file still is it."""
    raw = gzip.decompress((UPSTREAM / "swagger-v1.32.json.gz").read_bytes())
    blob = hashlib.sha1(b"blob %d\0" % len(raw) + raw, usedforsecurity=False).hexdigest()
    assert blob in (UPSTREAM / "README.md").read_text(encoding="utf-8")


def test_generated_table_is_up_to_date() -> None:
    """tools/generate_builtin_types.py on the vendored swagger renders builtin_types.py as is."""
    generator = _generator()
    entries = generator.build(builtin_schema.swagger())  # type: ignore[attr-defined]
    rendered = generator.render(entries)  # type: ignore[attr-defined]
    namespace: dict[str, object] = {}
    exec(compile(rendered, "generated", "exec"), namespace)  # noqa: S102 - our own generator
    assert namespace["RESOURCES"] == builtin_types.RESOURCES


def test_only_ga_versions_and_the_kinds_a_cluster_lists() -> None:
    """A default 1.32 apiserver serves GA group-versions only; workloads and Services are there."""
    served = {(t.group, t.version, t.plural) for t in registry.BUILTINS}
    assert all(not any(w in v for w in ("alpha", "beta")) for _, v, _ in served)
    for expected in (
        ("apps", "v1", "deployments"),
        ("batch", "v1", "jobs"),
        ("", "v1", "services"),
        ("", "v1", "pods"),
        ("networking.k8s.io", "v1", "ingresses"),
        ("policy", "v1", "poddisruptionbudgets"),
        ("", "v1", "nodes"),
        ("authorization.k8s.io", "v1", "selfsubjectrulesreviews"),
    ):
        assert expected in served
    jobs = next(t for t in registry.BUILTINS if t.plural == "jobs")
    assert jobs.status and jobs.generation and "all" in jobs.categories
