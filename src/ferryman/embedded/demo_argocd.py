"""The demo with Argo CD instead of Flux (``ferryman up --app-kind argocd``): what differs.

The story is the same (dev → staging automatic → prod with approval, ``git-push``); what lives in
Git is one Argo CD ``Application`` per environment — a Helm-chart source whose
``targetRevision`` carries the ``$promotion`` marker, automated sync with self-heal, in the
environment's namespace (Argo CD's "applications in any namespace") — and the Pipeline's
``appRef`` names ``argoproj.io/v1alpha1`` ``Application``. ``embedded.argocd`` plays Argo CD.
"""

from __future__ import annotations

from typing import Any, Final

from ferryman.embedded import argocd

MANIFEST: Final = """\
# podinfo in {env}. CI bumps dev; Ferryman promotes the marked chart version into {env}.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: podinfo
  namespace: {env}
spec:
  project: default
  source:
    repoURL: https://stefanprodan.github.io/podinfo
    chart: podinfo
    targetRevision: {version} # {{"$promotion": "{namespace}:{pipeline}:{env}"}}
    helm:
      valuesObject:
        replicaCount: {replicas}
  destination:
    server: https://kubernetes.default.svc
    namespace: {env}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
"""

# A compact Application CRD (served when Argo CD's own is not given with --crds): the same
# group, version, names and printer columns, no status subresource (as Argo CD's); spec and
# status are kept as written.
APPLICATION_CRD: Final = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: applications.argoproj.io
spec:
  group: argoproj.io
  names: {kind: Application, listKind: ApplicationList, plural: applications,
          singular: application, shortNames: [app, apps]}
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: {}
      additionalPrinterColumns:
        - {name: Sync Status, type: string, jsonPath: .status.sync.status}
        - {name: Health Status, type: string, jsonPath: .status.health.status}
        - {name: Revision, type: string, jsonPath: .status.sync.revision, priority: 10}
      schema:
        openAPIV3Schema:
          type: object
          required: [metadata, spec]
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
            status: {type: object, x-kubernetes-preserve-unknown-fields: true}
            operation: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""
CRD_NAME: Final = "applications.argoproj.io"


def app_ref() -> dict[str, Any]:
    """The Pipeline's ``appRef``."""
    return {"apiVersion": argocd.API, "kind": argocd.KIND, "name": "podinfo"}


def manifest(env: str, version: str, *, namespace: str, pipeline: str) -> str:
    """The Application of one environment, with its ``$promotion`` marker."""
    replicas = 3 if env == "prod" else 1
    return MANIFEST.format(
        env=env, version=version, namespace=namespace, pipeline=pipeline, replicas=replicas
    )
