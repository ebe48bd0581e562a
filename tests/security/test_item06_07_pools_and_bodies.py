"""Issue 16, items 6 and 7: slow bodies must neither starve other routes nor hang forever.

Item 6: 256 slow, unsigned webhook bodies filled the one global in-flight limit and the approval API
answered 503, renewably. Item 7: ``/signin`` held a 10-byte partial body for 45 s with no answer
and had no size limit. Both attacks go to the server of ``ferryman up`` over raw sockets.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
from tests.security import demo

SLOW_BODIES = 260  # more than the old global limit of 256


def address(url: str) -> tuple[str, int]:
    """(host, port) of ``http://host:port``."""
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def partial_post(url: str, path: str, *, declared: int, sent: bytes) -> socket.socket:
    """A POST that declares ``declared`` body bytes and sends only ``sent`` (then waits)."""
    sock = socket.create_connection(address(url), timeout=30)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.removeprefix('http://')}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )
    sock.sendall(head.encode() + sent)
    return sock


@contextlib.contextmanager
def slow_webhook_bodies(url: str, count: int) -> Iterator[list[socket.socket]]:
    """``count`` unsigned webhook requests whose bodies never finish arriving, each for another
    pipeline name, so the promotion hook's rate limit (per client, pipeline and environment)
    lets every one of them through to the webhook pool."""
    held: list[socket.socket] = []
    try:
        for index in range(count):
            path = f"/promotion/default/podinfo-{index}/dev"
            held.append(partial_post(url, path, declared=4096, sent=b'{"in'))
        yield held
    finally:
        for sock in held:
            sock.close()


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP response."""
    return int(answer.split(b" ", 2)[1])


def test_item6_slow_webhook_bodies_cannot_starve_approvals_ui_or_health(up: demo.Up) -> None:
    """260 slow unsigned webhook bodies in flight: the webhook's own pool is full (503), while the
    approval/read API, the UI and health still answer."""
    token = up.tokens["alice"]
    with (
        slow_webhook_bodies(up.url, SLOW_BODIES),
        httpx.Client(base_url=up.url, timeout=10) as http,
    ):
        deadline = time.monotonic() + 5
        while True:  # every slow request has reached the app once a new webhook call gets 503
            webhook = http.post("/promotion/default/another/dev", content=b"{}")
            if webhook.status_code == 503 or time.monotonic() > deadline:
                break
        api = http.get(
            "/api/v1/namespaces/default/pipelines/podinfo",
            headers={"Authorization": f"Bearer {token}"},
        )
        approve = http.post(
            "/api/v1/namespaces/default/pipelines/podinfo/environments/prod/approve",
            json={"revision": "0.0.0-none"},
            headers={"Authorization": f"Bearer {token}"},
        )
        page = http.get("/signin")
        health = http.get("/healthz")
    assert webhook.status_code == 503 and webhook.headers["retry-after"] == "1"
    assert api.status_code == 200, api.text
    assert approve.status_code == 409, approve.text  # judged, not turned away
    assert page.status_code == 200 and health.status_code == 200


def test_item7_signin_with_a_partial_body_gets_408(up: demo.Up) -> None:
    """A 10-byte partial /signin body is answered 408 once the UI's body deadline passes."""
    with partial_post(up.url, "/signin", declared=100, sent=b"token=abcd") as sock:
        sock.settimeout(30)  # the review waited 45 s; a timeout here fails the test
        answer = sock.recv(65536)
    assert status_of(answer) == 408, answer


def test_item7_oversized_form_is_413_before_it_is_read(up: demo.Up) -> None:
    """A /signin body over the UI's 16 KiB cap is refused at once by its Content-Length."""
    with partial_post(up.url, "/signin", declared=10 * 1024 * 1024, sent=b"token=") as sock:
        sock.settimeout(30)
        answer = sock.recv(65536)
    assert status_of(answer) == 413, answer
