"""Issue 16, item 8: a session cookie must not be the token, and sign-out must end every copy.

The review found the raw API token in the cookie, sign-out that only deleted the cookie (a copy kept
working) and a CSRF token neither bound to the session nor rotated at sign-in. Here two replicas
of the real server run, as the controller's service account under exactly the install's RBAC, over
one embedded API server: a user signs in on one, the copied cookie works on the other, sign-out on
the second ends it on the first, and no request of either replica is denied.
"""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path

import httpx
import yaml
from tests.integration.install.conftest import NAMESPACE, SERVICE_ACCOUNT, render
from tests.integration.install.rbac_store import ManifestRBAC, authorizer
from tests.integration.kube import Kube
from tests.security import servers

from ferryman.adapters.kubernetes import cluster as cluster_adapter
from ferryman.adapters.kubernetes import sessions as ui_sessions
from ferryman.embedded.apiserver import testing

TOKEN = "alice-token-0123456789abcdef"
CONTROLLER = "controller-token-0123456789"


class Browser:
    """Cookies kept by hand: they are ``Secure`` and the replicas speak plain HTTP on loopback."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    async def go(self, url: str, method: str = "GET", **form: str) -> httpx.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.request(
                method, url, data=form or None, headers=headers, follow_redirects=False
            )
        for name, value in answer.headers.multi_items():
            if name == "set-cookie":
                key, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0].strip('"')
                if "Max-Age=0" in value or "expires=Thu, 01 Jan 1970" in value or not cookie_value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = cookie_value
        return answer

    async def form_token(self, url: str) -> str:
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', (await self.go(url)).text)
        assert found is not None
        return found.group(1)


def service_account_kubeconfig(admin: Path, target: Path) -> Path:
    """The admin kubeconfig, authenticating as the controller's service account instead."""
    config = yaml.safe_load(admin.read_text())
    config["users"][0]["user"] = {"token": CONTROLLER}
    target.write_text(yaml.safe_dump(config))
    return target


async def test_item8_two_replicas_share_sessions_and_sign_out_ends_every_copy(
    tmp_path: Path,
) -> None:
    """Sign in on A; the cookie holds no token; it works on B; sign out on B; the copy is refused
    on A as soon as A's watch sees the sign-out; CSRF rotates at sign-in."""
    users = {
        "alice": (TOKEN, "release-managers"),
        f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}": (
            CONTROLLER,
            f"system:serviceaccounts,system:serviceaccounts:{NAMESPACE}",
        ),
    }
    denied: list[str] = []
    with testing.serve(
        tmp_path / "api", token_file=servers.token_file(tmp_path / "t", users)
    ) as api:
        kube = Kube(api.kubeconfig_path)
        try:
            await kube.apply_file(servers.CRD)
            for rbac in servers.APPROVER_RBAC:
                await kube.create(rbac)
            await kube.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
            )
        finally:
            await kube.close()
        api.app.authorizer = authorizer(ManifestRBAC(render().objects), denied)
        sa = service_account_kubeconfig(api.kubeconfig_path, tmp_path / "sa.kubeconfig")
        async with servers.replica(sa) as a, servers.replica(sa) as b:
            browser = Browser()
            before = await browser.form_token(f"{a}/signin")
            signed_in = await browser.go(f"{a}/signin", "POST", token=TOKEN, csrf=before)
            assert signed_in.status_code == 303, signed_in.text
            cookie = browser.cookies["ferryman_session"]
            assert TOKEN not in cookie
            assert base64.b64encode(TOKEN.encode()).decode()[:20] not in cookie
            assert base64.urlsafe_b64encode(TOKEN.encode()).decode()[:20] not in cookie

            on_b = await browser.go(f"{b}/")
            assert on_b.status_code == 200 and "alice" in on_b.text
            stale = await browser.go(f"{b}/signout", "POST", csrf=before)
            assert stale.status_code == 403  # the pre-sign-in CSRF token is spent
            copied = dict(browser.cookies)
            csrf = await browser.form_token(f"{b}/")
            out = await browser.go(f"{b}/signout", "POST", csrf=csrf)
            assert (out.status_code, out.headers["location"]) == (303, "/signin")

            thief = Browser()
            thief.cookies = copied
            for _ in range(100):  # A learns of the sign-out through its watch of the Secret
                answer = await thief.go(f"{a}/")
                if answer.status_code == 303:
                    break
                await asyncio.sleep(0.1)
            assert answer.status_code == 303 and answer.headers["location"] == "/signin"
            assert (await thief.go(f"{b}/")).status_code == 303
    assert denied == []


async def test_item8_revocation_list_drops_expired_entries_and_fails_closed_when_full(
    tmp_path: Path,
) -> None:
    """Sign-outs past their expiry leave the list; a full list voids every session issued so far
    instead of forgetting a sign-out (the Secret stays small, nothing revoked comes back)."""
    now = [1_800_000_000.0]
    with testing.serve(tmp_path / "api") as api:
        kube = Kube(api.kubeconfig_path)
        try:
            await kube.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
            )
        finally:
            await kube.close()
        local = cluster_adapter.LightkubeCluster.connect("", path=str(api.kubeconfig_path))
        store = ui_sessions.SecretSessionStore(
            local.client, namespace=NAMESPACE, clock=lambda: now[0], max_revoked=2
        )
        try:
            first = await store.current()
            await store.revoke("a" * 22, int(now[0]) + 10)
            now[0] += 20  # the first sign-out's session has expired meanwhile
            await store.revoke("b" * 22, int(now[0]) + 10)
            state = await store.current()
            assert set(state.revoked) == {"b" * 22} and state.key == first.key
            await store.revoke("c" * 22, int(now[0]) + 10)
            await store.revoke("d" * 22, int(now[0]) + 10)  # the list is full
            state = await store.current()
            assert state.revoked == {} and state.not_before == int(now[0]) + 1
            assert not state.valid("e" * 22, int(now[0]))
        finally:
            await store.close()
            await local.close()
