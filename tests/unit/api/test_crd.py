"""The generated CRD: committed copy up to date, rules present, and a superset of the original."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ferryman.api import crd, pipeline
from ferryman.cli import crd as crd_command

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "config" / "crd" / "bases" / "pipelines.weave.works_pipelines.yaml"
ORIGINAL = (
    REPO / ".." / "shared" / "fixtures" / "crds" / "original-pipelines.weave.works_pipelines.yaml"
)


def schema() -> dict[str, Any]:
    return crd.openapi_schema()


def spec_schema() -> dict[str, Any]:
    result: dict[str, Any] = schema()["properties"]["spec"]
    return result


def promotion_schema() -> dict[str, Any]:
    result: dict[str, Any] = spec_schema()["properties"]["promotion"]
    return result


def original() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(ORIGINAL.read_text(encoding="utf-8"))
    return document


def test_committed_crd_is_up_to_date() -> None:
    """config/crd/bases is exactly what `ferryman crd` renders (run `make manifests` if not)."""
    assert COMMITTED.read_text(encoding="utf-8") == crd_command.render(), (
        "config/crd/bases/pipelines.weave.works_pipelines.yaml is stale: run `make manifests`"
    )


def test_python_m_ferryman_crd_prints_the_crd() -> None:
    """The command-line entry point prints the same CRD document."""
    done = subprocess.run(
        [sys.executable, "-m", "ferryman", "crd"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout == crd_command.render()
    assert yaml.safe_load(done.stdout) == crd.custom_resource_definition()


def test_environments_and_targets_need_at_least_one_item() -> None:
    """minItems 1 on environments and targets; maxItems bound the status."""
    environments = spec_schema()["properties"]["environments"]
    targets = environments["items"]["properties"]["targets"]
    assert (environments["minItems"], environments["maxItems"]) == (1, pipeline.MAX_ENVIRONMENTS)
    assert (targets["minItems"], targets["maxItems"]) == (1, pipeline.MAX_TARGETS)


def test_environments_are_a_list_map_keyed_by_name() -> None:
    """Server-side apply merges environments by name, and names are unique."""
    environments = spec_schema()["properties"]["environments"]
    assert environments["x-kubernetes-list-type"] == "map"
    assert environments["x-kubernetes-list-map-keys"] == ["name"]
    assert "name" in environments["items"]["required"]


def test_provider_types_are_an_enum() -> None:
    """Unknown pull-request providers are refused by the API server."""
    pull_request = promotion_schema()["properties"]["strategy"]["properties"]["pull-request"]
    assert pull_request["properties"]["type"] == {
        "description": "Git hosting service that manages the pull requests.",
        "type": "string",
        "enum": ["github", "gitlab", "bitbucket-server", "azure-devops", "gitea"],
    }
    assert set(pull_request["required"]) == {"type", "url", "baseBranch", "secretRef"}


def test_required_approvals_have_a_minimum_of_one() -> None:
    """approval.required is an integer between 1 and 5."""
    required = promotion_schema()["properties"]["approval"]["properties"]["required"]
    assert (required["type"], required["minimum"], required["maximum"]) == ("integer", 1, 5)


def test_one_strategy_is_a_cel_rule() -> None:
    """The strategy object carries the CEL rule allowing at most one strategy."""
    strategy = promotion_schema()["properties"]["strategy"]
    assert strategy["x-kubernetes-validations"] == [
        {
            "rule": "(has(self.pull__dash__request) ? 1 : 0) + (has(self.git__dash__push) ? 1 : 0)"
            " + (has(self.notification) ? 1 : 0) <= 1",
            "message": "set at most one of pull-request, git-push and notification",
        }
    ]
    environment_promotion = spec_schema()["properties"]["environments"]["items"]["properties"][
        "promotion"
    ]
    assert environment_promotion["properties"]["strategy"] == strategy


def test_durations_and_windows_are_checked_by_the_schema() -> None:
    """Durations carry their pattern; windows have a kind enum and a bounded count."""
    windows = promotion_schema()["properties"]["windows"]
    item = windows["items"]["properties"]
    assert windows["maxItems"] == pipeline.MAX_WINDOWS
    assert item["kind"]["enum"] == ["allow", "deny"]
    assert item["duration"]["pattern"] == r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def test_schema_is_structural() -> None:
    """No $ref, anyOf, null types, titles or Python defaults; every integer has a format."""
    nodes = list(_nodes(schema()))
    for node in nodes:
        assert not {"$ref", "$defs", "anyOf", "title"} & set(node)
        assert node.get("type") != "null"
        if node.get("type") == "integer":
            assert node["format"] == "int64"
        if "properties" in node and isinstance(node["properties"], dict):
            assert node.get("type") == "object"
    defaults = [node for node in nodes if "default" in node]
    assert defaults == [schema()["properties"]["status"]]
    assert schema()["properties"]["status"]["default"] == {"observedGeneration": -1}


def test_crd_keeps_the_original_names_columns_and_subresources() -> None:
    """Group, kind, scope, printer columns and the status subresource match the original."""
    ours = crd.custom_resource_definition()
    theirs = original()
    assert ours["metadata"]["name"] == theirs["metadata"]["name"]
    for key in ("group", "scope"):
        assert ours["spec"][key] == theirs["spec"][key]
    for key in ("kind", "listKind", "plural", "singular"):
        assert ours["spec"]["names"][key] == theirs["spec"]["names"][key]
    [version] = ours["spec"]["versions"]
    [old] = theirs["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == old["subresources"] == {"status": {}}
    assert version["additionalPrinterColumns"] == old["additionalPrinterColumns"]


def _paths(node: dict[str, Any], at: str = "") -> Iterator[tuple[str, str | None]]:
    yield at or ".", node.get("type")
    for name, child in (node.get("properties") or {}).items():
        yield from _paths(child, f"{at}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _paths(node["items"], f"{at}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _paths(node["additionalProperties"], f"{at}{{}}")


def test_every_original_property_exists_with_the_same_type() -> None:
    """Ferryman may add fields but never removes or retypes one of the original CRD."""
    theirs = dict(_paths(original()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]))
    ours = dict(_paths(schema()))
    missing = {path: kind for path, kind in theirs.items() if path not in ours}
    retyped = {
        path: (kind, ours[path]) for path, kind in theirs.items() if ours.get(path, kind) != kind
    }
    assert missing == {}
    assert retyped == {}
    assert len(theirs) > 50  # the walk really visited the original schema


@pytest.mark.parametrize(
    "path",
    [
        ".status.environments{}.targets[].clusterAppRef.clusterRef.name",
        ".status.environments{}.waitingApproval.revision",
        ".spec.promotion.strategy.pull-request.secretRef.name",
        ".spec.environments[].targets[].clusterRef.namespace",
    ],
)
def test_compat_fields_are_seen_by_the_walk(path: str) -> None:
    """Spot checks that the comparison above covers nested status and spec fields."""
    theirs = dict(_paths(original()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]))
    assert path in theirs
    assert path in dict(_paths(schema()))
