"""Per-instance fakes of the verification checks' ports: Jobs, webhooks, Prometheus, Secrets.

``FakeJobs`` keeps Jobs per (cluster, namespace, name) and answers ``AlreadyExists`` by adopting,
like the API server does; ``complete``/``fail`` play the Job controller (the conditions batch/v1
documents). ``FakeWebhooks`` records every call and answers from a script (a status, or a
function of the call). ``FakeMetrics`` answers queries from a script of values or errors.
``FakeSecrets`` serves Secrets from a dict. Nothing is shared between instances.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import gitserver

from ferryman.domain import errors, signatures
from ferryman.ports import kubernetes as k8s
from ferryman.ports import metrics, webhooks

JobKey = tuple[tuple[str, str] | None, str, str]  # cluster, namespace, name


@dataclass
class FakeJobs:
    """Jobs in memory (implements ``ports.kubernetes.JobRunner``)."""

    jobs: dict[JobKey, dict[str, Any]] = field(default_factory=dict)
    created: list[JobKey] = field(default_factory=list)  # every creation, in order
    forbidden: set[str] = field(default_factory=set)  # namespaces where create is refused

    async def create(self, place: k8s.JobPlace, job: k8s.JSON) -> tuple[k8s.JSON, bool]:
        if place.namespace in self.forbidden:
            raise errors.PermanentError(
                f'the controller may not create jobs.batch in namespace "{place.namespace}"'
            )
        key = (place.cluster, place.namespace, job["metadata"]["name"])
        if key in self.jobs:
            return copy.deepcopy(self.jobs[key]), False
        stored = copy.deepcopy(job)
        stored["status"] = {}
        self.jobs[key] = stored
        self.created.append(key)
        return copy.deepcopy(stored), True

    async def get(self, place: k8s.JobPlace, name: str) -> k8s.JSON | None:
        found = self.jobs.get((place.cluster, place.namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def finish(self, *, succeeded: bool = True, namespace: str | None = None) -> int:
        """Play the Job controller: every unfinished Job (in ``namespace``) completes or fails;
        returns how many finished."""
        done = 0
        for (_, where, _), job in self.jobs.items():
            if job["status"].get("conditions") or namespace not in (None, where):
                continue
            kinds = ("SuccessCriteriaMet", "Complete") if succeeded else ("FailureTarget", "Failed")
            reason = "CompletionsReached" if succeeded else "BackoffLimitExceeded"
            message = "" if succeeded else "Job has reached the specified backoff limit"
            job["status"] = {
                "conditions": [
                    {"type": kind, "status": "True", "reason": reason, "message": message}
                    for kind in kinds
                ],
                "succeeded" if succeeded else "failed": 1,
            }
            done += 1
        return done


Answer = int | Callable[[webhooks.WebhookCall], webhooks.WebhookAnswer]


@dataclass
class FakeWebhooks:
    """Records calls; answers 204 unless ``answer`` says otherwise (implements the port)."""

    answer: Answer = 204
    calls: list[webhooks.WebhookCall] = field(default_factory=list)
    key: bytes = b"webhook-signing-key"

    async def send(self, call: webhooks.WebhookCall) -> webhooks.WebhookAnswer:
        self.calls.append(call)
        if not signatures.verify(self.key, call.body, call.headers.get("X-Signature")):
            return webhooks.WebhookAnswer(401, '{"message": "bad signature"}')
        if callable(self.answer):
            return self.answer(call)
        return webhooks.WebhookAnswer(self.answer, "")

    def payloads(self) -> list[dict[str, Any]]:
        """The JSON bodies sent, in order."""
        return [json.loads(call.body) for call in self.calls]


@dataclass
class FakeMetrics:
    """Answers queries from ``values`` in order (the last one repeats)."""

    values: list[float | errors.PromotionError] = field(default_factory=lambda: [0.0])
    queries: list[metrics.MetricsQuery] = field(default_factory=list)

    async def query(self, request: metrics.MetricsQuery) -> float:
        self.queries.append(request)
        value = self.values[min(len(self.queries), len(self.values)) - 1]
        if isinstance(value, errors.PromotionError):
            raise value
        return value


@dataclass
class FakeSecrets:
    """Secrets of one namespace (implements ``ports.promotion.SecretReader``)."""

    data: dict[str, dict[str, bytes]] = field(default_factory=dict)

    async def read(self, namespace: str, name: str) -> dict[str, bytes]:
        if name not in self.data:
            raise errors.PermanentError(f'secret "{namespace}/{name}" not found')
        return dict(self.data[name])


@dataclass
class Scripted:
    """One answer of ``WebhookReceiver``: status, JSON body, headers, and a stall first."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0


@dataclass
class WebhookReceiver:
    """A verification webhook's receiver for ``gitserver.GitServer`` (an ``ApiApp``): checks
    the signature, records each request, answers from ``script`` (the last answer repeats)."""

    key: bytes
    script: list[Scripted] = field(default_factory=lambda: [Scripted(204)])
    received: list[gitserver.Request] = field(default_factory=list)
    stopping: Any = None  # threading.Event, to release a hang

    def handle(self, request: gitserver.Request) -> gitserver.Response:
        self.received.append(request)
        if not signatures.verify(self.key, request.body, request.headers.get("x-signature")):
            return gitserver.Response(401, {"message": "bad signature"})
        answer = self.script[min(len(self.received), len(self.script)) - 1]
        if answer.hang and self.stopping is not None:
            self.stopping.wait(answer.hang)
        return gitserver.Response(answer.status, answer.body, dict(answer.headers))
