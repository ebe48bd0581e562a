"""UI: pipeline page render times with 50 signed-in users polling or streaming, and one status
change reaching 100 server-sent-event clients.

Path: ``ferryman apiserver`` (with a token file of 100 users in ``release-managers``, bound to a
role that may read, approve and reject pipelines) and ``ferryman controller`` as separate
processes; the UI is the controller's HTTP server. The clients are raw HTTP/1.1 on asyncio
sockets in the benchmark process (cheap enough that the server, not the client, is measured).

- Render: one sampler requests the full pipeline page ``/pipelines/default/ui`` 300 times (every
  20 ms, as each of the 50 users in turn), while (a) the 50 users each poll the page's fragment
  every 2 s, or (b) the 50 users each keep the page's event stream open; in both, dev's
  HelmRelease changes every second, so the page changes and every stream renders it again.
- Fan-out: 100 users each keep the page's stream open; dev's HelmRelease is set to a new
  revision (one PUT): the time from that PUT until each client has received the page showing the
  new revision (the controller's reconcile and status write included), 5 changes.

Run ``.venv/bin/python -m bench.ui_bench`` (``make bench`` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench import fleet, production

from ferryman.embedded.apiserver.testing import SubprocessServer

USERS = 100
PAGE = "/pipelines/default/ui"
STREAM = "/events/pipelines/default/ui"
FRAGMENT = "/fragments/pipelines/default/ui"
RBAC = [
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "pipeline-approver"},
        "rules": [
            {
                "apiGroups": ["pipelines.weave.works"],
                "resources": ["pipelines"],
                "verbs": ["get", "list", "watch", "approve", "reject"],
            }
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "pipeline-approvers"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "pipeline-approver",
        },
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "release-managers"}
        ],
    },
]


class Http:
    """One keep-alive HTTP/1.1 connection speaking just enough for these pages."""

    def __init__(self, url: str, cookie: str = "") -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookie = cookie
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names, last wins), body."""
        reader, writer = await self._open()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if self.cookie:
            lines.append(f"Cookie: {self.cookie}")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        found: dict[str, str] = {}
        cookies = []
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "set-cookie":
                cookies.append(value.strip().split(";", 1)[0])
            elif name:
                found[name.lower()] = value.strip()
        found["set-cookie"] = "; ".join(cookies)
        payload = await reader.readexactly(int(found.get("content-length", "0")))
        return status, found, payload

    async def close(self) -> None:
        """Close the connection."""
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None


async def sign_in(url: str, token: str) -> str:
    """The session cookie of a user signed in with ``token``."""
    http = Http(url)
    try:
        _, headers, page = await http.request("GET", "/signin")
        csrf = page.decode().split('name="csrf" value="')[1].split('"')[0]
        http.cookie = headers["set-cookie"]
        form = urlencode({"token": token, "csrf": csrf}).encode()
        status, headers, _ = await http.request(
            "POST",
            "/signin",
            form,
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": url},
        )
    finally:
        await http.close()
    if status != 303:
        raise RuntimeError(f"sign-in answered {status}")
    return next(c for c in headers["set-cookie"].split("; ") if c.startswith("ferryman_session="))


async def stream(
    url: str, cookie: str, seen: Callable[[bytes], None], ready: asyncio.Event
) -> None:
    """Read the page's event stream, telling ``seen`` about every chunk, until cancelled."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(
            f"GET {STREAM} HTTP/1.1\r\nHost: {parts.netloc}\r\nCookie: {cookie}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"the stream answered {head[:40]!r}")
        ready.set()
        while chunk := await reader.read(65536):
            seen(chunk)
    finally:
        writer.close()


async def set_dev(admin: fleet.Admin, revision: str) -> None:
    """helm-controller: dev's release ``ui`` is ready at ``revision``."""
    current = await admin.call("GET", fleet.helm_path("dev-0", "ui"))
    current["status"] = fleet.helm_status(current["metadata"]["generation"], revision)
    await admin.call("PUT", fleet.helm_path("dev-0", "ui") + "/status", current)


async def arrange(admin: fleet.Admin) -> None:
    """CRDs, namespaces, RBAC, 20 pipelines of 3 x 3 and ``ui`` (one target per environment)."""
    await fleet.install(admin)
    await admin.call("POST", "/api/v1/namespaces", {"metadata": {"name": "ferryman-system"}})
    await admin.call("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", RBAC[0])
    await admin.call("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", RBAC[1])
    await fleet.populate(admin, 0, 20)
    for env in fleet.ENVIRONMENTS:
        created = await admin.call(
            "POST", fleet.helm_path(f"{env}-0"), fleet.helm_release(f"{env}-0", "ui")
        )
        created["status"] = fleet.helm_status(created["metadata"]["generation"], "1.0.0")
        await admin.call("PUT", fleet.helm_path(f"{env}-0", "ui") + "/status", created)
    obj: dict[str, Any] = fleet.pipeline(0)
    obj["metadata"]["name"] = "ui"
    obj["spec"]["appRef"]["name"] = "ui"
    for environment in obj["spec"]["environments"]:
        environment["targets"] = environment["targets"][:1]
    await admin.call("POST", fleet.PIPELINES, obj)


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


async def sample_pages(url: str, cookies: list[str], count: int = 300) -> list[float]:
    """``count`` full page renders as the users in turn, every 20 ms; seconds each."""
    clients = [Http(url, cookie) for cookie in cookies]
    times = []
    try:
        for i in range(count):
            client = clients[i % len(clients)]
            started = time.perf_counter()
            status, _, body = await client.request("GET", PAGE)
            times.append(time.perf_counter() - started)
            if status != 200 or b"data-stream-url" not in body:
                raise RuntimeError(f"the page answered {status}")
            await asyncio.sleep(0.02)
    finally:
        for client in clients:
            await client.close()
    return times


async def changing(admin: fleet.Admin, stop: asyncio.Event, start: int) -> None:
    """Dev gets a new revision every second until ``stop``."""
    index = start
    while not stop.is_set():
        index += 1
        await set_dev(admin, f"1.1.{index}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def with_load(
    admin: fleet.Admin, url: str, cookies: list[str], load: Callable[[], Awaitable[None]], at: int
) -> list[float]:
    """Page samples while ``load`` runs and dev changes every second."""
    stop = asyncio.Event()
    background = [asyncio.ensure_future(load()), asyncio.ensure_future(changing(admin, stop, at))]
    try:
        await asyncio.sleep(1.0)
        return await sample_pages(url, cookies[:50])
    finally:
        stop.set()
        background[0].cancel()
        await asyncio.gather(*background, return_exceptions=True)


async def render_figures(admin: fleet.Admin, url: str, cookies: list[str]) -> None:
    """Page render p50/p99 with 50 users polling, then streaming."""

    async def polling() -> None:
        async def user(cookie: str, offset: float) -> None:
            client = Http(url, cookie)
            await asyncio.sleep(offset)
            try:
                while True:
                    await client.request("GET", FRAGMENT)
                    await asyncio.sleep(2.0)
            finally:
                await client.close()

        await asyncio.gather(*(user(c, i * 0.04) for i, c in enumerate(cookies[:50])))

    async def streaming() -> None:
        ready = [asyncio.Event() for _ in range(50)]
        await asyncio.gather(
            *(stream(url, c, lambda chunk: None, r) for c, r in zip(cookies, ready, strict=False))
        )

    for name, load, at in (("polling", polling, 100), ("streaming", streaming, 200)):
        times = await with_load(admin, url, cookies, load, at)
        print(
            f"UI pipeline page render with 50 signed-in users {name} (dev changes every second): "
            f"p50 {1000 * statistics.median(times):.1f} ms, "
            f"p99 {1000 * percentile(times, 0.99):.1f} ms, "
            f"max {1000 * max(times):.1f} ms over {len(times)} renders; "
            f"{production.load_average()}",
            flush=True,
        )


async def fan_out(admin: fleet.Admin, url: str, cookies: list[str], changes: int = 5) -> None:
    """One change at a time reaching 100 open streams."""
    arrived: dict[int, float] = {}
    marker = [b""]
    ready = [asyncio.Event() for _ in cookies]

    def seen_by(index: int) -> Callable[[bytes], None]:
        tail = [b""]

        def seen(chunk: bytes) -> None:
            text = tail[0] + chunk
            if marker[0] and marker[0] in text and index not in arrived:
                arrived[index] = time.perf_counter()
            tail[0] = text[-64:]

        return seen

    tasks = [
        asyncio.ensure_future(stream(url, cookie, seen_by(i), ready[i]))
        for i, cookie in enumerate(cookies)
    ]
    try:
        for event in ready:
            await asyncio.wait_for(event.wait(), 60)
        await asyncio.sleep(1.0)
        worst: list[float] = []
        for change in range(changes):
            revision = f"2.0.{change}"
            arrived.clear()
            marker[0] = f">{revision}<".encode()
            started = time.perf_counter()
            await set_dev(admin, revision)
            deadline = time.monotonic() + 30
            while len(arrived) < len(cookies) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.005)  # the readers record arrivals; no event per arrival
            delays = [arrived[i] - started for i in sorted(arrived)]
            worst.append(max(delays) if len(delays) == len(cookies) else float("inf"))
            print(
                f"UI one change -> {len(cookies)} SSE clients: {len(delays)} reached, first "
                f"{1000 * min(delays):.0f} ms, median {1000 * statistics.median(delays):.0f} ms, "
                f"last {1000 * max(delays):.0f} ms after the HelmRelease write; "
                f"{production.load_average()}",
                flush=True,
            )
            await asyncio.sleep(2.0)
        print(f"UI fan-out worst of {changes}: {1000 * max(worst):.0f} ms", flush=True)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run(base: Path) -> None:
    """Both parts against one API server and one controller."""
    tokens = base / "tokens.csv"
    users = [(f"user-{i}", f"token-{i:04d}-{'x' * 24}") for i in range(USERS)]
    tokens.write_text(
        "".join(f'{token},{name},{name},"release-managers"\n' for name, token in users)
    )
    server = SubprocessServer(base / "api", token_file=tokens)
    admin = fleet.Admin(server.url, server.token, server.data_dir / "tls.crt")
    try:
        await arrange(admin)
        with production.controller(server.kubeconfig_path, "--log-level=warning") as ctl:
            print(
                "UI path: ferryman controller (process) + ferryman apiserver (process); raw "
                "HTTP/1.1 clients on asyncio sockets in the benchmark process",
                flush=True,
            )
            cookies = [await sign_in(ctl.url, token) for _, token in users]
            await render_figures(admin, ctl.url, cookies)
            await fan_out(admin, ctl.url, cookies)
    finally:
        await admin.close()
        server.stop()


def main() -> None:
    """Print the machine, run."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print(production.machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="ferryman-ui-") as tmp:
        asyncio.run(run(Path(tmp)))


if __name__ == "__main__":
    main()
