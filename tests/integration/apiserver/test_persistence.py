"""Persistence: after kill -9 and a restart, objects, RVs, generations and uids survive."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from ferryman.embedded.apiserver.testing import SubprocessServer

from .conftest import PIPELINES, load_crd, pipeline


def _call(
    server: SubprocessServer,
    method: str,
    path: str,
    body: Any = None,
    ctype: str = "application/json",
) -> Any:
    req = urllib.request.Request(  # noqa: S310 - loopback server under test
        server.url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": ctype},
    )
    with urllib.request.urlopen(req, timeout=10, context=server.ssl_context()) as resp:  # noqa: S310
        return json.loads(resp.read())


def test_kill_9_and_restart_keeps_everything(tmp_path: Path) -> None:
    """Objects written before a SIGKILL read back identical after a restart; RVs keep increasing."""
    server = SubprocessServer(tmp_path / "api")
    try:
        _call(server, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", load_crd())
        _call(server, "POST", PIPELINES, pipeline())
        _call(
            server,
            "PATCH",
            f"{PIPELINES}/web",
            {"spec": {"appRef": {"name": "v2"}}},
            "application/merge-patch+json",
        )
        before = _call(server, "GET", f"{PIPELINES}/web")
        token = server.token
        server.kill()
        server.restart()
        assert server.token == token
        after = _call(server, "GET", f"{PIPELINES}/web")
        assert after == before
        assert after["metadata"]["generation"] == 2
        again = _call(
            server,
            "PATCH",
            f"{PIPELINES}/web",
            {"metadata": {"labels": {"a": "b"}}},
            "application/merge-patch+json",
        )
        assert int(again["metadata"]["resourceVersion"]) > int(
            before["metadata"]["resourceVersion"]
        )
    finally:
        server.stop()
