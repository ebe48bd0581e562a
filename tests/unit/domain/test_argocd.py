"""Argo CD Applications as application-controller writes them: revision, readiness, self-heal.

Fixtures: ``tests/fixtures/argocd/`` (upstream sources in ``tests/fixtures/README.md``); each is
also checked against Argo CD's own Application CRD.
"""

from __future__ import annotations

import copy
import gzip
from typing import Any

import pytest
import yaml
from tests import fixtures

from ferryman.api import pipeline
from ferryman.domain import argocd, observations
from ferryman.embedded.apiserver import schema

APP = pipeline.AppRef(api_version="argoproj.io/v1alpha1", kind="Application", name="app")
TARGET = pipeline.Target(namespace="argocd")
COMMIT = "ea8759964626a583667a2bfd08f334ec2070040a"  # what the Git fixture runs
NEWER = "5c6e3b2f4d1a0e9f8b7c6d5e4f3a2b1c0d9e8f7a"  # the commit the Git fixture moves to
RUNNING = "a sync is running: one or more tasks are running"
CRD = "argocd/applications.argoproj.io-crd.yaml.gz"
FIXTURES = (
    "application-git-synced",
    "application-self-heal",
    "application-sync-running",
    "application-sync-failed",
    "application-progressing",
    "application-degraded",
    "application-auto-sync-disabled",
    "application-helm-synced",
    "application-multi-source",
)


def app(name: str) -> dict[str, Any]:
    return copy.deepcopy(fixtures.load_json(f"argocd/{name}.json"))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "application-git-synced",
            observations.Observation(ready=True, revision=COMMIT),
            id="single-source Git app, Synced and Healthy: runs its commit",
        ),
        pytest.param(
            "application-helm-synced",
            observations.Observation(ready=True, revision="0.45.27"),
            id="Helm source: sync.revision is the chart version",
        ),
        pytest.param(
            "application-multi-source",
            observations.Observation(ready=True, revision="a" * 40),
            id="multi-source: the first of sync.revisions",
        ),
        pytest.param(
            "application-sync-running",
            observations.Observation(ready=False, revision=NEWER, error=RUNNING),
            id="auto-sync of a new commit running: not ready, not settling",
        ),
        pytest.param(
            "application-sync-failed",
            observations.Observation(
                ready=False,
                revision=NEWER,
                error="the last sync failed: one or more synchronization tasks completed "
                "unsuccessfully",
            ),
            id="failed sync: not ready, says why",
        ),
        pytest.param(
            "application-progressing",
            observations.Observation(
                ready=False, revision=NEWER, error="health is Progressing", settling=True
            ),
            id="synced, pods rolling: not ready (settling keeps only a readiness it had)",
        ),
        pytest.param(
            "application-degraded",
            observations.Observation(
                ready=False, revision=COMMIT, error="health is Degraded", settling=False
            ),
            id="Degraded: not ready, and never settling",
        ),
        pytest.param(
            "application-self-heal",
            observations.Observation(
                ready=False,
                revision=COMMIT,
                error=RUNNING,
                settling=True,
            ),
            id="self-heal of the revision it runs: settling",
        ),
        pytest.param(
            "application-auto-sync-disabled",
            observations.Observation(ready=True, revision=COMMIT, suspended=True),
            id="automated sync switched off (toggle-auto-sync): suspended",
        ),
    ],
)
def test_fixture(name: str, expected: observations.Observation) -> None:
    """What each upstream shape means for a target."""
    assert observations.observe(APP, app(name)) == expected


def test_self_heal_keeps_the_readiness_it_had() -> None:
    """Drift correction of the running commit does not restart the ready streak (soak time)."""
    before = observations.target_status(APP, TARGET, app("application-git-synced"))
    assert before.ready
    during = observations.target_status(APP, TARGET, app("application-self-heal"), previous=before)
    assert (during.ready, during.revision, during.error) == (True, COMMIT, "")


@pytest.mark.parametrize("name", ["application-sync-running", "application-progressing"])
def test_a_new_commit_is_not_ready_until_argo_cd_says_so(name: str) -> None:
    """A sync to another commit (or its rollout) never inherits the old commit's readiness."""
    before = observations.target_status(APP, TARGET, app("application-git-synced"))
    during = observations.target_status(APP, TARGET, app(name), previous=before)
    assert not during.ready
    assert during.revision == NEWER


def test_changed_parameters_are_a_new_attempt() -> None:
    """Same commit, other source (e.g. new Helm values in the spec): not settling."""
    found = app("application-self-heal")
    found["status"]["sync"]["comparedTo"]["source"]["targetRevision"] = "other"
    assert not argocd.settling(found)


def test_an_auto_sync_disabled_target_is_marked_suspended() -> None:
    """Promotions into it wait (TargetSuspended), as for a suspended Flux object."""
    got = observations.target_status(APP, TARGET, app("application-auto-sync-disabled"))
    assert got.suspended is True
    manual = app("application-git-synced")
    del manual["spec"]["syncPolicy"]["automated"]
    assert observations.target_status(APP, TARGET, manual).suspended is None


def test_revision_path_picks_another_source_of_a_multi_source_app() -> None:
    """``.status.sync.revisions.1``: list indices in a revision path."""
    chosen = APP.model_copy(update={"revision_path": ".status.sync.revisions.1"})
    assert observations.observe(chosen, app("application-multi-source")).revision == "b" * 40
    past = APP.model_copy(update={"revision_path": ".status.sync.revisions.9"})
    assert observations.observe(past, app("application-multi-source")).revision == ""


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(
            {"health": {"status": "Healthy"}, "sync": {"status": "OutOfSync", "revision": "r2"}},
            "OutOfSync with r2",
            id="OutOfSync names the revision it compares with",
        ),
        pytest.param(
            {
                "health": {"status": "Healthy"},
                "sync": {"status": "Unknown", "revisions": ["r1", "r2"]},
                "conditions": [
                    {"type": "SharedResourceWarning", "message": "w"},
                    {"type": "ComparisonError", "message": "repo unreachable"},
                ],
            },
            "Unknown with r1, r2 (ComparisonError: repo unreachable)",
            id="Unknown sync with the comparison error",
        ),
        pytest.param(
            {"health": {"status": "Healthy"}, "sync": {}, "conditions": [{"type": "SyncError"}]},
            "sync status unknown with an unknown revision (SyncError: no message)",
            id="no sync status at all",
        ),
        pytest.param(
            {"health": {"status": "Suspended", "message": "Rollout is paused"}},
            "Rollout is paused",
            id="health message when there is one",
        ),
        pytest.param(
            {"health": {"status": "Healthy"}, "operationState": {"phase": "Error"}},
            "the last sync ended in an error",
            id="an operation that ended in Error",
        ),
        pytest.param(
            {"health": ["junk"], "operationState": {"phase": ["junk"]}, "conditions": "junk"},
            "health is unknown",
            id="garbage never raises",
        ),
    ],
)
def test_not_ready_says_why(status: dict[str, Any], error: str) -> None:
    """The error a target shows, from the most pressing problem down."""
    assert argocd.readiness({"status": status}) == (False, error)


def test_a_requested_operation_is_not_ready() -> None:
    """``operation`` set (a sync requested, not yet picked up) is a sync in progress."""
    found = app("application-git-synced")
    found["operation"] = {"sync": {"revision": COMMIT}}
    assert argocd.readiness(found) == (False, "a sync was requested")


def test_settling_needs_a_history_and_a_revision() -> None:
    """Without a last successful sync there is nothing to settle back to."""
    assert not argocd.settling({"status": {"sync": {"revision": "r"}, "history": []}})
    assert not argocd.settling({"status": {"sync": {"revision": "r"}, "history": ["junk"]}})
    assert not argocd.settling({"status": {"sync": "junk", "history": [{"revision": "r"}]}})
    assert not argocd.settling({"status": {"sync": {}, "history": [{"revision": ""}]}})
    healing = {
        "status": {
            "sync": {"revision": "r", "comparedTo": "junk"},
            "history": [{"revision": "r"}],
            "health": {"status": "Healthy"},
        }
    }
    assert argocd.settling(healing)


def test_the_cache_keeps_what_the_rules_read() -> None:
    """``operation`` and ``spec.syncPolicy.automated`` survive the informer's trimming."""
    found = app("application-auto-sync-disabled")
    found["operation"] = {"sync": {}}
    assert argocd.observed_parts(found) == {
        "spec": {"syncPolicy": {"automated": {"prune": True, "selfHeal": True, "enabled": False}}},
        "operation": {"sync": {}},
    }
    assert argocd.observed_parts({"spec": {"syncPolicy": {}}}) == {}


def _crd_schemas() -> list[schema.StructuralSchema]:
    crd = yaml.safe_load(gzip.decompress(fixtures.raw(CRD)))
    versions = crd["spec"]["versions"]
    return [schema.StructuralSchema(v["schema"]["openAPIV3Schema"]) for v in versions]


def test_every_fixture_is_valid_for_argo_cds_own_crd() -> None:
    """Each fixture passes the real Application CRD: nothing pruned, nothing invalid."""
    schemas = _crd_schemas()
    for name in FIXTURES:
        for structural in schemas:
            obj = app(name)
            assert structural.prune(obj) == [], name
            assert structural.validate(obj) == [], name
