"""Switching over from the original pipeline-controller: its status is not trusted, it is redone.

The object is ``tests/fixtures/weave/pipeline-left-by-original.json``: status as the original's
level-triggered controller writes it, with a stale ``waitingApproval: {revision: 6.1.0}`` on prod
although prod runs 6.1.0 and nothing waits (WGE's UI would offer an approval the server refuses).
"""

from __future__ import annotations

import copy
from typing import Any

from tests import fixtures
from tests.fakes import clock as fake_clock
from tests.fakes import kubernetes as fakes
from tests.unit.controller import story

from ferryman.api import pipeline, status
from ferryman.controller import reconciler
from ferryman.controller.strategies import notification
from ferryman.ports import kubernetes as k8s

V2BETA1 = "helm.toolkit.fluxcd.io/v2beta1"


class Switched:
    """The cluster as the original controller left it, with Ferryman started on it."""

    def __init__(self) -> None:
        self.api = fakes.FakeKubernetes()
        self.api.put(copy.deepcopy(fixtures.load_json("weave/pipeline-left-by-original.json")))
        for env in ("dev", "staging", "prod"):
            self.deploy(env, "6.1.0")
        self.rec = reconciler.Reconciler(
            store=self.api.store,
            targets=self,
            events=self.api,
            strategies={"notification": notification.NotificationStrategy(self.api)},
            clock=fake_clock.FakeClock(),
            owner="ferryman-0",
        )

    def deploy(self, namespace: str, version: str) -> None:
        """helm-controller (v2beta1 era) installed ``version``; its generation is observed."""
        release: dict[str, Any] = story.helm_release(namespace, version)
        release["apiVersion"] = V2BETA1
        generation = self.api.put(release)["metadata"]["generation"]
        release["status"]["observedGeneration"] = generation
        release["status"]["conditions"][0]["observedGeneration"] = generation
        self.api.put(release)

    async def read(self, subject: pipeline.Pipeline, target: pipeline.Target) -> k8s.TargetRead:
        kind = k8s.Kind(V2BETA1, "HelmRelease")
        return k8s.TargetRead(await self.api.get(kind, target.namespace, "podinfo"))

    async def status(self) -> status.PipelineStatus:
        await self.rec.reconcile("default", "podinfo")
        stored = self.api.objects[(pipeline.API_VERSION, pipeline.KIND, "default", "podinfo")]
        return status.PipelineStatus.model_validate(stored["status"])


async def test_a_stale_waiting_approval_is_dropped_on_the_first_reconcile() -> None:
    """prod runs 6.1.0 and nothing waits: the mirror left by the original disappears at once,
    as do the empty ones it wrote on every environment."""
    switched = Switched()
    before = switched.api.objects[(pipeline.API_VERSION, pipeline.KIND, "default", "podinfo")]
    assert before["status"]["environments"]["prod"]["waitingApproval"] == {"revision": "6.1.0"}
    st = await switched.status()
    assert {name: env.waiting_approval for name, env in st.environments.items()} == {
        "dev": None,
        "staging": None,
        "prod": None,
    }
    assert st.environments["prod"].promotion is None


async def test_a_revision_that_really_waits_is_mirrored_from_the_record() -> None:
    """After the switch-over the mirror follows Ferryman's record (prod is ``manual``)."""
    switched = Switched()
    await switched.status()
    switched.deploy("dev", "6.2.0")
    switched.deploy("staging", "6.2.0")
    await switched.status()  # renders the change approvers will see
    st = await switched.status()
    record = st.environments["prod"].promotion
    assert record is not None and record.phase is status.PromotionPhase.WAITING_APPROVAL
    assert st.environments["prod"].waiting_approval == status.WaitingApproval(revision="6.2.0")
