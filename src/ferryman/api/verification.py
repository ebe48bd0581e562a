"""Verification checks: what makes an environment good enough to promote from, and its verdict.

Spec: ``spec.verification`` is the pipeline-wide default and ``spec.environments[].verification``
replaces it for one environment (``checks: []`` turns verification off there). Each check has a
name and exactly one of ``prometheus`` (a PromQL query that must hold ``count`` times,
``interval`` apart), ``job`` (a Job run in each target namespace once per revision),
``webhook`` (a signed HTTPS call that must answer 2xx) and ``commitStatus`` (the Git host's
statuses of the commit that promoted the revision). An environment without checks is verified
as soon as it runs a revision ready everywhere, as before.

Status: ``status.environments.<env>.verification`` holds the verdict for one revision and run:
per check its phase, when it started and finished, when its next step is due, its counters, the
last measured value and a short message. Every string is short and the list has at most
``MAX_CHECKS`` entries, so eight environments of checks cost a few KiB at the CRD's maxima.

This module imports nothing from ``pipeline`` (which imports it): the Secret reference and the
provider names are spelt here again (a test keeps the provider names equal).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from ferryman.api import durations
from ferryman.api.base import WireModel

MAX_CHECKS = 4
MAX_CONTEXTS = 8
MAX_CHECK_MESSAGE = 96
MAX_CHECK_VALUE = 16
MAX_COUNTER = 9999
MAX_MEASUREMENTS = 100
CHECK_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# "< 0.01", ">= 0.99", "== 1": a comparison and a number (Go's and Python's float syntax).
THRESHOLD_PATTERN = (
    r"^\s*(<=|>=|==|!=|<|>)\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
)
ONE_KIND_MESSAGE = "set exactly one of prometheus, job, webhook and commitStatus"

CheckName = Annotated[str, Field(min_length=1, max_length=32, pattern=CHECK_NAME_PATTERN)]
Url = Annotated[str, Field(min_length=1, max_length=2048)]
Duration = Annotated[str, Field(pattern=durations.PATTERN, max_length=32)]
Threshold = Annotated[str, Field(pattern=THRESHOLD_PATTERN, max_length=64)]
ProviderType = Literal["github", "gitlab", "bitbucket-server", "azure-devops", "gitea"]


# The Job template is checked by the API server when the Job is created (and by
# ``api.validation`` for its shape), not by the CRD: its schema would be most of the CRD.
_OPAQUE: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


class SecretReference(WireModel):
    """A Secret in the Pipeline's namespace."""

    name: Annotated[str, Field(min_length=1, max_length=253)] = Field(
        description="Name of the Secret."
    )


class PrometheusCheck(WireModel):
    """A PromQL query whose value must satisfy ``threshold`` ``count`` times, ``interval`` apart
    (like an Argo Rollouts metric or a Flagger metric check)."""

    address: Url = Field(
        description="Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090."
    )
    query: Annotated[str, Field(min_length=1, max_length=4096)] = Field(
        description="PromQL instant query; its result must be one sample (a scalar or a vector "
        "of one series)."
    )
    threshold: Threshold = Field(
        description='The value passes when it satisfies this comparison, e.g. "< 0.01".'
    )
    interval: Duration | None = Field(
        default=None, description="Time between measurements (default 1m)."
    )
    count: Annotated[int, Field(ge=1, le=MAX_MEASUREMENTS)] | None = Field(
        default=None, description="Measurements to take (default 1)."
    )
    failure_limit: Annotated[int, Field(ge=0, le=MAX_MEASUREMENTS)] | None = Field(
        default=None,
        description="Measurements that may fail the threshold before the check fails (default 0).",
    )
    secret_ref: SecretReference | None = Field(
        default=None,
        description="Secret with 'token' (bearer) or 'username'/'password', and optionally "
        "'ca.crt'; sent over HTTPS (or to a loopback address) only.",
    )


class JobCheck(WireModel):
    """A Job run once per revision in each target namespace of the environment."""

    template: Annotated[dict[str, Any], WithJsonSchema(_OPAQUE)] = Field(
        description="A JobTemplateSpec ({metadata, spec}) as in a CronJob's jobTemplate; the "
        "Job's name and namespace are set by Ferryman."
    )
    timeout: Duration | None = Field(
        default=None, description="The check fails when the Jobs have not finished by then (30m)."
    )
    retention: Duration | None = Field(
        default=None,
        description="Finished Jobs are deleted after this long (ttlSecondsAfterFinished, 1h).",
    )


class WebhookCheck(WireModel):
    """An HTTPS POST of a signed JSON payload that must answer 2xx."""

    url: Url = Field(description="https:// URL (plain http:// only for a loopback address).")
    secret_ref: SecretReference = Field(
        description="Secret whose 'hmac-key' signs the payload (X-Signature: sha256=<hex>)."
    )
    timeout: Duration | None = Field(
        default=None, description="Time allowed for one call, at most 60s (default 10s)."
    )
    retries: Annotated[int, Field(ge=0, le=10)] | None = Field(
        default=None,
        description="Calls retried with backoff after a 5xx or a network error (default 3); a "
        "4xx answer fails the check at once.",
    )


class CommitStatusCheck(WireModel):
    """The Git host's statuses and checks of the commit that promoted the revision."""

    contexts: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=255)], ...],
        Field(max_length=MAX_CONTEXTS),
    ] = Field(
        default=(),
        description="Status contexts (check names) that must succeed; empty: every one reported.",
    )
    timeout: Duration | None = Field(
        default=None, description="The check fails when they have not all succeeded by then (30m)."
    )
    type: ProviderType | None = Field(
        default=None,
        description="Git host; default: the environment's pull-request strategy's type.",
    )
    url: Url | None = Field(
        default=None, description="Repository URL; default: the pull-request strategy's URL."
    )
    secret_ref: SecretReference | None = Field(
        default=None, description="Secret with 'token'; default: the pull-request strategy's."
    )
    server_url: Url | None = Field(
        default=None,
        alias="serverURL",
        description="Base URL of the Git host (see the pull-request strategy's serverURL).",
    )


class CheckKind(enum.StrEnum):
    """The four kinds of check (their field names in the spec)."""

    PROMETHEUS = "prometheus"
    JOB = "job"
    WEBHOOK = "webhook"
    COMMIT_STATUS = "commitStatus"


class Check(WireModel):
    """One named check: exactly one of prometheus, job, webhook, commitStatus."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": (
                        "(has(self.prometheus) ? 1 : 0) + (has(self.job) ? 1 : 0)"
                        " + (has(self.webhook) ? 1 : 0) + (has(self.commitStatus) ? 1 : 0) == 1"
                    ),
                    "message": ONE_KIND_MESSAGE,
                }
            ]
        }
    )

    name: CheckName = Field(description="Name of the check, unique in the environment.")
    prometheus: PrometheusCheck | None = Field(default=None, description="A Prometheus query.")
    job: JobCheck | None = Field(default=None, description="A Job in each target namespace.")
    webhook: WebhookCheck | None = Field(default=None, description="A signed HTTPS call.")
    commit_status: CommitStatusCheck | None = Field(
        default=None, description="The promotion commit's statuses on the Git host."
    )

    def kinds(self) -> list[CheckKind]:
        """The kinds that are set (valid checks have exactly one)."""
        found = {
            CheckKind.PROMETHEUS: self.prometheus,
            CheckKind.JOB: self.job,
            CheckKind.WEBHOOK: self.webhook,
            CheckKind.COMMIT_STATUS: self.commit_status,
        }
        return [kind for kind, value in found.items() if value is not None]

    @property
    def kind(self) -> CheckKind | None:
        """The check's kind: the first one set (validation refuses none or more than one)."""
        chosen = self.kinds()
        return chosen[0] if chosen else None


class Verification(WireModel):
    """The checks that decide whether a revision may leave an environment."""

    checks: Annotated[tuple[Check, ...], Field(max_length=MAX_CHECKS)] = Field(
        default=(),
        description="Checks run in parallel once the environment runs a revision ready "
        "everywhere; the next environment is promoted only after all of them passed.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


# --------------------------------------------------------------------------- status


class CheckPhase(enum.StrEnum):
    """Where one check (or the whole verification) stands."""

    RUNNING = "Running"  # started; its next step is due at nextAt (or now)
    PASSED = "Passed"  # every measurement, Job, answer or status says yes
    FAILED = "Failed"  # one said no, it errored too often, or it timed out

    @property
    def finished(self) -> bool:
        """True for Passed and Failed."""
        return self is not CheckPhase.RUNNING


Counter = Annotated[int, Field(ge=0, le=MAX_COUNTER)]


class CheckStatus(WireModel):
    """One check's progress for the verification's revision and run.

    ``count`` is what the check did (measurements taken, Jobs created, calls made, polls),
    ``failed`` the measurements that did not satisfy the threshold, ``errors`` the failed
    attempts in a row (unreachable, 5xx); ``nextAt`` is when its next step is due.
    """

    name: CheckName
    phase: CheckPhase
    started_at: datetime | None = None
    finished_at: datetime | None = None
    next_at: datetime | None = None
    count: Counter = 0
    failed: Counter = 0
    errors: Counter = 0
    value: Annotated[str, Field(max_length=MAX_CHECK_VALUE)] | None = None
    message: Annotated[str, Field(max_length=MAX_CHECK_MESSAGE)] | None = None


class VerificationStatus(WireModel):
    """The verdict on one revision in one environment: its checks, for this run."""

    revision: Annotated[str, Field(max_length=256)]
    run: Annotated[int, Field(ge=1, le=MAX_COUNTER)] = 1  # ferryman verify starts the next
    phase: CheckPhase
    checks: Annotated[tuple[CheckStatus, ...], Field(max_length=MAX_CHECKS)] = ()

    def check(self, name: str) -> CheckStatus | None:
        """The status of the check called ``name``, if it has one."""
        return next((c for c in self.checks if c.name == name), None)
