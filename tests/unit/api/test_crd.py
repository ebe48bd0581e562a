"""The generated CRD: committed copy up to date, rules present, and a superset of the original."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests import fixtures

from ferryman.api import crd, pipeline, validation
from ferryman.cli import crd as crd_command
from ferryman.embedded.apiserver import schema as apiserver_schema

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


def _spec_paths(node: dict[str, Any], at: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield at, node
    for name, child in (node.get("properties") or {}).items():
        yield from _spec_paths(child, f"{at}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _spec_paths(node["items"], f"{at}[]")


def test_original_spec_fields_are_those_of_the_original_crd() -> None:
    """``crd.ORIGINAL_SPEC_FIELDS`` lists exactly the spec fields of the original CRD."""
    spec = original()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert {path for path, _ in _spec_paths(spec)} == crd.ORIGINAL_SPEC_FIELDS


def test_the_original_fields_carry_no_bound_the_original_did_not_have() -> None:
    """Lengths, item counts, list-map keys and CEL rules on the original's fields would refuse
    manifests the original CRD accepted; the controller checks them instead (Stalled)."""
    ours = dict(_spec_paths(spec_schema()))
    for path in crd.ORIGINAL_SPEC_FIELDS:
        assert not crd.RUNTIME_ONLY_KEYS & set(ours[path]), path


def test_ferryman_fields_keep_their_bounds_in_the_schema() -> None:
    """New fields are checked by the API server: nothing old can be refused by them."""
    approval = promotion_schema()["properties"]["approval"]["properties"]
    assert approval["approvers"]["properties"]["users"]["maxItems"] == pipeline.MAX_APPROVERS
    revision_path = spec_schema()["properties"]["appRef"]["properties"]["revisionPath"]
    assert revision_path["maxLength"] == 253


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


ORIGINAL_TEST_PIPELINES = fixtures.load_yaml_documents("weave/original-test-pipelines.yaml")


@pytest.mark.parametrize(
    "manifest",
    ORIGINAL_TEST_PIPELINES,
    ids=[doc["metadata"]["name"] for doc in ORIGINAL_TEST_PIPELINES],
)
def test_every_pipeline_the_original_crd_accepted_is_accepted(manifest: dict[str, Any]) -> None:
    """The original's own test pipelines (``targets: []``, ``baseBranch: ""``,
    ``secretRef.name: ""``, ``appRef.apiVersion: ""``) pass the original CRD and ours."""
    theirs = apiserver_schema.StructuralSchema(
        original()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    )
    ours = apiserver_schema.StructuralSchema(schema())
    assert theirs.validate(copy.deepcopy(manifest)) == []
    assert ours.validate(copy.deepcopy(manifest)) == []


def test_what_the_schema_no_longer_refuses_the_controller_reports_with_the_field_path() -> None:
    """Runtime problems stay runtime problems: each one is a Stalled sentence naming its field."""
    problems = {
        doc["metadata"]["name"]: [str(p) for p in validation.validate(doc)[1]]
        for doc in ORIGINAL_TEST_PIPELINES
    }
    assert problems == {
        "app": [
            "spec.environments[2].targets: must not be empty",
            "spec.promotion.strategy.pull-request.baseBranch: must not be empty",
            "spec.promotion.strategy.pull-request.secretRef.name: must not be empty",
        ],
        "pipe-remote": ["spec.appRef.apiVersion: must not be empty"],
        "pipe-local": ["spec.appRef.apiVersion: must not be empty"],
        "podinfo-test": [],
    }
