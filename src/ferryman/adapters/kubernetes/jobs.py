"""``JobRunner``: the Jobs of ``job`` verification checks, on the local or a remote cluster.

A Job is created with its deterministic name; an ``AlreadyExists`` answer means an earlier
attempt made it, so that Job is read and adopted — never a second one. Remote clusters are the
GitopsCluster clients of ``clusters.GitopsClusterDirectory``. A 403 names the permission the
controller's service account lacks on that cluster (``docs/install.md`` lists the RBAC).
"""

from __future__ import annotations

from typing import Any

import lightkube

from ferryman.adapters.kubernetes import cluster as cluster_adapter
from ferryman.adapters.kubernetes import clusters, errors, resources
from ferryman.domain import errors as check_errors
from ferryman.ports import kubernetes as k8s

JOB: Any = resources.kind_class("batch", "v1", "Job", "jobs")


def _where(place: k8s.JobPlace) -> str:
    cluster = f' on GitopsCluster "{place.cluster[0]}/{place.cluster[1]}"' if place.cluster else ""
    return f'namespace "{place.namespace}"{cluster}'


def _failure(
    exc: k8s.KubernetesError, doing: str, place: k8s.JobPlace
) -> check_errors.PromotionError:
    """The check error for a failed request (permanent for 403 and invalid Jobs)."""
    text = str(exc)
    if text.startswith("403"):
        return check_errors.PermanentError(
            f"the controller may not {doing} jobs.batch in {_where(place)} "
            "(docs/install.md lists the RBAC a job check needs)",
            reason="PermissionDenied",
        )
    if text.startswith(("400", "422")):
        return check_errors.PermanentError(
            f"the Job is invalid in {_where(place)}: {text[5:][:200]}", reason="InvalidJob"
        )
    return check_errors.TemporaryError(f"cannot {doing} the Job in {_where(place)}: {text[:200]}")


class LightkubeJobRunner:
    """Creates and reads verification Jobs (implements ``ports.kubernetes.JobRunner``)."""

    def __init__(self, directory: clusters.GitopsClusterDirectory) -> None:
        self._directory = directory

    async def _client(self, place: k8s.JobPlace) -> lightkube.AsyncClient:
        try:
            found = (
                await self._directory.remote(*place.cluster)
                if place.cluster is not None
                else self._directory.local
            )
        except k8s.ClusterUnavailable as exc:
            raise check_errors.TemporaryError(str(exc), reason="ClusterUnavailable") from exc
        if not isinstance(found, cluster_adapter.LightkubeCluster):
            raise check_errors.PermanentError(f"no client for {_where(place)}")
        return found.client

    async def create(self, place: k8s.JobPlace, job: k8s.JSON) -> tuple[k8s.JSON, bool]:
        client = await self._client(place)
        try:
            with errors.translated():
                made = await client.create(resources.build(JOB, job))
            return dict(made.to_dict()), True
        except k8s.Conflict:
            existing = await self.get(place, job["metadata"]["name"])
            if existing is None:
                raise check_errors.TemporaryError(
                    f"the Job was being deleted in {_where(place)}; trying again"
                ) from None
            return existing, False
        except k8s.KubernetesError as exc:
            raise _failure(exc, "create", place) from exc

    async def get(self, place: k8s.JobPlace, name: str) -> k8s.JSON | None:
        client = await self._client(place)
        try:
            with errors.translated():
                found = await client.get(JOB, name, namespace=place.namespace)
        except k8s.NotFound:
            return None
        except k8s.KubernetesError as exc:
            raise _failure(exc, "read", place) from exc
        return dict(found.to_dict())
