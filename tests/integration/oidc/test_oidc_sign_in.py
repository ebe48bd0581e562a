"""OIDC sign-in end to end, with an OpenID Provider nobody here wrote (``oidc-provider-mock``).

The mock is the issuer of an embedded API server (kube-apiserver's ``--oidc-*`` defaults: user
``<issuer>#<sub>``, groups from ``groups`` prefixed ``oidc:``); the real Ferryman server (as
``ferryman controller`` composes it) offers "Sign in with" the mock. A browser-like httpx client
follows every real redirect: pipeline page → sign-in → the provider → its login form → the
callback → the page it came from, signed in, where the user approves (RBAC granted to the
OIDC group).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from tests.integration.kube import Kube
from tests.integration.oidc.browser import Browser
from tests.security import servers

from ferryman.bootstrap import process
from ferryman.embedded.apiserver import oidc
from ferryman.embedded.apiserver.server import EmbeddedApiServer, ServerConfig
from ferryman.settings import Settings

PAGE = "/pipelines/default/podinfo"
GROUP_RBAC = [
    dict(obj, subjects=[{**obj["subjects"][0], "name": "oidc:release-managers"}])
    if obj["kind"] == "ClusterRoleBinding"
    else obj
    for obj in servers.APPROVER_RBAC
]
# The mock uses authlib APIs authlib deprecates (its jose module, get_jwt_config): its warnings.
pytestmark = [
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::authlib.deprecate.AuthlibDeprecationWarning"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def issuer() -> Iterator[str]:
    """oidc-provider-mock on a free port, with alice a release manager."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # see pytestmark
        import oidc_provider_mock

    alice = oidc_provider_mock.User(
        sub="alice", claims={"preferred_username": "alice", "groups": ["release-managers"]}
    )
    with oidc_provider_mock.run_server_in_thread(require_nonce=True, user_claims=[alice]) as srv:
        yield f"http://localhost:{srv.server_port}"


@contextlib.contextmanager
def api_server(data: Path, issuer: str) -> Iterator[EmbeddedApiServer]:
    trusted = oidc.Options(
        issuer_url=issuer, client_id="ferryman", groups_claim="groups", groups_prefix="oidc:"
    )
    server = EmbeddedApiServer(ServerConfig(data_dir=data, port=0, oidc=trusted)).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def ferryman(kubeconfig: Path, issuer: str) -> AsyncIterator[str]:
    """The real server on a port chosen first (the redirect URI must be known up front)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    chosen = Settings(
        kubeconfig=str(kubeconfig),
        http_addr=f"127.0.0.1:{port}",
        oidc_issuer_url=issuer,
        oidc_client_id="ferryman",
        oidc_client_secret="the-mock-takes-any-secret",  # a confidential client (Basic auth)
        oidc_display_name="the mock",
        oidc_redirect_url=f"{url}/signin/oidc/callback",
        oidc_scopes=("openid", "profile"),
    )
    controller = process.build_controller(chosen)
    await controller.manager.start(servers.observe_only)  # the UI reads its informers
    server = uvicorn.Server(process.server_config(chosen, controller))
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # uvicorn offers no started event; it starts within milliseconds
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    try:
        yield url
    finally:
        server.should_exit = True
        await task
        await controller.stop()


async def setup(api: EmbeddedApiServer) -> None:
    kube = Kube(api.kubeconfig_path)
    try:
        await kube.apply_file(servers.CRD)
        for obj in GROUP_RBAC:
            await kube.create(obj)
        system = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ferryman-system"}}
        await kube.create(system)  # the UI's session Secret lives there
        waiting = servers.waiting_pipeline()
        prod = waiting["spec"]["environments"][1]["promotion"]["approval"]
        prod["approvers"]["groups"] = ["oidc:release-managers"]  # as the API server names it
        status = waiting.pop("status")
        created = await kube.create(waiting)
        await kube.put_status({**created, "status": status})
    finally:
        await kube.close()


def sign_in_through_the_provider(browser: Browser, ui: str, page: str) -> Any:
    """Open ``page`` signed out and follow the real redirects through the provider."""
    client = browser.client
    answer = client.get(ui + page)
    assert str(answer.url).startswith(f"{ui}/signin?next="), answer.url
    link = re.search(r'id="oidc-sign-in" href="([^"]+)"', answer.text)
    assert link is not None and "Sign in with the mock" in answer.text
    form = client.get(ui + link.group(1).replace("&amp;", "&"))
    assert "localhost" in str(form.url) and form.status_code == 200, form.text
    landed = client.post(str(form.url), data={"sub": "alice"})  # the mock's login form
    assert str(landed.url).startswith(f"{ui}/signin/oidc/callback?"), landed.url
    return landed


async def test_a_user_signs_in_through_the_provider_and_lands_back_on_the_page(
    tmp_path: Path, issuer: str
) -> None:
    with api_server(tmp_path / "api", issuer) as api:
        await setup(api)
        async with ferryman(api.kubeconfig_path, issuer) as ui:
            browser = Browser()
            try:
                landed = await asyncio.to_thread(sign_in_through_the_provider, browser, ui, PAGE)
                assert landed.status_code == 200, landed.text
                refresh = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', landed.text)
                assert refresh is not None and refresh.group(1) == PAGE
                page = await asyncio.to_thread(browser.client.get, ui + refresh.group(1))
                user = f"{issuer}#alice"
                assert f"Signed in as <strong>{user}</strong>" in page.text
                assert "Approve 6.2.0" in page.text  # RBAC granted to group oidc:release-managers
                csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
                assert csrf is not None
                approved = await asyncio.to_thread(
                    browser.client.post,
                    f"{ui}{PAGE}/environments/prod/decide",
                    data={"action": "approve", "revision": "6.2.0", "csrf": csrf.group(1)},
                    headers={"Origin": ui},
                )
                assert approved.status_code == 200
                assert str(approved.url) == (
                    f"{ui}{PAGE}?done=approve&environment=prod&revision=6.2.0"
                )
                assert "You approved 6.2.0 into prod." in approved.text
            finally:
                browser.close()
        kube = Kube(api.kubeconfig_path)
        try:
            obj = await kube.get(servers.API_VERSION, "Pipeline", "default", "podinfo")
        finally:
            await kube.close()
        approvals = obj["status"]["environments"]["prod"]["promotion"]["approvals"]
        assert [a["user"] for a in approvals] == [user]
        assert "oidc:release-managers" in approvals[0]["groups"]


async def test_an_api_server_that_trusts_another_client_refuses_the_id_token(
    tmp_path: Path, issuer: str
) -> None:
    """The UI verified the token for client "ferryman"; the API server expects "kubernetes":
    TokenReview says no, so nobody is signed in."""
    trusted = oidc.Options(issuer_url=issuer, client_id="kubernetes")
    server = EmbeddedApiServer(ServerConfig(data_dir=tmp_path / "api", port=0, oidc=trusted))
    with contextlib.closing(_Stopper(server.start())):
        await setup(server)
        async with ferryman(server.kubeconfig_path, issuer) as ui:
            browser = Browser()
            try:
                landed = await asyncio.to_thread(sign_in_through_the_provider, browser, ui, PAGE)
            finally:
                browser.close()
            assert landed.status_code == 401
            assert "did not accept the ID token" in landed.text


class _Stopper:
    def __init__(self, server: EmbeddedApiServer) -> None:
        self.server = server

    def close(self) -> None:
        self.server.stop()
