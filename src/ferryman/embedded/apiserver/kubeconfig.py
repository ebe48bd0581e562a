"""Write the kubeconfig that lets kubectl and lightkube talk to the embedded server at once."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml


def render(
    server_url: str,
    token: str,
    *,
    ca_pem: bytes | None = None,
    name: str = "ferryman",
    user: str = "admin",
) -> str:
    """A single-context kubeconfig (namespace ``default``) with a bearer token."""
    cluster: dict[str, str] = {"server": server_url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": user, "namespace": "default"}}
        ],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(path: Path, server_url: str, token: str, *, ca_pem: bytes | None = None) -> Path:
    """Write (atomically, mode 0600: it holds the admin token) and return ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render(server_url, token, ca_pem=ca_pem))
    tmp.replace(path)
    return path
