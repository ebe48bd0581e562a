"""A tiny async REST client for tests: plain JSON against a kubeconfig's server (no client library).

Tests use it to arrange state the way a user or Flux would (create CRDs and objects, set an app's
status), independently of the lightkube adapters under test.
"""

from __future__ import annotations

import base64
import ssl
import tempfile
from pathlib import Path
from typing import Any

import httpx
import yaml


def _path(api_version: str, plural: str, namespace: str | None, name: str | None = None) -> str:
    base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    if namespace is not None:
        base += f"/namespaces/{namespace}"
    base += f"/{plural}"
    return base + (f"/{name}" if name else "")


class Kube:
    """JSON over HTTPS with the kubeconfig's bearer token."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        context = ssl.create_default_context()
        ca = cluster.get("certificate-authority-data")
        if ca:
            with tempfile.NamedTemporaryFile("wb", suffix=".crt", delete=False) as handle:
                handle.write(base64.b64decode(ca))
            context.load_verify_locations(handle.name)
        self.http = httpx.AsyncClient(
            base_url=cluster["server"],
            headers={"Authorization": f"Bearer {user['token']}"},
            verify=context,
            timeout=10,
        )

    async def close(self) -> None:
        """Close connections."""
        await self.http.aclose()

    async def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        """Send and return the JSON answer (raising on HTTP errors)."""
        response = await self.http.request(method, path, json=body, **kw)
        response.raise_for_status()
        return response.json() if response.content else None

    async def apply_file(self, path: Path) -> None:
        """Create every object of a YAML file (CRDs, namespaces, ...), skipping existing ones."""
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                await self.create(doc, exist_ok=True)

    async def create(self, obj: dict[str, Any], *, exist_ok: bool = False) -> dict[str, Any]:
        """POST the object to its collection."""
        meta = obj["metadata"]
        plural = await self.plural(obj["apiVersion"], obj["kind"])
        response = await self.http.post(
            _path(obj["apiVersion"], plural, meta.get("namespace")), json=obj
        )
        if exist_ok and response.status_code == 409:
            return await self.get(
                obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"]
            )
        response.raise_for_status()
        created: dict[str, Any] = response.json()
        return created

    async def plural(self, api_version: str, kind: str) -> str:
        """The resource name of ``kind`` from discovery."""
        base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        listing = await self.request("GET", base)
        for entry in listing["resources"]:
            if entry["kind"] == kind and "/" not in entry["name"]:
                return str(entry["name"])
        raise KeyError(kind)

    async def get(
        self, api_version: str, kind: str, namespace: str | None, name: str
    ) -> dict[str, Any]:
        """GET one object."""
        plural = await self.plural(api_version, kind)
        found: dict[str, Any] = await self.request(
            "GET", _path(api_version, plural, namespace, name)
        )
        return found

    async def put_status(self, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT the object's ``/status`` (carrying its resourceVersion)."""
        meta = obj["metadata"]
        plural = await self.plural(obj["apiVersion"], obj["kind"])
        path = _path(obj["apiVersion"], plural, meta.get("namespace"), meta["name"]) + "/status"
        stored: dict[str, Any] = await self.request("PUT", path, obj)
        return stored

    async def list(
        self, api_version: str, kind: str, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        """Every object of a kind (all namespaces when ``namespace`` is None)."""
        plural = await self.plural(api_version, kind)
        listing = await self.request("GET", _path(api_version, plural, namespace))
        items: list[dict[str, Any]] = listing["items"]
        return items
