"""The generic lightkube resources Ferryman reads and writes on its own cluster."""

from __future__ import annotations

from typing import Any

from lightkube import generic_resource

from ferryman.api import pipeline

PIPELINE: Any = generic_resource.create_namespaced_resource(
    pipeline.GROUP, pipeline.VERSION, pipeline.KIND, pipeline.PLURAL
)
EVENT: Any = generic_resource.create_namespaced_resource("events.k8s.io", "v1", "Event", "events")
SECRET: Any = generic_resource.create_namespaced_resource("", "v1", "Secret", "secrets")
LEASE: Any = generic_resource.create_namespaced_resource(
    "coordination.k8s.io", "v1", "Lease", "leases"
)
GITOPS_CLUSTER: Any = generic_resource.create_namespaced_resource(
    "gitops.weave.works", "v1alpha1", "GitopsCluster", "gitopsclusters"
)
