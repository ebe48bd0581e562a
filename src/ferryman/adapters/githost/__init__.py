"""Git hosting services behind one ``ports.git.GitHost`` port: one module per provider.

Every provider module has the same shape — ``api_root``/``locate`` (repository URL → API URL),
``headers``, pure ``list_call``/``create_call``/``update_call`` builders, ``parse`` (JSON →
``PullRequest``), a ``*Host`` class with ``find_pull_requests``/``create_pull_request``/
``update_pull_request``, and ``connect`` — and sends through ``http.Api`` (timeouts, pacing,
error classification in ``errors``). ``Hosts`` picks the module by the spec's provider type.
"""

from __future__ import annotations

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


class Hosts:
    """Builds ``GitHost``s sharing one HTTP client and one pacer (implements ``GitHosts``)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        pacer: base.Pacer | None = None,
        options: http.Options | None = None,
    ) -> None:
        self._client = client
        self._pacer = pacer or base.Pacer()
        self._options = options or http.Options()

    def host(self, kind: str, url: str, *, token: str) -> git.GitHost:
        connect = PROVIDERS.get(kind)
        if connect is None:
            known = ", ".join(sorted(PROVIDERS))
            raise errors.PermanentError(
                f'unknown pull request provider "{kind}" (known: {known})',
                reason="InvalidProvider",
            )
        return connect(self._client, url, token=token, pacer=self._pacer, options=self._options)
