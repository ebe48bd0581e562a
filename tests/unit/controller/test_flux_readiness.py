"""Soak time against what Flux really writes while it re-applies a revision (issue 13, item 1).

kustomize-controller sets ``Ready=Unknown`` (reason ``Progressing``) at the start of every
reconcile; helm-controller does so while it corrects drift. A soak time longer than Flux's
interval must still pass. The objects are the fixtures of ``tests/fixtures/flux/status``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests import fixtures
from tests.fakes import clock as fake_clock
from tests.fakes import kubernetes as fakes

from ferryman.api import pipeline, status
from ferryman.controller import reconciler
from ferryman.controller.strategies import notification
from ferryman.ports import kubernetes as k8s

NS = "default"
SOAK = 900  # longer than the 10 minutes between two of Flux's reconciles
OTHER = "sha1:67e2c98a60dc92283531412a9e604dd4bae005a9"
HELM_HISTORY = fixtures.load_json("flux/status/helmrelease-oci-ready.json")["status"]["history"]


class Cluster:
    """A fake cluster with a dev → staging pipeline over ``kind`` and Flux's objects in it."""

    def __init__(self, api_version: str, kind: str) -> None:
        self.api = fakes.FakeKubernetes()
        self.clock = fake_clock.FakeClock()
        self.kind = k8s.Kind(api_version, kind)
        self.api.put(
            {
                "apiVersion": pipeline.API_VERSION,
                "kind": pipeline.KIND,
                "metadata": {"name": "podinfo", "namespace": NS},
                "spec": {
                    "appRef": {"apiVersion": api_version, "kind": kind, "name": "podinfo"},
                    "promotion": {
                        "strategy": {"notification": {}},
                        "minReadySeconds": SOAK,
                    },
                    "environments": [
                        {"name": "dev", "targets": [{"namespace": "dev"}]},
                        {"name": "staging", "targets": [{"namespace": "staging"}]},
                    ],
                },
            }
        )
        self.rec = reconciler.Reconciler(
            store=self.api.store,
            targets=self,
            events=self.api,
            strategies={"notification": notification.NotificationStrategy(self.api)},
            clock=self.clock,
            owner="a",
        )

    async def read(self, subject: pipeline.Pipeline, target: pipeline.Target) -> k8s.TargetRead:
        return k8s.TargetRead(await self.api.get(self.kind, target.namespace, "podinfo"))

    def flux_writes(self, namespace: str, fixture: str, **status_: Any) -> None:
        """Flux's object from ``fixture`` in ``namespace``, its generation observed."""
        obj = copy.deepcopy(fixtures.load_json(f"flux/status/{fixture}.json"))
        obj["metadata"] = {"name": "podinfo", "namespace": namespace}
        obj["status"].update(status_)
        stored = self.api.put(obj)
        generation = stored["metadata"]["generation"]
        for field in ("observedGeneration", "lastAttemptedGeneration"):
            if field in obj["status"]:
                obj["status"][field] = generation
        for condition in obj["status"]["conditions"]:
            condition["observedGeneration"] = generation
        self.api.put(obj)

    async def after(self, seconds: int) -> status.PipelineStatus:
        """Let ``seconds`` pass, then reconcile once; the stored status."""
        self.clock.advance(seconds)
        await self.rec.reconcile(NS, "podinfo")
        stored = self.api.objects[(pipeline.API_VERSION, pipeline.KIND, NS, "podinfo")]
        return status.PipelineStatus.model_validate(stored["status"])


@pytest.mark.parametrize(
    ("api_version", "kind", "ready", "reapplying", "behind"),
    [
        pytest.param(
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            "kustomization-ready",
            "kustomization-reconciling",
            {"lastAppliedRevision": OTHER, "lastAttemptedRevision": OTHER},
            id="Kustomization: Ready=Unknown at every interval",
        ),
        pytest.param(
            "helm.toolkit.fluxcd.io/v2",
            "HelmRelease",
            "helmrelease-oci-ready",
            "helmrelease-drift-correction",
            {"lastAttemptedRevision": "6.6.0+cdd538a0167e", "history": HELM_HISTORY[1:]},
            id="HelmRelease: Ready=Unknown while correcting drift",
        ),
    ],
)
async def test_soak_time_passes_while_flux_re_applies_the_revision(
    api_version: str, kind: str, ready: str, reapplying: str, behind: dict[str, Any]
) -> None:
    """dev soaks 900 s; Flux re-applies dev's revision after 600 s (Ready=Unknown, then True);
    the streak is kept and staging is promoted once the 900 s have passed."""
    cluster = Cluster(api_version, kind)
    cluster.flux_writes("dev", ready)
    cluster.flux_writes("staging", ready, **behind)
    first = await cluster.after(0)
    since = first.environments["dev"].ready_since
    assert since is not None
    assert first.environments["staging"].promotion is not None
    assert first.environments["staging"].promotion.phase is status.PromotionPhase.PENDING

    cluster.flux_writes("dev", reapplying)
    during = await cluster.after(600)
    assert during.environments["dev"].ready
    assert during.environments["dev"].ready_since == since

    cluster.flux_writes("dev", ready)
    assert (await cluster.after(10)).environments["dev"].ready_since == since

    done = await cluster.after(SOAK - 600 - 10)
    record = done.environments["staging"].promotion
    assert record is not None and record.phase is status.PromotionPhase.PROMOTED


async def test_a_new_revision_attempt_restarts_the_streak() -> None:
    """Flux attempting another revision on dev is a new attempt: the streak starts again."""
    cluster = Cluster("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
    cluster.flux_writes("dev", "kustomization-ready")
    cluster.flux_writes("staging", "kustomization-ready")
    assert (await cluster.after(0)).environments["dev"].ready
    cluster.flux_writes("dev", "kustomization-new-revision")
    during = await cluster.after(600)
    assert not during.environments["dev"].ready
    assert during.environments["dev"].ready_since is None
