"""Provider request building and answer classification, without a network.

URL → API root per provider (https only, plain http for 127.0.0.1), the documented request
shapes each module builds, and how HTTP answers become Temporary/Permanent errors with reasons
and delays (``httpx.MockTransport``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from ferryman.adapters import githost
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

NOW = 1_800_000_000.0
HTTP_DATE = "Fri, 15 Jan 2027 08:00:40 GMT"  # NOW + 40 s
EXHAUSTED = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 90)}


@pytest.mark.parametrize(
    ("kind", "url", "root"),
    [
        (
            "github",
            "https://github.com/acme/deploy.git",
            "https://api.github.com/repos/acme/deploy",
        ),
        (
            "github",
            "https://ghe.example.com/acme/deploy",
            "https://ghe.example.com/api/v3/repos/acme/deploy",
        ),
        (
            "github",
            "http://127.0.0.1:8080/acme/deploy.git",
            "http://127.0.0.1:8080/api/v3/repos/acme/deploy",
        ),
        (
            "gitlab",
            "https://gitlab.com/group/sub/deploy.git",
            "https://gitlab.com/api/v4/projects/group%2Fsub%2Fdeploy",
        ),
        (
            "bitbucket-server",
            "https://bb.example.com/scm/OPS/deploy.git",
            "https://bb.example.com/rest/api/1.0/projects/OPS/repos/deploy",
        ),
        (
            "bitbucket-server",
            "https://bb.example.com/ctx/scm/OPS/deploy.git",
            "https://bb.example.com/ctx/rest/api/1.0/projects/OPS/repos/deploy",
        ),
        (
            "azure-devops",
            "https://dev.azure.com/acme/platform/_git/deploy",
            "https://dev.azure.com/acme/platform/_apis/git/repositories/deploy",
        ),
        (
            "azure-devops",
            "https://acme@dev.azure.com/acme/platform/_git/deploy",
            "https://dev.azure.com/acme/platform/_apis/git/repositories/deploy",
        ),
        (
            "gitea",
            "https://git.example.com/acme/deploy.git",
            "https://git.example.com/api/v1/repos/acme/deploy",
        ),
    ],
    ids=lambda value: value if "://" not in value else None,
)
def test_the_api_root_derives_from_the_repository_url(kind: str, url: str, root: str) -> None:
    """One base URL serves Git and the API, as on every supported host."""
    roots = {
        "github": github.api_root,
        "gitlab": gitlab.api_root,
        "bitbucket-server": lambda u: bitbucket_server.locate(u)[0],
        "azure-devops": lambda u: azure_devops.locate(u)[0],
        "gitea": gitea.api_root,
    }
    assert roots[kind](url) == root


@pytest.mark.parametrize(
    "url",
    [
        "http://git.example.com/acme/deploy.git",  # clear text off loopback
        "https://user:secret@github.com/acme/deploy.git",  # a password in the URL
        "ftp://github.com/acme/deploy.git",
        "https://github.com/acme",  # no repository
    ],
)
def test_unusable_urls_are_refused_with_a_reason(url: str) -> None:
    """The spec error is permanent and never echoes a password."""
    with pytest.raises(errors.PermanentError) as raised:
        github.api_root(url)
    assert raised.value.reason == "InvalidRepositoryURL"
    assert "secret" not in str(raised.value)


async def test_an_unknown_provider_is_a_permanent_error() -> None:
    """Admission should stop it; if it gets through, the record says why it stalls."""
    async with httpx.AsyncClient() as client:
        with pytest.raises(errors.PermanentError) as raised:
            githost.Hosts(client).host("sourceforge", "https://example.com/a/b", token="t")
    assert raised.value.reason == "InvalidProvider"


def test_documented_request_shapes() -> None:
    """Each provider's create call carries exactly the fields its API documents."""
    assert github.create_call(head="h", base_branch="main", title="t", body="b").json == {
        "title": "t",
        "head": "h",
        "base": "main",
        "body": "b",
    }
    assert gitlab.create_call(head="h", base_branch="main", title="t", body="b").json == {
        "source_branch": "h",
        "target_branch": "main",
        "title": "t",
        "description": "b",
    }
    bitbucket = bitbucket_server.create_call(
        key="OPS", slug="deploy", head="h", base_branch="main", title="t", body="b"
    ).json
    assert bitbucket["fromRef"] == {
        "id": "refs/heads/h",
        "repository": {"slug": "deploy", "project": {"key": "OPS"}},
    }
    assert bitbucket["toRef"]["id"] == "refs/heads/main"
    azure = azure_devops.create_call(
        head="h", base_branch="main", title="t", body="x" * 5000, version="7.1"
    )
    assert azure.params == {"api-version": "7.1"}
    assert len(azure.json["description"]) == azure_devops.MAX_BODY
    assert azure.json["sourceRefName"] == "refs/heads/h"
    assert gitea.list_call(page=2).params["state"] == "all"
    update = bitbucket_server.update_call(3, version=7, title="t", body="b", reviewers=("ann",))
    assert update.json["version"] == 7
    assert update.json["reviewers"] == [{"user": {"name": "ann"}}]
    assert all(
        call.creating
        for call in (
            github.update_call(1, title="t", body="b"),
            gitlab.update_call(1, title="t", body="b"),
            azure_devops.update_call(1, title="t", body="b", version="6.0"),
            gitea.update_call(1, title="t", body="b"),
        )
    )


def _api(handler: Any, pacer: base.Pacer | None = None) -> http.Api:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return http.Api(
        client,
        provider="GitHub",
        root="https://api.github.com/repos/acme/deploy",
        headers={},
        token="tok-secret",
        pacer=pacer or base.Pacer(),
        options=http.Options(clock=lambda: NOW),
    )


@pytest.mark.parametrize(
    ("status", "headers", "kind", "reason", "delay"),
    [
        (502, {}, errors.TemporaryError, "ProviderUnavailable", None),
        (503, {"Retry-After": "30"}, errors.TemporaryError, "ProviderUnavailable", 30),
        (429, {"Retry-After": HTTP_DATE}, errors.TemporaryError, "RateLimited", 40),
        (403, EXHAUSTED, errors.TemporaryError, "RateLimited", 90),
        (429, {}, errors.TemporaryError, "RateLimited", 60),
        (409, {}, errors.TemporaryError, "Conflict", None),
        (401, {}, errors.PermanentError, "CredentialsInvalid", None),
        (403, {}, errors.PermanentError, "PermissionDenied", None),
        (404, {}, errors.PermanentError, "RepositoryNotFound", None),
        (422, {}, errors.PermanentError, "ValidationFailed", None),
        (410, {}, errors.PermanentError, "RequestRejected", None),
    ],
)
async def test_answers_become_errors_with_reasons_and_delays(
    status: int,
    headers: dict[str, str],
    kind: type[errors.PromotionError],
    reason: str,
    delay: int | None,
) -> None:
    """The retry meaning is in the type; the provider's delay hint is honoured exactly."""
    body = {"message": "echo tok-secret", "errors": [{"message": "detail"}]}
    api = _api(lambda request: httpx.Response(status, json=body, headers=headers))

    with pytest.raises(errors.PromotionError) as raised:
        await api.send(http.Call("GET", "/pulls"))

    assert type(raised.value) is kind
    assert raised.value.reason == reason
    if isinstance(raised.value, errors.TemporaryError):
        assert raised.value.delay == (None if delay is None else timedelta(seconds=delay))
    assert f"GitHub API answered {status} to GET /repos/acme/deploy/pulls" in str(raised.value)
    assert "tok-secret" not in str(raised.value)


async def test_a_pagination_link_to_another_host_is_not_followed() -> None:
    """The token is never sent to an origin other than the repository's API."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=[])

    with pytest.raises(errors.TemporaryError):
        await _api(handler).send(http.Call("GET", url="https://evil.example.com/steal"))
    assert seen == []


async def test_a_connection_failure_is_temporary() -> None:
    """Refused connections and DNS failures are retried later."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(errors.TemporaryError) as raised:
        await _api(handler).send(http.Call("GET", "/pulls"))
    assert raised.value.reason == "ProviderUnavailable"


@pytest.mark.parametrize(
    ("kind", "url", "server_url", "root"),
    [
        pytest.param(
            "github",
            "git@github.com:acme/deploy.git",
            None,
            "https://api.github.com/repos/acme/deploy",
            id="github ssh (item 7)",
        ),
        pytest.param(
            "github",
            "https://octo.ghe.com/acme/deploy",
            None,
            "https://api.octo.ghe.com/repos/acme/deploy",
            id="ghe.com data residency (item 14)",
        ),
        pytest.param(
            "github",
            "ssh://git@ghe.example.com:2222/acme/deploy.git",
            None,
            "https://ghe.example.com/api/v3/repos/acme/deploy",
            id="enterprise server ssh (item 7)",
        ),
        pytest.param(
            "gitlab",
            "git@gitlab.example.com:group/sub/deploy.git",
            "https://gitlab.example.com/gitlab",
            "https://gitlab.example.com/gitlab/api/v4/projects/group%2Fsub%2Fdeploy",
            id="gitlab ssh with serverURL sub-path (items 7, 14)",
        ),
        pytest.param(
            "bitbucket-server",
            "ssh://git@bb.example.com:7999/ops/deploy.git",
            "https://bb.example.com/bitbucket",
            "https://bb.example.com/bitbucket/rest/api/1.0/projects/OPS/repos/deploy",
            id="bitbucket ssh, lower-case key (items 7, 13)",
        ),
        pytest.param(
            "bitbucket-server",
            "https://bb.example.com/scm/~jdoe/deploy.git",
            None,
            "https://bb.example.com/rest/api/1.0/projects/~jdoe/repos/deploy",
            id="bitbucket personal project stays as written (item 13)",
        ),
        pytest.param(
            "azure-devops",
            "git@ssh.dev.azure.com:v3/acme/platform/deploy",
            None,
            "https://dev.azure.com/acme/platform/_apis/git/repositories/deploy",
            id="azure ssh (item 7)",
        ),
        pytest.param(
            "azure-devops",
            "https://dev.azure.com/acme/_git/deploy",
            None,
            "https://dev.azure.com/acme/deploy/_apis/git/repositories/deploy",
            id="azure without project segment (item 12)",
        ),
        pytest.param(
            "azure-devops",
            "https://tfs.example.com/tfs/DefaultCollection/_git/deploy",
            None,
            "https://tfs.example.com/tfs/DefaultCollection/deploy/_apis/git/repositories/deploy",
            id="azure server without project segment (item 12)",
        ),
        pytest.param(
            "gitea",
            "git@git.example.com:acme/deploy.git",
            "https://git.example.com/forge",
            "https://git.example.com/forge/api/v1/repos/acme/deploy",
            id="gitea ssh with sub-path (item 7)",
        ),
    ],
)
def test_api_roots_from_ssh_urls_and_server_urls(
    kind: str, url: str, server_url: str | None, root: str
) -> None:
    """The API is derived per provider from SSH URLs too, or taken from ``serverURL``."""
    roots = {
        "github": lambda u, s: github.api_root(u, server_url=s),
        "gitlab": lambda u, s: gitlab.api_root(u, server_url=s),
        "bitbucket-server": lambda u, s: bitbucket_server.locate(u, server_url=s)[0],
        "azure-devops": lambda u, s: azure_devops.locate(u, server_url=s)[0],
        "gitea": lambda u, s: gitea.api_root(u, server_url=s),
    }
    assert roots[kind](url, server_url) == root


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        pytest.param(
            403,
            {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."},
            "RateLimited",
            id="github 403 secondary limit without headers (item 10)",
        ),
        pytest.param(
            422,
            {
                "message": "Validation Failed",
                "errors": [{"message": "A pull request already exists for acme:ferryman/x."}],
            },
            "Conflict",
            id="github 422 already exists (item 10)",
        ),
    ],
)
async def test_github_answers_that_mean_wait(status: int, body: Any, reason: str) -> None:
    """Neither answer is permanent: the first pauses the token a minute, the second adopts."""
    api = _api(lambda request: httpx.Response(status, json=body))

    with pytest.raises(errors.TemporaryError) as raised:
        await api.send(http.Call("POST", "/pulls"))

    assert raised.value.reason == reason
    if reason == "RateLimited":
        assert raised.value.delay == timedelta(seconds=60)


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        pytest.param(
            {"message": ["Another open merge request already exists for this source branch: !4"]},
            "Another open merge request already exists for this source branch: !4",
            id="list (item 14)",
        ),
        pytest.param(
            {"message": {"title": ["is too long (maximum is 255 characters)"]}},
            "title is too long (maximum is 255 characters)",
            id="object (item 14)",
        ),
    ],
)
async def test_gitlab_messages_of_every_shape_reach_the_error(body: Any, shown: str) -> None:
    """GitLab's ``message`` may be a list or a field → messages object; neither is dropped."""
    api = _api(lambda request: httpx.Response(400, json=body))

    with pytest.raises(errors.PermanentError) as raised:
        await api.send(http.Call("POST", "/merge_requests"))

    assert shown in str(raised.value)
