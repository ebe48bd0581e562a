"""Git hosting services behind one ``ports.git.GitHost`` port: one module per provider.

Every provider module has the same shape — ``api_root``/``locate`` (repository URL → API URL),
``headers``, pure ``list_call``/``create_call``/``update_call`` builders, ``parse`` (JSON →
``PullRequest``), the commit-status call builders and parsers (JSON → ``CommitStatus``), a
``*Host`` class with ``find_pull_requests``/``create_pull_request``/``update_pull_request``/
``commit_statuses``, and ``connect`` — and sends through ``http.Api`` (timeouts, pacing,
error classification in ``errors``). ``Hosts`` picks the module by the spec's provider type.

A Secret's ``ca.crt`` applies to the API as it does to Git: such hosts get a client that trusts
that CA as well as the system's (one per CA, made by an injectable factory and kept).
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Callable
from typing import Final

import httpx

from ferryman.adapters.githost import (
    azure_devops,
    base,
    bitbucket_server,
    gitea,
    github,
    gitlab,
    http,
)
from ferryman.domain import errors
from ferryman.ports import git

Connect = Callable[..., git.GitHost]
PROVIDERS: Final[dict[str, Connect]] = {
    github.KIND: github.connect,
    gitlab.KIND: gitlab.connect,
    bitbucket_server.KIND: bitbucket_server.connect,
    azure_devops.KIND: azure_devops.connect,
    gitea.KIND: gitea.connect,
}


ClientFactory = Callable[[str], httpx.AsyncClient]


def trusting_client(ca: str) -> httpx.AsyncClient:
    """A client that trusts the system's certificate authorities and ``ca`` (PEM)."""
    context = ssl.create_default_context()
    context.load_verify_locations(cadata=ca)
    return httpx.AsyncClient(verify=context)


class Hosts:
    """Builds ``GitHost``s sharing HTTP clients and one pacer (implements ``GitHosts``)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        pacer: base.Pacer | None = None,
        options: http.Options | None = None,
        client_for_ca: ClientFactory = trusting_client,
    ) -> None:
        self._client = client
        self._pacer = pacer or base.Pacer()
        self._options = options or http.Options()
        self._client_for_ca = client_for_ca
        self._ca_clients: dict[str, httpx.AsyncClient] = {}

    def host(
        self,
        kind: str,
        url: str,
        *,
        token: str,
        server_url: str | None = None,
        ca: str | None = None,
    ) -> git.GitHost:
        connect = PROVIDERS.get(kind)
        if connect is None:
            known = ", ".join(sorted(PROVIDERS))
            raise errors.PermanentError(
                f'unknown pull request provider "{kind}" (known: {known})',
                reason="InvalidProvider",
            )
        return connect(
            self._client_for(ca),
            url,
            token=token,
            pacer=self._pacer,
            options=self._options,
            server_url=server_url,
        )

    def _client_for(self, ca: str | None) -> httpx.AsyncClient:
        if not ca:
            return self._client
        key = hashlib.sha256(ca.encode("utf-8")).hexdigest()
        if key not in self._ca_clients:
            try:
                self._ca_clients[key] = self._client_for_ca(ca)
            except ssl.SSLError as exc:
                raise errors.PermanentError(
                    'the "ca.crt" in the credentials Secret is not a PEM certificate',
                    reason="CredentialsInvalid",
                ) from exc
        return self._ca_clients[key]

    async def aclose(self) -> None:
        """Close the clients made for CAs (the shared one belongs to whoever passed it)."""
        for client in self._ca_clients.values():
            await client.aclose()
        self._ca_clients.clear()
