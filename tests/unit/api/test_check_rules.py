"""Verification checks in the spec: the CRD's schema for them, and every rule ``api.validation``
adds (each problem names its field), on top of the base object of ``test_validation``."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, get_args

import pytest
from tests.unit.api.test_validation import prod, spec, valid

from ferryman.api import check_rules, crd, pipeline, validation
from ferryman.api import verification as checks

Edit = Callable[[dict[str, Any]], object]
HOOK = {"url": "https://hooks.example.com/verify", "secretRef": {"name": "hooks"}}
TEMPLATE = {
    "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "t"}]}}}
}
PR = {
    "pull-request": {
        "type": "github",
        "url": "https://github.com/org/fleet",
        "baseBranch": "main",
        "secretRef": {"name": "gh"},
    }
}
CHECKS = "spec.environments[1].verification.checks"


def verify(env: dict[str, Any], *found: dict[str, Any]) -> None:
    env["verification"] = {"checks": list(found)}


def dev(obj: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = obj["spec"]["environments"][0]
    return result


CASES: dict[str, tuple[Edit, list[str]]] = {
    "a check of every kind is fine": (
        lambda o: (
            spec(o)["promotion"].update(strategy=PR),
            verify(
                prod(o),
                {"name": "smoke", "webhook": HOOK},
                {
                    "name": "errors",
                    "prometheus": {
                        "address": "https://prom.example.com",
                        "query": "up",
                        "threshold": ">= 1",
                        "secretRef": {"name": "prom"},
                    },
                },
                {"name": "e2e", "job": {"template": TEMPLATE, "timeout": "10m"}},
                {"name": "ci", "commitStatus": {"contexts": ["ci/build"]}},
            ),
        ),
        [],
    ),
    "no kind": (
        lambda o: verify(prod(o), {"name": "empty"}),
        [f"{CHECKS}[0]: {checks.ONE_KIND_MESSAGE}"],
    ),
    "two kinds": (
        lambda o: verify(prod(o), {"name": "two", "webhook": HOOK, "job": {"template": TEMPLATE}}),
        [f"{CHECKS}[0]: {checks.ONE_KIND_MESSAGE}"],
    ),
    "duplicate names": (
        lambda o: verify(prod(o), {"name": "a", "webhook": HOOK}, {"name": "a", "webhook": HOOK}),
        [f'{CHECKS}[1].name: duplicate check name "a"'],
    ),
    "a bad name": (
        lambda o: verify(prod(o), {"name": "Smoke Test", "webhook": HOOK}),
        [f'{CHECKS}[0].name: "Smoke Test" is not a name of lower-case letters, digits and "-"'],
    ),
    "too many checks": (
        lambda o: verify(prod(o), *({"name": f"c{i}", "webhook": HOOK} for i in range(5))),
        ["spec.environments[1].verification.checks: must have at most 4 items"],
    ),
    "a webhook over plain http": (
        lambda o: verify(
            prod(o), {"name": "a", "webhook": {**HOOK, "url": "http://hooks.example"}}
        ),
        [
            f'{CHECKS}[0].webhook.url: "http://hooks.example" must start with https:// '
            "(plain http:// only for 127.0.0.1 or ::1)"
        ],
    ),
    "a webhook URL with a password": (
        lambda o: verify(prod(o), {"name": "a", "webhook": {**HOOK, "url": "https://u:p@h/x"}}),
        [f"{CHECKS}[0].webhook.url: must not contain credentials; put them in the Secret"],
    ),
    "a webhook URL that is not absolute": (
        lambda o: verify(prod(o), {"name": "a", "webhook": {**HOOK, "url": "/verify"}}),
        [f'{CHECKS}[0].webhook.url: "/verify" is not an absolute URL'],
    ),
    "a webhook to loopback over http is fine; its timeout is bounded": (
        lambda o: verify(
            prod(o),
            {"name": "a", "webhook": {**HOOK, "url": "http://127.0.0.1:9/v", "timeout": "2m"}},
        ),
        [f"{CHECKS}[0].webhook.timeout: must be at most 60s"],
    ),
    "a webhook without its Secret": (
        lambda o: verify(prod(o), {"name": "a", "webhook": {"url": HOOK["url"]}}),
        [f"{CHECKS}[0].webhook.secretRef: required value"],
    ),
    "a bad threshold": (
        lambda o: verify(
            prod(o),
            {
                "name": "p",
                "prometheus": {"address": "http://p:9090", "query": "up", "threshold": "~1"},
            },
        ),
        [
            f'{CHECKS}[0].prometheus.threshold: "~1" is not a threshold such as '
            '"< 0.01" or ">= 0.99"'
        ],
    ),
    "Prometheus credentials over plain http, an interval too short, a bad address": (
        lambda o: verify(
            prod(o),
            {
                "name": "p",
                "prometheus": {
                    "address": "http://prometheus:9090",
                    "query": "up",
                    "threshold": "> 0",
                    "interval": "100ms",
                    "secretRef": {"name": "prom"},
                },
            },
            {
                "name": "q",
                "prometheus": {"address": "prom:9090", "query": "up", "threshold": "> 0"},
            },
        ),
        [
            f"{CHECKS}[0].prometheus.interval: must be at least 1s",
            f"{CHECKS}[0].prometheus.secretRef: credentials are sent over https:// only "
            "(or to 127.0.0.1 or ::1)",
            f'{CHECKS}[1].prometheus.address: "prom:9090" is not an http:// or https:// URL',
        ],
    ),
    "a Job template without containers": (
        lambda o: verify(prod(o), {"name": "j", "job": {"template": {"spec": {}}}}),
        [
            f"{CHECKS}[0].job.template: "
            "spec.template.spec.containers must list at least one container"
        ],
    ),
    "a Job template that names the Job": (
        lambda o: verify(
            prod(o), {"name": "j", "job": {"template": {**TEMPLATE, "metadata": {"name": "x"}}}}
        ),
        [f"{CHECKS}[0].job.template: metadata.name is set by Ferryman; remove it"],
    ),
    "a Job template whose metadata is not an object": (
        lambda o: verify(prod(o), {"name": "j", "job": {"template": {**TEMPLATE, "metadata": []}}}),
        [f"{CHECKS}[0].job.template: metadata must be an object"],
    ),
    "a commit check without a pull-request strategy or provider": (
        lambda o: verify(prod(o), {"name": "ci", "commitStatus": {}}),
        [
            f"{CHECKS}[0].commitStatus: type, url and secretRef are required unless the "
            "environment is promoted by a pull-request strategy"
        ],
    ),
    "a commit check with its own provider is fine under any strategy": (
        lambda o: verify(
            prod(o),
            {
                "name": "ci",
                "commitStatus": {
                    "type": "gitea",
                    "url": "https://gitea.example.com/org/fleet",
                    "secretRef": {"name": "gitea"},
                },
            },
        ),
        [],
    ),
    "a commit check in the first environment": (
        lambda o: (
            spec(o)["promotion"].update(strategy=PR),
            verify(dev(o), {"name": "ci", "commitStatus": {}}),
        ),
        [
            "spec.environments[0].verification.checks[0].commitStatus: the first environment "
            "has no promotion commit to read statuses of; set its verification.checks without "
            "this check"
        ],
    ),
    "a pipeline-wide commit check names the environments it cannot work in": (
        lambda o: (
            spec(o)["promotion"].update(strategy=PR),
            spec(o).update(verification={"checks": [{"name": "ci", "commitStatus": {}}]}),
        ),
        [
            "spec.verification.checks[0].commitStatus: the first environment has no promotion "
            "commit to read statuses of; set its verification.checks without this check "
            '(environment "dev")'
        ],
    ),
    "a pipeline-wide check is checked once": (
        lambda o: spec(o).update(verification={"checks": [{"name": "x"}]}),
        [f"spec.verification.checks[0]: {checks.ONE_KIND_MESSAGE}"],
    ),
}


@pytest.mark.parametrize(("edit", "expected"), list(CASES.values()), ids=list(CASES))
def test_check_rule(edit: Edit, expected: list[str]) -> None:
    """Each rule's problem names its field path and says what is wrong, and nothing else."""
    obj = copy.deepcopy(valid())
    edit(obj)
    _, problems = validation.validate(obj)
    assert [str(problem) for problem in problems] == expected


def test_old_objects_mean_what_they_meant() -> None:
    """A Pipeline without verification has none: nothing in spec, nothing to check."""
    parsed, problems = validation.validate(valid())
    assert parsed is not None and problems == []
    assert parsed.spec.verification is None
    assert all(env.verification is None for env in parsed.spec.environments)


def test_provider_names_match_the_pull_request_providers() -> None:
    """commitStatus.type admits exactly the pull-request strategy's providers."""
    assert list(get_args(checks.ProviderType)) == [kind.value for kind in pipeline.GitProviderType]


def test_loopback_is_127_0_0_1_or_ipv6_only() -> None:
    """``localhost`` could resolve anywhere: only the literal loopback addresses count."""
    assert check_rules.loopback("http://127.0.0.1:8080/x")
    assert check_rules.loopback("http://[::1]/x")
    assert not check_rules.loopback("http://localhost/x")


def test_the_crd_has_one_kind_per_check_as_a_cel_rule_and_a_bounded_list() -> None:
    """Checks are a list map by name, at most four, each with the one-kind CEL rule; the Job
    template is kept as written; verification status is bounded too."""
    schema = crd.openapi_schema()
    block = schema["properties"]["spec"]["properties"]["environments"]["items"]["properties"][
        "verification"
    ]
    listed = block["properties"]["checks"]
    assert (listed["maxItems"], listed["x-kubernetes-list-map-keys"]) == (4, ["name"])
    item = listed["items"]
    assert item["x-kubernetes-validations"][0]["message"] == checks.ONE_KIND_MESSAGE
    assert item["properties"]["job"]["properties"]["template"] == {
        "description": item["properties"]["job"]["properties"]["template"]["description"],
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    assert schema["properties"]["spec"]["properties"]["verification"] == block | {
        "description": "Ferryman: default verification checks of every environment."
    }
    found = schema["properties"]["status"]["properties"]["environments"]["additionalProperties"][
        "properties"
    ]["verification"]["properties"]
    assert found["checks"]["maxItems"] == checks.MAX_CHECKS
    assert found["checks"]["items"]["properties"]["message"]["maxLength"] == 96
