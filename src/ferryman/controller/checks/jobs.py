"""``job`` checks: one Job per target namespace of the environment, once per revision and run.

``start`` creates the Jobs; each one's name derives from (pipeline, environment, revision, check,
run) (``domain.naming.job_name``), so an attempt after a crash finds the Job the last one made and
adopts it — a run never starts a second Job in a namespace. ``observe`` reads them: the check
passes when every Job is ``Complete`` (or, Kubernetes 1.31+, ``SuccessCriteriaMet``), fails when
one is ``Failed`` (or ``FailureTarget``, set before the failed Job's Pods are gone) or when a Job
is gone before it finished. The Job deletes itself after the retention
(``ttlSecondsAfterFinished``, the cluster's TTL-after-finished controller) and stops at the
check's timeout (``activeDeadlineSeconds``, unless the template sets one).

Conditions are read as batch/v1 ``JobStatus`` documents them (the vendored Kubernetes 1.32
OpenAPI in ``embedded/apiserver/upstream``): "A job is considered finished when it is in a terminal
condition, either "Complete" or "Failed"", and a Job cannot be both ``Complete`` and
``FailureTarget``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Final

from ferryman.api import durations, pipeline
from ferryman.api import verification as checks
from ferryman.domain import actions, findings, naming
from ferryman.ports import kubernetes as k8s

DEFAULT_RETENTION: Final = "1h"
DEFAULT_TIMEOUT: Final = "30m"
PASSED: Final = ("Complete", "SuccessCriteriaMet")
FAILED: Final = ("Failed", "FailureTarget")
LABEL: Final = "pipelines.weave.works"


def places(subject: pipeline.Pipeline, environment: str) -> list[k8s.JobPlace]:
    """Where the environment's Jobs run: each target's namespace (and cluster), once."""
    env = subject.spec.environment(environment)
    found: list[k8s.JobPlace] = []
    for target in env.targets if env is not None else ():
        ref = target.cluster_ref
        cluster = (ref.namespace or subject.metadata.namespace, ref.name) if ref else None
        place = k8s.JobPlace(namespace=target.namespace, cluster=cluster)
        if place not in found:
            found.append(place)
    return found


def name(subject: pipeline.Pipeline, action: actions.Check) -> str:
    """The Job's name (the same in every target namespace)."""
    key = naming.check_key(
        pipeline_uid=subject.metadata.uid or subject.metadata.name,
        environment=action.environment,
        revision=action.revision,
        check=action.check,
        run=action.run,
    )
    return naming.job_name(
        pipeline=subject.metadata.name, environment=action.environment, check=action.check, key=key
    )


def manifest(
    subject: pipeline.Pipeline, action: actions.Check, spec: checks.JobCheck, namespace: str
) -> dict[str, Any]:
    """The Job to create: the template with Ferryman's name, labels, retention and deadline."""
    template = copy.deepcopy(spec.template)
    metadata = dict(template.get("metadata") or {})
    labels = {
        **(metadata.get("labels") or {}),
        "app.kubernetes.io/managed-by": "ferryman",
        f"{LABEL}/pipeline": subject.metadata.name[:63],
        f"{LABEL}/environment": action.environment[:63],
        f"{LABEL}/check": action.check,
    }
    annotations = {
        **(metadata.get("annotations") or {}),
        f"{LABEL}/pipeline": f"{subject.metadata.namespace}/{subject.metadata.name}",
        f"{LABEL}/revision": action.revision,
        f"{LABEL}/run": str(action.run),
    }
    job_spec = dict(template.get("spec") or {})
    retention = durations.parse(spec.retention or DEFAULT_RETENTION)
    job_spec["ttlSecondsAfterFinished"] = int(retention.total_seconds())
    deadline = durations.parse(spec.timeout or DEFAULT_TIMEOUT)
    job_spec.setdefault("activeDeadlineSeconds", max(int(deadline.total_seconds()), 1))
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name(subject, action),
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": job_spec,
    }


def where(place: k8s.JobPlace) -> str:
    """``staging`` or ``eu-1/staging`` (cluster/namespace) for messages."""
    return f"{place.cluster[1]}/{place.namespace}" if place.cluster else place.namespace


def outcome(job: k8s.JSON) -> tuple[bool | None, str]:
    """Whether one Job passed (``True``), failed (``False``, with why) or is still running."""
    conditions = (job.get("status") or {}).get("conditions") or []
    true = {
        str(c.get("type")): c
        for c in conditions
        if isinstance(c, dict) and c.get("status") == "True"
    }
    for kind in FAILED:
        if kind in true:
            reason, message = true[kind].get("reason") or kind, true[kind].get("message") or ""
            return False, f"{reason}: {message}" if message else str(reason)
    if any(kind in true for kind in PASSED):
        return True, "succeeded"
    return None, "running"


def judge(name_: str, found: Sequence[tuple[k8s.JobPlace, k8s.JSON | None]]) -> findings.Answer:
    """The check's verdict over every place's Job."""
    done = 0
    for place, job in found:
        if job is None:
            return findings.Answer(False, f"{where(place)}: the Job was deleted before it finished")
        passed, why = outcome(job)
        if passed is False:
            return findings.Answer(False, f"{where(place)}: {why}")
        done += passed is True
    value = f"{done}/{len(found)}"
    if done == len(found):
        return findings.Answer(True, f"Job {name_} succeeded in {len(found)} namespace(s)", value)
    return findings.Answer(None, f"{done} of {len(found)} Jobs finished", value)


async def step(
    runner: k8s.JobRunner, subject: pipeline.Pipeline, action: actions.Check, spec: checks.JobCheck
) -> findings.Started | findings.Answer:
    """``start``: create (or adopt) the Jobs; ``observe``: read and judge them."""
    targets = places(subject, action.environment)
    job_name = name(subject, action)
    if action.step == actions.START:
        adopted = 0
        for place in targets:
            job = manifest(subject, action, spec, place.namespace)
            _, created = await runner.create(place, job)
            adopted += not created
        message = f"Job {job_name} started in {len(targets)} namespace(s)"
        if adopted:
            message += f" ({adopted} found from an earlier attempt)"
        return findings.Started(len(targets), message)
    jobs = [(place, await runner.get(place, job_name)) for place in targets]
    return judge(job_name, jobs)
