"""x-kubernetes-validations: CEL rules of the real CRDs and of hand-made schemas are enforced."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from ferryman.embedded.apiserver import schema, schema_cel

FIXTURES = Path(__file__).resolve().parents[4] / ".." / "shared" / "fixtures" / "crds"


def _fixture(name: str) -> schema.StructuralSchema:
    crd = yaml.safe_load((FIXTURES / name).read_text())
    return schema.StructuralSchema(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def _triples(causes: list[schema.Cause]) -> list[tuple[str, str, str]]:
    return [(c.type, c.field, c.message) for c in causes]


GITOPS_CLUSTER = _fixture("gitops.weave.works_gitopsclusters.yaml")
HELM_RELEASE = _fixture("helm.toolkit.fluxcd.io_helmreleases.yaml")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"secretRef": {"name": "kc"}}, []),
        ({"capiClusterRef": {"name": "c1"}}, []),
        (
            {},
            [
                (
                    "FieldValueInvalid",
                    "spec",
                    'Invalid value: "object": must provide a secretRef or capiClusterRef',
                )
            ],
        ),
        (
            {"secretRef": {"name": "kc"}, "capiClusterRef": {"name": "c1"}},
            [
                (
                    "FieldValueInvalid",
                    "spec",
                    'Invalid value: "object": cannot provide both capiClusterRef and secretRef',
                )
            ],
        ),
    ],
    ids=["secretRef", "capiClusterRef", "neither", "both"],
)
def test_gitops_cluster_needs_exactly_one_reference(
    spec: dict[str, Any], expected: list[tuple[str, str, str]]
) -> None:
    """The GitopsCluster rule `has(self.secretRef) || has(self.capiClusterRef)` and its twin."""
    obj = {
        "apiVersion": "gitops.weave.works/v1alpha1",
        "kind": "GitopsCluster",
        "metadata": {"name": "prod", "namespace": "flux-system"},
        "spec": spec,
    }
    assert _triples(GITOPS_CLUSTER.validate(obj)) == expected


def test_gitops_cluster_root_rule_requires_spec() -> None:
    """A rule on the root schema sees the whole object and reports at the root."""
    obj = {
        "apiVersion": "gitops.weave.works/v1alpha1",
        "kind": "GitopsCluster",
        "metadata": {"name": "prod"},
    }
    assert _triples(GITOPS_CLUSTER.validate(obj)) == [
        ("FieldValueInvalid", "", 'Invalid value: "object": must configure spec')
    ]


HELM_SPEC = {
    "interval": "5m",
    "chart": {
        "spec": {"chart": "podinfo", "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}
    },
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, []),
        ({"chart": None, "chartRef": {"kind": "OCIRepository", "name": "podinfo"}}, []),
        (
            {"chart": None},
            [
                (
                    "FieldValueInvalid",
                    "spec",
                    'Invalid value: "object": either chart or chartRef must be set',
                )
            ],
        ),
        (
            {"chartRef": {"kind": "OCIRepository", "name": "podinfo"}},
            [
                (
                    "FieldValueInvalid",
                    "spec",
                    'Invalid value: "object": either chart or chartRef must be set',
                )
            ],
        ),
        (
            {"install": {"strategy": {"name": "RemediateOnFailure", "retryInterval": "1m"}}},
            [
                (
                    "FieldValueInvalid",
                    "spec.install.strategy",
                    'Invalid value: "object": .retryInterval cannot be set when .name is '
                    "'RemediateOnFailure'",
                )
            ],
        ),
        ({"upgrade": {"strategy": {"name": "RetryOnFailure", "retryInterval": "1m"}}}, []),
        (
            {"kubeConfig": {"secretRef": {"name": "kc"}, "configMapRef": {"name": "cm"}}},
            [
                (
                    "FieldValueInvalid",
                    "spec.kubeConfig",
                    'Invalid value: "object": exactly one of spec.kubeConfig.configMapRef or '
                    "spec.kubeConfig.secretRef must be specified",
                )
            ],
        ),
    ],
    ids=[
        "chart",
        "chartRef",
        "neither",
        "both",
        "install retry on remediate",
        "upgrade retry on retry",
        "kubeConfig both",
    ],
)
def test_helm_release_rules(change: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    """HelmRelease v2: chart xor chartRef, strategy retryInterval rules, kubeConfig xor."""
    spec = copy.deepcopy(HELM_SPEC)
    for key, value in change.items():
        if value is None:
            del spec[key]
        else:
            spec[key] = value
    obj = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo"},
        "spec": spec,
    }
    assert _triples(HELM_RELEASE.validate(obj)) == expected


def _one_rule(
    rule: dict[str, Any], props: dict[str, Any] | None = None, **extra: Any
) -> schema.StructuralSchema:
    spec = {
        "type": "object",
        "x-kubernetes-validations": [rule],
        "properties": props
        or {
            "a": {"type": "string"},
            "n": {"type": "integer"},
            "namespace": {"type": "string"},
            "foo-bar": {"type": "string"},
            "list": {"type": "array", "items": {"type": "string"}},
        },
        **extra,
    }
    return schema.StructuralSchema({"type": "object", "properties": {"spec": spec}})


RULE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, str, str]]]] = [
    (
        "default message names the rule",
        {"rule": "self.n > 1"},
        {"n": 1},
        [("FieldValueInvalid", "spec", 'Invalid value: "object": failed rule: self.n > 1')],
    ),
    (
        "messageExpression builds the message",
        {"rule": "self.n > 1", "messageExpression": "'n is ' + string(self.n)"},
        {"n": 1},
        [("FieldValueInvalid", "spec", 'Invalid value: "object": n is 1')],
    ),
    (
        "fieldPath moves the cause",
        {"rule": "self.n > 1", "message": "too small", "fieldPath": ".n"},
        {"n": 1},
        [("FieldValueInvalid", "spec.n", 'Invalid value: "object": too small')],
    ),
    (
        "reason Forbidden",
        {"rule": "!has(self.a)", "message": "no a", "reason": "FieldValueForbidden"},
        {"a": "x"},
        [("FieldValueForbidden", "spec", "Forbidden: no a")],
    ),
    (
        "reason Required",
        {"rule": "has(self.a)", "message": "need a", "reason": "FieldValueRequired"},
        {},
        [("FieldValueRequired", "spec", "Required value: need a")],
    ),
    (
        "missing key is an evaluation error",
        {"rule": "self.a == 'x'"},
        {},
        [
            (
                "FieldValueInvalid",
                "spec",
                "Invalid value: \"object\": no such key: a evaluating rule: self.a == 'x'",
            )
        ],
    ),
    ("an error absorbed by ||", {"rule": "self.a == 'x' || true"}, {}, []),
    (
        "reserved property names are escaped",
        {"rule": "self.__namespace__ == 'dev'"},
        {"namespace": "dev"},
        [],
    ),
    ("dashes are escaped", {"rule": "self.foo__dash__bar.startsWith('v')"}, {"foo-bar": "v1"}, []),
    (
        "all() macro",
        {"rule": "self.list.all(x, size(x) < 3)"},
        {"list": ["ab", "abc"]},
        [
            (
                "FieldValueInvalid",
                "spec",
                'Invalid value: "object": failed rule: self.list.all(x, size(x) < 3)',
            )
        ],
    ),
    (
        "exists_one and filter",
        {
            "rule": "self.list.exists_one(x, x == 'a') && "
            "self.list.filter(x, x.endsWith('b')).size() == 1"
        },
        {"list": ["a", "bb"]},
        [],
    ),
    ("map() and in", {"rule": "'AB' in self.list.map(x, x.upperAscii())"}, {"list": ["ab"]}, []),
    (
        "matches uses a regular expression",
        {"rule": "self.a.matches('^v[0-9]+$')"},
        {"a": "v12"},
        [],
    ),
    (
        "integer arithmetic truncates like Go",
        {"rule": "self.n / 2 == -1 && self.n % 2 == -1"},
        {"n": -3},
        [],
    ),
    ("ternary", {"rule": "has(self.a) ? self.a != '' : self.n > 0"}, {"n": 1}, []),
    (
        "comparing different types is an overload error",
        {"rule": "self.a < 1"},
        {"a": "x"},
        [
            (
                "FieldValueInvalid",
                "spec",
                "Invalid value: \"object\": 'no such overload: <(string, int)': call arguments "
                "did not match a supported operator, function or macro signature for rule: "
                "self.a < 1",
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("rule", "spec", "expected"), [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES]
)
def test_rule(
    rule: dict[str, Any], spec: dict[str, Any], expected: list[tuple[str, str, str]]
) -> None:
    """CEL rules decide, and their causes carry message, field path and reason like Kubernetes."""
    assert _triples(_one_rule(rule).validate({"spec": spec})) == expected


def test_rules_outside_the_fast_subset_run_on_celpy() -> None:
    """A construct the closure compiler does not cover (escapes in strings) still runs."""
    program = schema_cel.Program.compile(r"self.a == 'tab\there'")
    assert program.fast is None
    s = _one_rule({"rule": r"self.a == 'tab\there'", "message": "no tab"})
    assert s.validate({"spec": {"a": "tab\there"}}) == []
    assert _triples(s.validate({"spec": {"a": "tabhere"}})) == [
        ("FieldValueInvalid", "spec", 'Invalid value: "object": no tab')
    ]


def test_rules_of_the_fixtures_take_the_fast_road() -> None:
    """The real CRDs' rules compile to closures (the fast path measured in the report)."""
    for source in (
        "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))",
        "!has(self.retryInterval) || self.name != 'x'",
    ):
        assert schema_cel.Program.compile(source).fast is not None


IMMUTABLE = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "name": {
                    "type": "string",
                    "x-kubernetes-validations": [
                        {"rule": "self == oldSelf", "message": "name is immutable"}
                    ],
                },
                "envs": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string"},
                            "cluster": {
                                "type": "string",
                                "x-kubernetes-validations": [
                                    {"rule": "self == oldSelf", "message": "cluster is immutable"}
                                ],
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_transition_rules_only_run_on_update() -> None:
    """oldSelf rules are skipped on create and compare with the old object on update."""
    s = schema.StructuralSchema(IMMUTABLE)
    new = {"spec": {"name": "b", "envs": [{"name": "dev", "cluster": "c2"}]}}
    assert s.validate(new) == []
    old = {"spec": {"name": "a", "envs": [{"name": "dev", "cluster": "c1"}]}}
    assert _triples(s.validate(new, old)) == [
        ("FieldValueInvalid", "spec.name", 'Invalid value: "string": name is immutable'),
        (
            "FieldValueInvalid",
            "spec.envs[0].cluster",
            'Invalid value: "string": cluster is immutable',
        ),
    ]


def test_transition_rules_correlate_map_lists_by_key() -> None:
    """A new list item without an old counterpart is not compared with anything."""
    s = schema.StructuralSchema(IMMUTABLE)
    old = {"spec": {"envs": [{"name": "dev", "cluster": "c1"}]}}
    new = {"spec": {"envs": [{"name": "prod", "cluster": "c9"}, {"name": "dev", "cluster": "c1"}]}}
    assert s.validate(new, old) == []


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("self.a ==", "compilation failed"),
        ("self.a.frobnicate()", "undeclared reference to 'frobnicate'"),
        ("other.a == 1", "undeclared reference to 'other'"),
        ("self.list.all(x, y > 1)", "undeclared reference to 'y'"),
        ("has(self)", "invalid argument to has() macro"),
    ],
    ids=[
        "syntax error",
        "unknown function",
        "unknown variable",
        "unbound macro variable",
        "bad has argument",
    ],
)
def test_rules_that_cannot_be_enforced_refuse_the_schema(rule: str, fragment: str) -> None:
    """A CRD with a rule this server cannot evaluate is refused loudly, not served unchecked."""
    with pytest.raises(schema.SchemaError, match="x-kubernetes-validations") as info:
        _one_rule({"rule": rule})
    assert fragment in str(info.value)


def test_old_self_on_uncorrelatable_list_items_is_refused() -> None:
    """oldSelf under items of a plain list has no old counterpart; Kubernetes refuses it."""
    with pytest.raises(schema.SchemaError, match="uncorrelatable"):
        schema.StructuralSchema(
            {
                "type": "object",
                "properties": {
                    "l": {
                        "type": "array",
                        "items": {
                            "type": "string",
                            "x-kubernetes-validations": [{"rule": "self == oldSelf"}],
                        },
                    }
                },
            }
        )
