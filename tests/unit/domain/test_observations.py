"""Reading revision and readiness from app objects of every supported kind, garbage included."""

from __future__ import annotations

from typing import Any

import pytest
from tests import fixtures

from ferryman.api import pipeline, status
from ferryman.domain import observations

HELM = pipeline.AppRef(api_version="helm.toolkit.fluxcd.io/v2", kind="HelmRelease", name="app")
KUSTOMIZATION = pipeline.AppRef(
    api_version="kustomize.toolkit.fluxcd.io/v1", kind="Kustomization", name="app"
)
ARGO = pipeline.AppRef(api_version="argoproj.io/v1alpha1", kind="Application", name="app")
CUSTOM = pipeline.AppRef(
    api_version="apps.example.com/v1", kind="Thing", name="app", revision_path=".status.version"
)
LOCAL = pipeline.Target(namespace="dev")
REMOTE = pipeline.Target(
    namespace="prod",
    cluster_ref=pipeline.ClusterReference(kind="GitopsCluster", name="eu", namespace="fleet"),
)
READY = [{"type": "Ready", "status": "True", "reason": "Succeeded"}]


def obj(status_: dict[str, Any] | None = None, generation: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status_ or {}}
    if generation is not None:
        out["metadata"] = {"generation": generation}
    return out


@pytest.mark.parametrize(
    ("app", "found", "expected"),
    [
        pytest.param(
            HELM,
            obj(
                {
                    "conditions": READY,
                    "history": [
                        {"version": 3, "chartVersion": "6.1.0"},
                        {"version": 4, "chartVersion": "6.2.0"},
                        {"version": 2, "chartVersion": "6.0.0"},
                    ],
                    "lastAttemptedRevision": "5.0.0",
                }
            ),
            observations.Observation(ready=True, revision="6.2.0"),
            id="HelmRelease: chart version of the snapshot with the highest release version",
        ),
        pytest.param(
            HELM,
            obj(
                {
                    "conditions": READY,
                    "history": ["junk", {"version": "7"}, {"version": 1, "chartVersion": ""}],
                    "lastAttemptedRevision": "",
                    "lastAppliedRevision": "5.0.0",
                }
            ),
            observations.Observation(ready=True, revision="5.0.0"),
            id="HelmRelease v2beta1: lastAppliedRevision when history has no usable snapshot",
        ),
        pytest.param(
            HELM,
            obj({"conditions": READY, "history": "junk", "lastAttemptedRevision": "5.1.0"}),
            observations.Observation(ready=True, revision="5.1.0"),
            id="HelmRelease: lastAttemptedRevision first",
        ),
        pytest.param(
            HELM,
            obj({"conditions": READY, "history": [], "lastAttemptedRevision": "5.2.0"}),
            observations.Observation(ready=True, revision="5.2.0"),
            id="HelmRelease with an empty history",
        ),
        pytest.param(
            HELM,
            obj({"conditions": READY}),
            observations.Observation(ready=True, revision=""),
            id="HelmRelease without any revision",
        ),
        pytest.param(
            KUSTOMIZATION,
            obj({"conditions": READY, "lastAppliedRevision": "main@sha1:abc"}),
            observations.Observation(ready=True, revision="main@sha1:abc"),
            id="Kustomization: lastAppliedRevision",
        ),
        pytest.param(
            CUSTOM,
            obj({"conditions": READY, "version": "v7"}),
            observations.Observation(ready=True, revision="v7"),
            id="any kind: the configured revision path",
        ),
        pytest.param(
            CUSTOM,
            obj({"conditions": READY, "version": 7}),
            observations.Observation(ready=True, revision=""),
            id="any kind: a revision that is not a string is no revision",
        ),
        pytest.param(
            ARGO,
            obj({"sync": {"revision": "a1", "status": "Synced"}, "health": {"status": "Healthy"}}),
            observations.Observation(ready=True, revision="a1"),
            id="Argo CD Application: healthy and in sync",
        ),
        pytest.param(
            ARGO,
            obj({"sync": {"revision": 5}, "health": {"status": "Degraded", "message": "crash"}}),
            observations.Observation(ready=False, revision="", error="crash"),
            id="Argo CD Application: degraded with a message",
        ),
        pytest.param(
            ARGO,
            obj({"sync": {"revision": "abc"}, "health": {"status": "Progressing"}}),
            observations.Observation(ready=False, revision="abc", error="health is Progressing"),
            id="Argo CD Application: progressing without a message",
        ),
        pytest.param(
            ARGO,
            {"status": "garbage"},
            observations.Observation(ready=False, revision="", error="health is unknown"),
            id="Argo CD Application: garbage status",
        ),
        pytest.param(
            KUSTOMIZATION,
            obj({"conditions": "garbage", "lastAppliedRevision": "r1"}),
            observations.Observation(ready=False, revision="r1", error="no Ready condition yet"),
            id="conditions that are not a list",
        ),
        pytest.param(
            KUSTOMIZATION,
            obj({"conditions": ["junk", {"type": "Reconciling", "status": "True"}]}),
            observations.Observation(ready=False, error="no Ready condition yet"),
            id="no Ready condition",
        ),
        pytest.param(
            KUSTOMIZATION,
            obj({"conditions": [{"type": "Ready", "status": "True", "observedGeneration": 2}]}, 3),
            observations.Observation(ready=False, error="generation 3 not yet observed (at 2)"),
            id="Ready of an older generation",
        ),
        pytest.param(
            KUSTOMIZATION,
            obj({"conditions": READY, "observedGeneration": 3}, 3),
            observations.Observation(ready=True),
            id="status.observedGeneration current",
        ),
        pytest.param(
            KUSTOMIZATION,
            obj({"conditions": [{"type": "Ready", "status": "False", "message": "apply failed"}]}),
            observations.Observation(ready=False, error="apply failed"),
            id="Ready False with a message",
        ),
        pytest.param(
            KUSTOMIZATION,
            obj({"conditions": [{"type": "Ready", "status": "Unknown", "reason": "Progressing"}]}),
            observations.Observation(ready=False, error="Progressing"),
            id="Ready Unknown with a reason only",
        ),
        pytest.param(
            KUSTOMIZATION,
            obj({"conditions": [{"type": "Ready", "status": "False"}]}),
            observations.Observation(ready=False, error="not ready"),
            id="Ready False without message or reason",
        ),
    ],
)
def test_observe(
    app: pipeline.AppRef, found: dict[str, Any], expected: observations.Observation
) -> None:
    """Each kind's revision and readiness; garbage never raises, it becomes the error."""
    assert observations.observe(app, found) == expected


def test_group_of_an_api_version() -> None:
    """The core group is empty."""
    assert observations.group_of("helm.toolkit.fluxcd.io/v2beta1") == "helm.toolkit.fluxcd.io"
    assert observations.group_of("v1") == ""


def test_target_status_of_a_remote_ready_target() -> None:
    """A ready target has no error and carries its cluster reference."""
    found = obj({"conditions": READY, "lastAppliedRevision": "r1"})
    got = observations.target_status(KUSTOMIZATION, REMOTE, found)
    assert got == status.TargetStatus(
        cluster_app_ref=status.ClusterAppReference(
            api_version="kustomize.toolkit.fluxcd.io/v1",
            kind="Kustomization",
            name="app",
            namespace="prod",
            cluster_ref=status.ClusterRef(name="eu", namespace="fleet"),
        ),
        ready=True,
        revision="r1",
    )


def test_target_status_of_a_missing_object_says_where_it_looked() -> None:
    """No object and no reason: 'not found' with kind, name and namespace."""
    got = observations.target_status(HELM, LOCAL, None)
    assert (got.ready, got.revision) == (False, "")
    assert got.error == 'HelmRelease "app" not found in namespace "dev"'
    assert got.cluster_app_ref.cluster_ref is None


def test_target_status_bounds_what_it_copies() -> None:
    """Revisions and errors from app objects are cut to the schema's limits."""
    found = obj({"conditions": [{"type": "Ready", "status": "False", "message": "m" * 5000}]})
    found["status"]["lastAppliedRevision"] = "r" * 1000
    got = observations.target_status(KUSTOMIZATION, LOCAL, found)
    assert len(got.revision) == status.MAX_REVISION_LENGTH
    assert len(got.error) == status.MAX_TARGET_ERROR_LENGTH
    unreadable = observations.target_status(KUSTOMIZATION, LOCAL, None, error="e" * 5000)
    assert len(unreadable.error) == status.MAX_TARGET_ERROR_LENGTH


def test_ready_without_a_revision_is_not_ready_and_says_why() -> None:
    """A Ready app object that reports no revision cannot be trusted (fault scenario I3)."""
    app = pipeline.AppRef(
        api_version="kustomize.toolkit.fluxcd.io/v1", kind="Kustomization", name="a"
    )
    target = pipeline.Target(namespace="dev")
    obj = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    result = observations.target_status(app, target, obj)
    assert result.ready is False
    assert result.revision == ""
    assert result.error == "Kustomization is ready but reports no revision"


# ---------------------------------------------------------------- Flux re-applying what it runs
# Fixtures: tests/fixtures/flux/status/ (see tests/fixtures/README.md for their upstream sources).

KS_APP = pipeline.AppRef(
    api_version="kustomize.toolkit.fluxcd.io/v1", kind="Kustomization", name="podinfo"
)
HR_APP = pipeline.AppRef(
    api_version="helm.toolkit.fluxcd.io/v2", kind="HelmRelease", name="podinfo"
)
STAGING = pipeline.Target(namespace="staging")
PODINFO = pipeline.Target(namespace="podinfo")


def flux(name: str) -> dict[str, Any]:
    return fixtures.load_json(f"flux/status/{name}.json")  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("app", "target", "before", "during", "keeps"),
    [
        pytest.param(
            KS_APP,
            STAGING,
            "kustomization-ready",
            "kustomization-reconciling",
            True,
            id="Kustomization periodic reconcile (Ready=Unknown, same revision) keeps readiness",
        ),
        pytest.param(
            KS_APP,
            STAGING,
            "kustomization-ready",
            "kustomization-new-revision",
            False,
            id="Kustomization attempting a new revision is not ready",
        ),
        pytest.param(
            HR_APP,
            PODINFO,
            "helmrelease-oci-ready",
            "helmrelease-periodic-reconcile",
            True,
            id="HelmRelease periodic reconcile keeps Ready=True (Reconciling=True only)",
        ),
        pytest.param(
            HR_APP,
            PODINFO,
            "helmrelease-oci-ready",
            "helmrelease-drift-correction",
            True,
            id="HelmRelease drift correction (Ready=Unknown, same release) keeps readiness",
        ),
        pytest.param(
            HR_APP,
            PODINFO,
            "helmrelease-oci-ready",
            "helmrelease-upgrading",
            False,
            id="HelmRelease upgrading to a new chart version is not ready",
        ),
    ],
)
def test_a_flux_object_re_applying_its_revision_keeps_its_readiness(
    app: pipeline.AppRef, target: pipeline.Target, before: str, during: str, keeps: bool
) -> None:
    """Ready=Unknown/Progressing while re-applying the revision it runs (last attempted = last
    applied = running, generation observed) keeps the previous pass's readiness; a genuinely new
    attempt does not."""
    previous = observations.target_status(app, target, flux(before))
    assert previous.ready
    now = observations.target_status(app, target, flux(during), previous=previous)
    assert now.ready is keeps
    assert now.revision == previous.revision
    assert (now.error == "") is keeps


def test_re_applying_keeps_only_readiness_it_had() -> None:
    """Without a ready previous pass at the same revision, a settling object is not ready."""
    during = flux("kustomization-reconciling")
    assert not observations.target_status(KS_APP, STAGING, during).ready
    failing = observations.target_status(KS_APP, STAGING, during)
    assert not observations.target_status(KS_APP, STAGING, during, previous=failing).ready
    elsewhere = observations.target_status(KS_APP, pipeline.Target(namespace="prod"), during)
    ready_elsewhere = elsewhere.model_copy(update={"ready": True, "error": ""})
    assert not observations.target_status(KS_APP, STAGING, during, previous=ready_elsewhere).ready


def test_a_new_generation_is_a_new_attempt() -> None:
    """A spec change not yet observed breaks the streak even if the revision is unchanged."""
    during = flux("kustomization-reconciling")
    during["metadata"]["generation"] = 2
    previous = observations.target_status(KS_APP, STAGING, flux("kustomization-ready"))
    assert not observations.target_status(KS_APP, STAGING, during, previous=previous).ready


def test_suspended_objects_are_marked() -> None:
    """``spec.suspend: true`` is reported on the target; other values are not."""
    found = flux("kustomization-ready")
    found["spec"]["suspend"] = True
    assert observations.target_status(KS_APP, STAGING, found).suspended is True
    found["spec"]["suspend"] = "yes"
    assert observations.target_status(KS_APP, STAGING, found).suspended is None


def test_revision_path_works_for_every_kind() -> None:
    """``revisionPath`` overrides the kind's own revision field for HelmRelease and Argo CD too."""
    helm = HR_APP.model_copy(update={"revision_path": ".status.lastAttemptedRevisionDigest"})
    seen = observations.observe(helm, flux("helmrelease-oci-ready"))
    assert seen.revision.startswith("sha256:0cc9a8446c95")
    argo = ARGO.model_copy(update={"revision_path": ".status.summary.version"})
    found = {"status": {"sync": {"revision": "a", "status": "Synced"}}}
    found["status"]["health"] = {"status": "Healthy"}
    found["status"]["summary"] = {"version": "b"}
    assert observations.observe(argo, found) == observations.Observation(ready=True, revision="b")


def test_an_unreadable_target_carries_the_reason() -> None:
    """The reason a target could not be read (a cluster problem) is kept on its status."""
    got = observations.target_status(
        KS_APP, STAGING, None, error="GitopsCluster x not found", reason="TargetClusterNotFound"
    )
    assert (got.reason, got.error) == ("TargetClusterNotFound", "GitopsCluster x not found")
