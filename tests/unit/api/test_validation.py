"""``api.validation.validate``: every CRD rule, checked in Python, with its exact sentence."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ferryman.api import validation

PROVIDERS = '"github", "gitlab", "bitbucket-server", "azure-devops", "gitea"'
DURATION = 'is not a duration such as "90s", "15m" or "1h30m"'


def valid() -> dict[str, Any]:
    """A small valid Pipeline: dev -> prod, notification, an approval and a window on prod."""
    return {
        "apiVersion": "pipelines.weave.works/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {
            "appRef": {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "name": "a",
            },
            "promotion": {"strategy": {"notification": {}}},
            "environments": [
                {"name": "dev", "targets": [{"namespace": "dev"}]},
                {
                    "name": "prod",
                    "targets": [{"namespace": "prod"}],
                    "promotion": {
                        "approval": {"required": 2},
                        "windows": [{"kind": "allow", "schedule": "0 9 * * 1-5", "duration": "8h"}],
                    },
                },
            ],
        },
    }


Edit = Callable[[dict[str, Any]], object]


def spec(obj: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = obj["spec"]
    return result


def prod(obj: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = obj["spec"]["environments"][1]
    return result


def window(obj: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = prod(obj)["promotion"]["windows"][0]
    return result


W = "spec.environments[1].promotion.windows[0]"

CASES: dict[str, tuple[Edit, list[str]]] = {
    "no environments": (
        lambda o: spec(o).update(environments=[]),
        ["spec.environments: must not be empty"],
    ),
    "too many environments": (
        lambda o: spec(o).update(
            environments=[{"name": f"e{i}", "targets": [{"namespace": "n"}]} for i in range(9)]
        ),
        ["spec.environments: must have at most 8 items"],
    ),
    "duplicate environment names": (
        lambda o: prod(o).update(name="dev"),
        ['spec.environments[1].name: duplicate environment name "dev"'],
    ),
    "an environment without targets": (
        lambda o: prod(o).update(targets=[]),
        ["spec.environments[1].targets: must not be empty"],
    ),
    "two strategies in one promotion": (
        lambda o: spec(o)["promotion"]["strategy"].update(
            {"git-push": {"url": "https://git.example.com/x.git", "branch": "main"}}
        ),
        ["spec.promotion.strategy: set at most one of pull-request, git-push and notification"],
    ),
    "two strategies in an environment's promotion": (
        lambda o: prod(o)["promotion"].update(
            strategy={"notification": {}, "git-push": {"url": "u", "branch": "b"}}
        ),
        [
            "spec.environments[1].promotion.strategy: "
            "set at most one of pull-request, git-push and notification"
        ],
    ),
    "unknown provider type": (
        lambda o: spec(o)["promotion"].update(
            strategy={
                "pull-request": {
                    "type": "svn",
                    "url": "https://example.com/r",
                    "baseBranch": "main",
                    "secretRef": {"name": "s"},
                }
            }
        ),
        [
            "spec.promotion.strategy.pull-request.type: "
            f'unsupported value "svn": supported values: {PROVIDERS}'
        ],
    ),
    "required below one": (
        lambda o: prod(o)["promotion"]["approval"].update(required=0),
        ["spec.environments[1].promotion.approval.required: must be at least 1"],
    ),
    "required above five": (
        lambda o: prod(o)["promotion"]["approval"].update(required=6),
        ["spec.environments[1].promotion.approval.required: must be at most 5"],
    ),
    "bad cron": (
        lambda o: window(o).update(schedule="every morning"),
        [f'{W}.schedule: "every morning" is not a cron expression with 5 fields'],
    ),
    "cron with seconds (6 fields)": (
        lambda o: window(o).update(schedule="0 0 9 * * 1-5"),
        [f'{W}.schedule: "0 0 9 * * 1-5" is not a cron expression with 5 fields'],
    ),
    "unknown time zone": (
        lambda o: window(o).update(timeZone="Mars/Olympus_Mons"),
        [f'{W}.timeZone: unknown time zone "Mars/Olympus_Mons"'],
    ),
    "a time zone that is a path": (
        lambda o: window(o).update(timeZone="../../etc/passwd"),
        [f'{W}.timeZone: unknown time zone "../../etc/passwd"'],
    ),
    "bad duration": (
        lambda o: window(o).update(duration="1 day"),
        [f'{W}.duration: "1 day" {DURATION}'],
    ),
    "bad expiry": (
        lambda o: prod(o)["promotion"]["approval"].update(expiresAfter="3d"),
        [f'spec.environments[1].promotion.approval.expiresAfter: "3d" {DURATION}'],
    ),
    "unknown window kind": (
        lambda o: window(o).update(kind="maybe"),
        [f'{W}.kind: unsupported value "maybe": supported values: "allow", "deny"'],
    ),
    "cluster reference of another kind": (
        lambda o: prod(o)["targets"][0].update(clusterRef={"kind": "Cluster", "name": "c"}),
        [
            "spec.environments[1].targets[0].clusterRef.kind: "
            'unsupported value "Cluster": supported values: "GitopsCluster"'
        ],
    ),
    "missing spec": (lambda o: o.pop("spec"), ["spec: required value"]),
    "missing required fields": (
        lambda o: (spec(o)["appRef"].pop("name"), prod(o).pop("name"), prod(o).pop("targets")),
        [
            "spec.appRef.name: required value",
            "spec.environments[1].name: required value",
            "spec.environments[1].targets: required value",
        ],
    ),
    "an empty name": (
        lambda o: prod(o).update(name=""),
        ["spec.environments[1].name: must not be empty"],
    ),
    "a name longer than a label": (
        lambda o: prod(o).update(name="p" * 64),
        ["spec.environments[1].name: may not be longer than 63 characters"],
    ),
    "soak time of the wrong type": (
        lambda o: prod(o)["promotion"].update(minReadySeconds="soon"),
        [
            "spec.environments[1].promotion.minReadySeconds: invalid value: "
            "Input should be a valid integer, unable to parse string as an integer"
        ],
    ),
    "a HelmRelease revision path outside status": (
        lambda o: spec(o)["appRef"].update(revisionPath=".spec.chart.spec.version"),
        [
            'spec.appRef.revisionPath: ".spec.chart.spec.version" is not under .status, '
            "where HelmRelease keeps its revision"
        ],
    ),
    "several problems at once are all reported, sorted by path": (
        lambda o: (
            window(o).update(schedule="x", timeZone="Nowhere/Land"),
            spec(o)["promotion"]["strategy"].update({"pull-request": None, "notification": {}}),
            prod(o).update(name="dev"),
        ),
        [
            'spec.environments[1].name: duplicate environment name "dev"',
            f'{W}.schedule: "x" is not a cron expression with 5 fields',
            f'{W}.timeZone: unknown time zone "Nowhere/Land"',
        ],
    ),
}


def test_a_valid_object_has_no_problems() -> None:
    """The base object of these tests parses with no problem."""
    parsed, problems = validation.validate(valid())
    assert parsed is not None
    assert problems == []


@pytest.mark.parametrize(("edit", "expected"), list(CASES.values()), ids=list(CASES))
def test_validation_rule(edit: Edit, expected: list[str]) -> None:
    """Each rule's problem names its field path and says what is wrong, and nothing else."""
    obj = copy.deepcopy(valid())
    edit(obj)
    parsed, problems = validation.validate(obj)
    assert [str(problem) for problem in problems] == expected
    semantic_only = all(
        "duplicate" in e or "cron" in e or "zone" in e or "at most one" in e or ".status" in e
        for e in expected
    )
    assert (parsed is not None) == semantic_only


def test_field_error_renders_as_path_and_message() -> None:
    """str(FieldError) is the sentence the Stalled condition shows."""
    assert str(validation.FieldError("spec.x", "required value")) == "spec.x: required value"
