"""A three-environment pipeline on a fake cluster, and a stand-in for Flux that applies promotions.

Shared by the reconciler, crash-point and conflict tests: ``World`` holds the fake API, the
clock, and helpers to release a revision into dev, to let "Flux" catch up with the Promote events,
and to approve as a user through the same domain function the approval API uses. With
``staging_checks`` staging verifies each revision (a Job and a webhook by default) through the
fakes of ``tests.fakes.verification``.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes import clock as fake_clock
from tests.fakes import kubernetes as fakes
from tests.fakes import verification as check_fakes

from ferryman.api import pipeline, status
from ferryman.controller import checks, fencing, guarded, reconciler
from ferryman.controller.strategies import notification
from ferryman.domain import approvals, holds
from ferryman.ports import kubernetes as k8s

NS = "default"
NAME = "podinfo"
HELM = "helm.toolkit.fluxcd.io/v2"


SMOKE_JOB = {
    "name": "smoke-test",
    "job": {
        "template": {
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "t", "image": "x"}]}
                },
            }
        }
    },
}
SMOKE_HOOK = {
    "name": "smoke",
    "webhook": {"url": "https://hooks.example.com/verify", "secretRef": {"name": "hooks"}},
}


def pipeline_object(
    *,
    approval: dict[str, Any] | None = None,
    soak: int = 0,
    staging_checks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """dev → staging (automatic) → prod (approval by release-managers), notification strategy;
    ``staging_checks`` verify each revision in staging before prod gets it."""
    prod_promotion: dict[str, Any] = {"strategy": {"notification": {}}}
    prod_promotion["approval"] = approval or {
        "required": 1,
        "approvers": {"groups": ["release-managers"]},
    }
    return {
        "apiVersion": pipeline.API_VERSION,
        "kind": pipeline.KIND,
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {
            "appRef": {"apiVersion": HELM, "kind": "HelmRelease", "name": "podinfo"},
            "promotion": {"strategy": {"notification": {}}, "minReadySeconds": soak},
            "environments": [
                {"name": "dev", "targets": [{"namespace": "dev"}]},
                {
                    "name": "staging",
                    "targets": [{"namespace": "staging"}],
                    **({"verification": {"checks": staging_checks}} if staging_checks else {}),
                },
                {"name": "prod", "targets": [{"namespace": "prod"}], "promotion": prod_promotion},
            ],
        },
    }


def helm_release(namespace: str, version: str, *, ready: bool = True) -> dict[str, Any]:
    """A HelmRelease as helm-controller reports it after installing ``version``."""
    return {
        "apiVersion": HELM,
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": namespace},
        "spec": {"chart": {"spec": {"chart": "podinfo", "version": version}}},
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "reason": "InstallSucceeded" if ready else "InstallFailed",
                    "message": "ok" if ready else f"install of {version} failed",
                    "observedGeneration": 1,
                }
            ],
            "history": [{"version": 1, "chartVersion": version}],
        },
    }


class World:
    """The fake cluster plus helpers to drive the story."""

    def __init__(self, **pipeline_args: Any) -> None:
        self.api = fakes.FakeKubernetes()
        self.clock = fake_clock.FakeClock()
        self.jobs = check_fakes.FakeJobs()
        self.webhooks = check_fakes.FakeWebhooks()
        self.metrics = check_fakes.FakeMetrics()
        self.secrets = check_fakes.FakeSecrets({"hooks": {"hmac-key": self.webhooks.key}})
        self.api.put(pipeline_object(**pipeline_args))
        for env in ("dev", "staging", "prod"):
            self.deploy(env, "6.0.0")

    def deploy(self, namespace: str, version: str, *, ready: bool = True) -> None:
        """helm-controller installed ``version``: spec and a current, observed status."""
        stored = self.api.put(helm_release(namespace, version, ready=ready))
        generation = stored["metadata"]["generation"]
        observed = helm_release(namespace, version, ready=ready)
        observed["status"]["observedGeneration"] = generation
        observed["status"]["conditions"][0]["observedGeneration"] = generation
        self.api.put(observed)

    async def read(self, subject: pipeline.Pipeline, target: pipeline.Target) -> k8s.TargetRead:
        kind = k8s.Kind(subject.spec.app_ref.api_version, subject.spec.app_ref.kind)
        return k8s.TargetRead(await self.api.get(kind, target.namespace, subject.spec.app_ref.name))

    def reconciler(
        self,
        owner: str,
        checkpoint: reconciler.Checkpoint | None = None,
        *,
        fence: fencing.Fence = fencing.UNFENCED,
    ) -> reconciler.Reconciler:
        """A fresh controller instance (a new owner identity, as after a restart).

        ``fence`` says whether it may act; the notification strategy's delivery is guarded by
        it, as ``bootstrap.process`` wires a real controller.
        """
        checkpoint = checkpoint or fencing.no_checkpoint
        guard = fencing.Guard(fence=fence, checkpoint=checkpoint)
        sink = guarded.GuardedEvents(self.api, guard)
        return reconciler.Reconciler(
            store=self.api.store,
            targets=self,
            events=self.api,
            strategies={"notification": notification.NotificationStrategy(sink)},
            clock=self.clock,
            owner=owner,
            checkpoint=checkpoint,
            fence=fence,
            verifier=checks.Verifier(
                checks.Ports(
                    secrets=self.secrets,
                    metrics=self.metrics,
                    webhooks=self.webhooks,
                    jobs=self.jobs,
                )
            ),
        )

    def release(self, version: str) -> None:
        """CI deployed ``version`` to dev."""
        self.deploy("dev", version)

    def flux_catch_up(self) -> None:
        """Flux applies every Promote event: the environment then runs that version."""
        for event in self.api.events:
            if event["reason"] == "Promote":
                env = event["annotations"]["environment"]
                version = event["annotations"]["version"]
                current = self.api.objects[(HELM, "HelmRelease", env, "podinfo")]
                if current["status"]["history"][0]["chartVersion"] != version:
                    self.deploy(env, version)

    def pipeline(self) -> dict[str, Any]:
        """The stored Pipeline."""
        return copy.deepcopy(self.api.objects[(pipeline.API_VERSION, pipeline.KIND, NS, NAME)])

    def status(self) -> status.PipelineStatus:
        """The stored status, parsed."""
        return status.PipelineStatus.model_validate(self.pipeline().get("status") or {})

    async def approve(self, user: str, groups: tuple[str, ...], revision: str) -> None:
        """Record an approval the way the approval API does (RV-checked write)."""
        obj = self.pipeline()
        subject = pipeline.Pipeline.model_validate(obj)
        env = subject.spec.environment("prod")
        assert env is not None and env.promotion is not None and env.promotion.approval is not None
        updated = approvals.approve(
            subject.status,
            "prod",
            policy=env.promotion.approval,
            approver=approvals.Approver(user, groups),
            revision=revision,
            comment="looks good",
            now=self.clock.now(),
        )
        await self.api.write_status(obj, updated.to_wire())

    async def rollback(self, user: str, environment: str = "prod") -> None:
        """Roll ``environment`` back the way the operator API does (RV-checked write)."""
        obj = self.pipeline()
        subject = pipeline.Pipeline.model_validate(obj)
        updated = holds.rollback(
            subject.status,
            subject.spec,
            environment,
            user=user,
            comment="incident",
            now=self.clock.now(),
        )
        await self.api.write_status(obj, updated.to_wire())

    def promote_events(self) -> dict[tuple[str, str], int]:
        """Promote events per (environment, version)."""
        counts: dict[tuple[str, str], int] = {}
        for event in self.api.events:
            if event["reason"] == "Promote":
                key = (event["annotations"]["environment"], event["annotations"]["version"])
                counts[key] = counts.get(key, 0) + 1
        return counts

    def phase(self, env: str) -> str | None:
        """Phase of the promotion record of ``env``."""
        record = self.status().environments[env].promotion
        return record.phase.value if record is not None else None
