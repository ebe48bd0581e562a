"""Objects a cluster makes by itself, which clients expect to find.

- In every namespace: the ``default`` ServiceAccount (kube-controller-manager's serviceaccount
  controller) and the ``kube-root-ca.crt`` ConfigMap holding the cluster CA (its root-ca-cert
  publisher), so ``kubectl create token default``, Pods' default service account and in-cluster
  clients' CA discovery work.
- In ``default``: the ``kubernetes`` Service (cluster IP 10.96.0.1, port 443 → the API server's
  port) with its Endpoints and EndpointSlice, as kube-apiserver's endpoint reconciler keeps them.

``ObjectApi`` creates them through its normal verbs (validated, watched, in managedFields), at
start-up for what is missing and whenever a namespace is created.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ferryman.embedded.apiserver import builtin_defaults

#: (group, plural) → objects; the group/plural pick the served type.
Wanted = list[tuple[str, str, dict[str, Any]]]


def for_namespace(namespace: str, ca_pem: str) -> Wanted:
    """The ServiceAccount and CA ConfigMap every namespace gets."""
    return [
        ("", "serviceaccounts", {"metadata": {"name": "default", "namespace": namespace}}),
        (
            "",
            "configmaps",
            {
                "metadata": {"name": "kube-root-ca.crt", "namespace": namespace},
                "data": {"ca.crt": ca_pem},
            },
        ),
    ]


def kubernetes_service(host: str, port: int) -> Wanted:
    """The ``kubernetes`` Service, Endpoints and EndpointSlice in ``default``."""
    labels = {"component": "apiserver", "provider": "kubernetes"}
    meta = {"name": "kubernetes", "namespace": "default", "labels": labels}
    try:
        address = str(ipaddress.IPv4Address(host))
    except ValueError:
        address = "127.0.0.1"  # a host name or IPv6: the slice is IPv4, loopback reaches us
    service = {
        "metadata": meta,
        "spec": {
            "clusterIP": builtin_defaults.KUBERNETES_SERVICE_IP,
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
            "type": "ClusterIP",
            "sessionAffinity": "None",
        },
    }
    endpoints = {
        "metadata": meta,
        "subsets": [
            {
                "addresses": [{"ip": address}],
                "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
            }
        ],
    }
    slice_labels = {**labels, "kubernetes.io/service-name": "kubernetes"}
    endpoint_slice = {
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": slice_labels},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }
    return [
        ("", "services", service),
        ("", "endpoints", endpoints),
        ("discovery.k8s.io", "endpointslices", endpoint_slice),
    ]
