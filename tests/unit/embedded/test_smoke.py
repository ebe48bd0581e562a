"""The demo's smoke-test service: signed requests only, failing versions say what broke."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from ferryman.domain import signatures
from ferryman.embedded import demo, flux, smoke


def client(key: bytes) -> TestClient:
    return TestClient(Starlette(routes=[smoke.route(key, ("6.6.7",))]))


def post(http: TestClient, key: bytes, body: bytes) -> tuple[int, str]:
    headers = {"X-Signature": signatures.sign(key, body), "Content-Type": "application/json"}
    answer = http.post(smoke.PATH, content=body, headers=headers)
    return answer.status_code, answer.json()["message"]


def test_signed_requests_are_tested_and_failing_versions_fail() -> None:
    """6.2.0 passes (200); 6.6.7 fails with a message (422); a wrong key is 401; a body that is
    not a request is 400."""
    key = b"k" * 32
    with client(key) as http:
        ok = json.dumps({"revision": "6.2.0"}).encode()
        assert post(http, key, ok) == (200, "smoke tests of 6.2.0 passed")
        bad = json.dumps({"revision": "6.6.7"}).encode()
        assert post(http, key, bad) == (422, "checkout returns HTTP 500 on 6.6.7")
        assert post(http, b"other", ok)[0] == 401
        assert post(http, key, b"[1]")[0] == 400
        assert post(http, key, b"not json")[0] == 400


def test_the_key_is_kept_private_and_the_secret_carries_it(tmp_path: Path) -> None:
    """The key file is made once (0600) and the demo Secret holds the same key."""
    first = smoke.key(tmp_path)
    assert smoke.key(tmp_path) == first
    assert (tmp_path / smoke.KEY_FILE).stat().st_mode & 0o777 == 0o600
    secret = demo.smoke_secret(tmp_path)
    assert base64.b64decode(secret["data"]["hmac-key"]) == first
    url = demo.smoke_url(8080)
    assert url == "http://127.0.0.1:8080/demo/smoke"
    pipeline = demo.pipeline_object("file:///r.git", soak_seconds=1, smoke=url)
    staging = pipeline["spec"]["environments"][1]
    assert staging["verification"]["checks"][0]["webhook"]["url"] == url
    assert (
        "verification"
        not in demo.pipeline_object("file:///r.git", soak_seconds=1)["spec"]["environments"][1]
    )


class FakeApi:
    """``flux.KubeClient``'s request, over one stored Pipeline."""

    def __init__(self, obj: dict[str, object] | None) -> None:
        self.obj = obj
        self.puts = 0

    def request(self, method: str, path: str, body: object = None) -> flux.ApiResponse:
        if self.obj is None:
            return flux.ApiResponse(404, {})
        if method == "PUT":
            self.puts += 1
            self.obj = body  # type: ignore[assignment]
        return flux.ApiResponse(200, self.obj)


def test_the_smoke_check_follows_the_port_the_ui_bound() -> None:
    """A restart on another port updates the check's URL once; a Pipeline without the check, or
    none at all, is left alone."""
    api = FakeApi(demo.pipeline_object("file:///r.git", soak_seconds=1, smoke=demo.smoke_url(1)))
    assert demo.point_smoke_check(api, demo.smoke_url(2))  # type: ignore[arg-type]
    assert not demo.point_smoke_check(api, demo.smoke_url(2))  # type: ignore[arg-type]
    assert api.puts == 1
    plain = FakeApi(demo.pipeline_object("file:///r.git", soak_seconds=1))
    assert not demo.point_smoke_check(plain, demo.smoke_url(2))  # type: ignore[arg-type]
    assert not demo.point_smoke_check(FakeApi(None), demo.smoke_url(2))  # type: ignore[arg-type]
