"""Every real CRD in shared/fixtures compiles, and a realistic object of each kind passes."""

from __future__ import annotations

import copy
import timeit
from pathlib import Path
from typing import Any

import pytest
import yaml

from ferryman.embedded.apiserver import schema

FIXTURES = Path(__file__).resolve().parents[4] / ".." / "shared" / "fixtures" / "crds"
CONDITION = {
    "type": "Ready",
    "status": "True",
    "reason": "ReconciliationSucceeded",
    "message": "Release reconciliation succeeded",
    "observedGeneration": 3,
    "lastTransitionTime": "2026-11-28T16:00:00Z",
}
META = {"name": "podinfo", "namespace": "dev", "labels": {"app": "podinfo"}, "generation": 3}

SAMPLES: dict[str, dict[str, Any]] = {
    "gitops.weave.works_gitopsclusters.yaml": {
        "apiVersion": "gitops.weave.works/v1alpha1",
        "kind": "GitopsCluster",
        "metadata": META,
        "spec": {"secretRef": {"name": "prod-kubeconfig"}},
        "status": {"conditions": [CONDITION]},
    },
    "helm.toolkit.fluxcd.io_helmreleases.yaml": {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": META,
        "spec": {
            "interval": "5m",
            "releaseName": "podinfo",
            "targetNamespace": "dev",
            "chart": {
                "spec": {
                    "chart": "podinfo",
                    "version": "6.x",
                    "interval": "1h",
                    "sourceRef": {"kind": "HelmRepository", "name": "podinfo"},
                }
            },
            "install": {"remediation": {"retries": 3}},
            "upgrade": {
                "remediation": {"retries": 3, "remediateLastFailure": True},
                "strategy": {"name": "RetryOnFailure", "retryInterval": "2m"},
            },
            "values": {"replicaCount": 2, "ingress": {"enabled": True, "hosts": ["a.example"]}},
            "valuesFrom": [{"kind": "ConfigMap", "name": "podinfo-values"}],
        },
        "status": {
            "observedGeneration": 3,
            "conditions": [CONDITION],
            "lastAttemptedRevision": "6.1.0",
            "history": [
                {
                    "chartName": "podinfo",
                    "chartVersion": "6.1.0",
                    "configDigest": "sha256:abc",
                    "digest": "sha256:def",
                    "firstDeployed": "2026-11-28T16:00:00Z",
                    "lastDeployed": "2026-11-28T16:00:00Z",
                    "name": "podinfo",
                    "namespace": "dev",
                    "status": "deployed",
                    "version": 4,
                }
            ],
        },
    },
    "kustomize.toolkit.fluxcd.io_kustomizations.yaml": {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": META,
        "spec": {
            "interval": "10m",
            "path": "./apps/dev",
            "prune": True,
            "wait": True,
            "sourceRef": {"kind": "GitRepository", "name": "fleet"},
            "postBuild": {"substitute": {"cluster": "dev"}},
            "patches": [{"patch": "- op: replace", "target": {"kind": "Deployment"}}],
        },
        "status": {
            "observedGeneration": 3,
            "lastAppliedRevision": "main@sha1:abc",
            "conditions": [CONDITION],
        },
    },
    "notification.toolkit.fluxcd.io_alerts.yaml": {
        "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
        "kind": "Alert",
        "metadata": META,
        "spec": {
            "providerRef": {"name": "promotion"},
            "eventSeverity": "info",
            "eventSources": [{"kind": "HelmRelease", "name": "podinfo"}],
            "exclusionList": [".*upgrade.*has.*started"],
        },
    },
    "notification.toolkit.fluxcd.io_providers.yaml": {
        "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
        "kind": "Provider",
        "metadata": META,
        "spec": {
            "type": "generic-hmac",
            "address": "http://ferryman.flux-system/promotion/dev/podinfo/staging",
            "secretRef": {"name": "hmac"},
        },
    },
    "original-pipelines.weave.works_pipelines.yaml": {
        "apiVersion": "pipelines.weave.works/v1alpha1",
        "kind": "Pipeline",
        "metadata": META,
        "spec": {
            "appRef": {
                "apiVersion": "helm.toolkit.fluxcd.io/v2beta1",
                "kind": "HelmRelease",
                "name": "podinfo",
            },
            "environments": [
                {"name": "dev", "targets": [{"namespace": "dev"}]},
                {
                    "name": "prod",
                    "targets": [
                        {
                            "namespace": "prod",
                            "clusterRef": {"kind": "GitopsCluster", "name": "prod"},
                        }
                    ],
                    "promotion": {"manual": True, "strategy": {"notification": {}}},
                },
            ],
            "promotion": {
                "strategy": {
                    "pull-request": {
                        "type": "github",
                        "url": "https://github.com/acme/fleet",
                        "baseBranch": "main",
                        "secretRef": {"name": "github"},
                    }
                }
            },
        },
        "status": {
            "observedGeneration": 3,
            "conditions": [CONDITION],
            "environments": {
                "dev": {
                    "targets": [
                        {
                            "clusterAppRef": {
                                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                                "kind": "HelmRelease",
                                "name": "podinfo",
                            },
                            "ready": True,
                            "revision": "6.1.0",
                        }
                    ]
                },
                "prod": {"targets": [], "waitingApproval": {"revision": "6.1.0"}},
            },
        },
    },
}


def _versions(name: str) -> list[dict[str, Any]]:
    crd = yaml.safe_load((FIXTURES / name).read_text())
    return [v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"]]


def test_every_fixture_has_a_sample() -> None:
    """A CRD added to the fixtures cannot go untested: each file needs a sample here."""
    assert sorted(p.name for p in FIXTURES.glob("*.yaml")) == sorted(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_realistic_object_passes(name: str) -> None:
    """Each real CRD compiles; its sample loses nothing to pruning and validates clean."""
    for raw in _versions(name):
        s = schema.StructuralSchema(raw)
        obj = copy.deepcopy(SAMPLES[name])
        assert s.prune(obj) == []
        s.default(obj)
        assert s.validate(obj) == []
        published = s.to_openapi()
        assert published["properties"]["spec"] == raw["properties"]["spec"]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_broken_object_is_rejected(name: str) -> None:
    """The same sample with an unknown field and a wrong-typed spec field is caught."""
    s = schema.StructuralSchema(_versions(name)[0])
    obj = copy.deepcopy(SAMPLES[name])
    obj["spec"]["noSuchField"] = 1
    assert s.prune(obj) == ["spec.noSuchField"]
    first = next(iter(obj["spec"]))
    obj["spec"][first] = 12.5
    causes = s.validate(obj)
    assert any(c.field == f"spec.{first}" and c.type == "FieldValueTypeInvalid" for c in causes)


def test_helm_release_defaults_are_applied() -> None:
    """HelmRelease defaults (chart reconcileStrategy, status.observedGeneration) appear."""
    s = schema.StructuralSchema(_versions("helm.toolkit.fluxcd.io_helmreleases.yaml")[0])
    obj = copy.deepcopy(SAMPLES["helm.toolkit.fluxcd.io_helmreleases.yaml"])
    del obj["status"]
    s.default(obj)
    assert obj["spec"]["chart"]["spec"]["reconcileStrategy"] == "ChartVersion"
    assert obj["status"] == {"observedGeneration": -1}


def test_pipeline_write_path_is_fast_enough_to_measure() -> None:
    """prune+default+validate of a Pipeline runs; the timing is printed, never asserted."""
    s = schema.StructuralSchema(_versions("original-pipelines.weave.works_pipelines.yaml")[0])
    sample = SAMPLES["original-pipelines.weave.works_pipelines.yaml"]

    def write() -> list[schema.Cause]:
        obj = copy.deepcopy(sample)
        s.prune(obj)
        s.default(obj)
        return s.validate(obj)

    assert write() == []
    per_call = timeit.timeit(write, number=200) / 200
    print(f"Pipeline prune+default+validate: {per_call * 1e6:.0f} us")
