"""What a request to Ferryman's HTTP server costs the Kubernetes API server, counted by the API
server itself (``apiserver_request_total``): nothing, in the steady state.

The server runs as ``ferryman controller`` composes it (``production.running``): Pipelines from
the controller's informers, webhook keys from the Secret cache, reviews from the auth caches, and
the reconciles that valid events trigger read from the informer cache too.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import httpx
from tests.integration.controller.conftest import deploy, pipeline_object, prepare
from tests.integration.kube import Kube
from tests.security import servers
from tests.unit.server import harness

from ferryman.domain import signatures
from ferryman.embedded.apiserver import testing

from . import production

HOOK = "/promotion/default/podinfo"


async def arrange(kube: Kube) -> None:
    """A signed Pipeline (its key in Secret ``webhook``) whose environments all run 6.0.0."""
    await prepare(kube)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "webhook", "namespace": "default"},
        "data": {"hmac-key": base64.b64encode(harness.KEY).decode()},
    }
    await kube.create(secret)
    obj = pipeline_object(api_version="helm.toolkit.fluxcd.io/v2")
    obj["spec"]["promotion"]["strategy"]["secretRef"] = {"name": "webhook"}
    await kube.create(obj)
    for namespace in ("dev", "staging", "prod"):
        await deploy(kube, namespace, "6.0.0")


def burst() -> list[tuple[str, bytes, dict[str, str], int]]:
    """(path, body, headers, expected status) of every kind of webhook request."""
    event = harness.flux_event(revision="6.0.0")
    signed = {"X-Signature": signatures.sign(harness.KEY, event)}
    forged = {"X-Signature": signatures.sign(b"not-the-key", event)}
    other = harness.flux_event(revision="6.0.1")
    requests: list[tuple[str, bytes, dict[str, str], int]] = []
    for _ in range(60):
        requests += [
            (f"{HOOK}/dev", event, signed, 202),
            (f"{HOOK}/dev", other, {"X-Signature": signatures.sign(harness.KEY, other)}, 202),
            (f"{HOOK}/dev", event, forged, 401),
            (f"{HOOK}/dev", event, {}, 401),
            (f"{HOOK}/dev", event, {"X-Signature": "sha256=zz"}, 401),
            (f"{HOOK}/nowhere", event, signed, 401),
            ("/promotion/default/no-such-pipeline/dev", event, signed, 401),
            ("/promotion/elsewhere/podinfo/dev", event, signed, 401),
        ]
    return requests


async def send_all(url: str, requests: list[tuple[str, bytes, dict[str, str], int]]) -> list[int]:
    """POST every request, 8 at a time; the statuses in order."""
    gate = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=url) as http:

        async def one(path: str, body: bytes, headers: dict[str, str]) -> int:
            async with gate:
                return (await http.post(path, content=body, headers=headers)).status_code

        return list(
            await asyncio.gather(*(one(path, body, headers) for path, body, headers, _ in requests))
        )


async def test_a_burst_of_webhook_requests_costs_the_api_server_nothing(tmp_path: Path) -> None:
    """480 requests — valid, forged, unsigned, malformed, unknown environment, unknown pipeline,
    unknown namespace — and the reconciles the valid ones trigger: zero API requests."""
    with testing.serve(tmp_path / "api") as api:
        kube = Kube(api.kubeconfig_path)
        try:
            await arrange(kube)
            async with production.running(api) as server:
                await production.settle(server.controller)
                warm = burst()[:8]  # the first of each kind loads the Secret cache
                assert await send_all(server.url, warm) == [want for *_, want in warm]
                await production.settle(server.controller)
                before = await production.api_requests(kube)
                passes = server.controller.reconciler.counters.passes
                requests = burst()
                statuses = await send_all(server.url, requests)
                await production.settle(server.controller)
                after = await production.api_requests(kube)
                assert statuses == [want for *_, want in requests]
                assert server.controller.reconciler.counters.passes > passes  # events triggered
                assert production.resource_requests(before, after) == {}
        finally:
            await kube.close()


async def test_the_pages_of_signed_in_users_cost_the_api_server_nothing(tmp_path: Path) -> None:
    """Five users, each viewing the pipeline page, its live fragment and the list ten times:
    after each user's first view, no TokenReview, SubjectAccessReview or read."""
    users = {f"user{i}": (f"token-{i}", "release-managers") for i in range(5)}
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(
        "".join(f'{token},{user},{user},"{groups}"\n' for user, (token, groups) in users.items())
    )
    with testing.serve(tmp_path / "api", token_file=tokens) as api:
        kube = Kube(api.kubeconfig_path)
        try:
            await arrange(kube)
            await kube.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ferryman-system"}}
            )
            for rbac in servers.APPROVER_RBAC:  # release-managers: get, list, approve, reject
                await kube.create(rbac)
            async with production.running(api) as server:
                await production.settle(server.controller)
                browsers = [await signed_in(server.url, token) for token, _ in users.values()]
                pages = ["/", "/pipelines/default/podinfo", "/fragments/pipelines/default/podinfo"]
                for browser in browsers:  # each user's first views fill the caches
                    for page in pages:
                        assert (await browser.get(page)).status_code == 200
                before = await production.api_requests(kube)
                for _ in range(10):
                    for browser in browsers:
                        for page in pages:
                            answer = await browser.get(page)
                            assert answer.status_code == 200, answer.text
                            assert "podinfo" in answer.text
                after = await production.api_requests(kube)
                for browser in browsers:
                    await browser.aclose()
                assert production.resource_requests(before, after) == {}
        finally:
            await kube.close()


def cookies(answer: httpx.Response) -> dict[str, str]:
    """The cookies an answer sets (kept by hand: they are ``Secure``, the server speaks HTTP)."""
    found = {}
    for name, value in answer.headers.multi_items():
        if name == "set-cookie":
            key, _, rest = value.partition("=")
            found[key] = rest.split(";", 1)[0].strip('"')
    return found


async def signed_in(url: str, token: str) -> httpx.AsyncClient:
    """A browser-like client signed in to the UI with ``token``."""
    async with httpx.AsyncClient(base_url=url) as http:
        page = await http.get("/signin")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        answer = await http.post(
            "/signin",
            data={"token": token, "csrf": csrf},
            headers={"Cookie": f"ferryman_csrf={cookies(page)['ferryman_csrf']}"},
        )
    assert answer.status_code == 303, answer.text
    session = cookies(answer)["ferryman_session"]
    return httpx.AsyncClient(base_url=url, headers={"Cookie": f"ferryman_session={session}"})
