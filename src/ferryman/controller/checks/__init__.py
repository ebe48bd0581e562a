"""Carry out one step of a verification check through the ports; the domain records the finding.

``decide()`` asks for ``actions.Check`` steps (``domain.verification``); the reconciler hands each
to a ``Verifier``, which finds the check in the Pipeline's spec, runs the step of its kind —
``prometheus`` (measure), ``job`` (create or read the Jobs), ``webhook`` (call) or
``commitStatus`` (read the commit's statuses) — bounded in time, and answers with a
``domain.findings.Finding`` that ``findings.record`` writes into status. Errors come back as
values, never raised: ``TemporaryError`` is retried by the domain, ``PermanentError`` fails the
check. A kind whose port was not wired in (a process without a Prometheus client, say) fails the
step permanently with a sentence saying so.

Modules: ``prometheus``, ``jobs``, ``webhooks``, ``commits`` — one per kind, each with pure
request builders and answer judges next to the one function that calls its port.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ferryman.api import pipeline
from ferryman.api import verification as checks
from ferryman.controller.checks import commits, jobs, prometheus, webhooks
from ferryman.domain import actions, errors, findings, verification
from ferryman.ports import git, metrics, promotion
from ferryman.ports import kubernetes as k8s
from ferryman.ports import webhooks as webhook_port

STEP_TIMEOUT = 90.0  # seconds for one step, whatever the check (a webhook call is at most 60)


@dataclass(frozen=True)
class Ports:
    """What the checks talk to; a kind whose port is ``None`` cannot run here."""

    secrets: promotion.SecretReader
    metrics: metrics.MetricsSource | None = None
    webhooks: webhook_port.WebhookSender | None = None
    jobs: k8s.JobRunner | None = None
    hosts: git.GitHosts | None = None


def _unavailable(what: str) -> errors.PermanentError:
    return errors.PermanentError(
        f"this controller cannot run {what} checks (no client for them was set up)",
        reason="CheckUnavailable",
    )


class Verifier:
    """Runs check steps for the reconciler (one call per ``actions.Check``)."""

    def __init__(self, ports: Ports, *, timeout: float = STEP_TIMEOUT) -> None:
        self._ports = ports
        self._timeout = timeout

    async def run(self, subject: pipeline.Pipeline, action: actions.Check) -> findings.Finding:
        """Carry out ``action``'s step and say what it found (errors as values)."""
        spec = verification.check_named(subject.spec, action.environment, action.check)
        if spec is None:
            return errors.PermanentError(f'check "{action.check}" is no longer in the spec')
        try:
            return await asyncio.wait_for(self._step(subject, action, spec), self._timeout)
        except errors.PromotionError as exc:
            return exc
        except TimeoutError:
            return errors.TemporaryError(f"the step did not finish within {self._timeout:g}s")

    async def _step(
        self, subject: pipeline.Pipeline, action: actions.Check, spec: checks.Check
    ) -> findings.Finding:
        ports = self._ports
        if spec.prometheus is not None:
            if ports.metrics is None:
                return _unavailable("Prometheus")
            return await prometheus.measure(ports.metrics, ports.secrets, subject, spec.prometheus)
        if spec.webhook is not None:
            if ports.webhooks is None:
                return _unavailable("webhook")
            return await webhooks.call(ports.webhooks, ports.secrets, subject, action, spec.webhook)
        if spec.job is not None:
            if ports.jobs is None:
                return _unavailable("Job")
            return await jobs.step(ports.jobs, subject, action, spec.job)
        if spec.commit_status is not None:
            if ports.hosts is None:
                return _unavailable("commit status")
            return await commits.read(ports.hosts, ports.secrets, subject, action, spec)
        return errors.PermanentError(f'check "{spec.name}" has no kind')
