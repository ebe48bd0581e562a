"""The "Older history" page: a Pipeline's whole promotion trail, read from Git, 50 at a time.

``GET /pipelines/<ns>/<name>/history?page=N&environment=E&result=R`` needs what the pipeline page
needs: a signed-in user whom RBAC allows ``get`` on the pipeline. It shows only what the promotion
commits' trailers say (environment, revision, approvers, change digest) with the commit and its
date — never other commits' text — read with the strategy's own credentials (``server.trail``).

Filters are plain GET parameters of a small form (no script needed): ``environment`` one of the
pipeline's environments, ``result`` ``approved`` (someone approved it) or ``automatic`` (nobody
had to). A value outside those is a 400 that says which values are allowed. A commit links to the
forge's page for it when the repository is on a host whose commit URLs are known; else the page
shows its short SHA.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode

import pydantic
from starlette.requests import Request
from starlette.responses import Response

from ferryman.api import pipeline
from ferryman.domain import trail as trail_domain
from ferryman.server import access, errors, params, trail

if TYPE_CHECKING:
    from ferryman.server.ui import routes

MAX_PAGE: Final = 1000
RESULTS: Final = ("approved", "automatic")
# Forges whose commit pages are known: host → path from the repository to one commit.
COMMIT_PATHS: Final = {
    "github.com": "/commit/",
    "gitlab.com": "/-/commit/",
    "bitbucket.org": "/commits/",
    "codeberg.org": "/commit/",
}
_SCP: Final = re.compile(r"^git@(?P<host>[A-Za-z0-9.-]+):(?P<path>[A-Za-z0-9._/-]+)$")
_HTTPS: Final = re.compile(
    r"^(?:https|ssh)://(?:[^@/]+@)?(?P<host>[A-Za-z0-9.-]+)/(?P<path>[A-Za-z0-9._/-]+)$"
)
_SHA: Final = re.compile(r"^[0-9a-f]{7,64}$")


def page_number(text: str | None) -> int:
    """``?page=N``: 1 when absent; ``HttpError`` 400 unless 1 ≤ N ≤ ``MAX_PAGE``."""
    if text is None or text == "":
        return 1
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise errors.HttpError(400, f"page: a number from 1 to {MAX_PAGE}")
    return int(text)


@dataclass(frozen=True)
class Filter:
    """Which promotions the page lists (empty: all)."""

    environment: str = ""
    result: str = ""  # "approved", "automatic" or ""

    def keeps(self, entry: trail_domain.Entry) -> bool:
        """Whether ``entry`` passes the filter."""
        if self.environment and entry.environment != self.environment:
            return False
        if self.result == "approved":
            return bool(entry.approved_by)
        if self.result == "automatic":
            return not entry.approved_by
        return True

    def query(self, number: int) -> str:
        """The page's query string for page ``number`` with this filter."""
        values = {"environment": self.environment, "result": self.result}
        found = {key: value for key, value in values.items() if value}
        return urlencode({**found, "page": str(number)})

    @property
    def active(self) -> bool:
        """Whether anything is filtered out."""
        return bool(self.environment or self.result)


def parse_filter(query: Mapping[str, str], environments: Sequence[str]) -> Filter:
    """The filter of ``?environment=&result=``; ``HttpError`` 400 naming the allowed values."""
    environment = query.get("environment", "")
    result = query.get("result", "")
    if environment and environment not in environments:
        allowed = ", ".join(environments)
        raise errors.HttpError(
            400, f"environment: choose one of this pipeline's environments ({allowed}) or all"
        )
    if result and result not in RESULTS:
        raise errors.HttpError(400, f"result: choose {' or '.join(RESULTS)}, or all")
    return Filter(environment=environment, result=result)


def commit_url(repository: str, sha: str) -> str:
    """The forge's page of commit ``sha`` of ``repository`` ("" when the host is not known)."""
    found = _HTTPS.match(repository) or _SCP.match(repository)
    if found is None or not _SHA.match(sha):
        return ""
    host = found.group("host").lower()
    path = found.group("path").removesuffix(".git").strip("/")
    where = COMMIT_PATHS.get(host)
    if where is None or not path:
        return ""
    return f"https://{host}/{path}{where}{sha}"


class HistoryPage:
    """The handler, closed over the UI."""

    def __init__(self, ui: routes.Ui) -> None:
        self.ui = ui

    async def page(self, request: Request) -> Response:
        namespace, name = params.pipeline(request.path_params)
        number = page_number(request.query_params.get("page"))
        identity = await self.ui.identity(request)
        if identity is None:
            return self.ui.to_sign_in(request)
        deps = self.ui.deps
        await access.require(deps, identity, "get", namespace=namespace, name=name)
        obj = await deps.store.get(namespace, name)
        if obj is None:
            raise errors.HttpError(404, f'pipeline "{namespace}/{name}" not found')
        if deps.commit_log is None:
            raise errors.HttpError(404, "this server does not read promotion history from Git")
        try:
            item = pipeline.Pipeline.from_wire(obj)
        except pydantic.ValidationError as exc:
            raise errors.HttpError(
                422, f'pipeline "{namespace}/{name}" is not valid (see its Stalled condition)'
            ) from exc
        environments = [env.name for env in item.spec.environments]
        chosen = parse_filter(request.query_params, environments)
        view = await trail.read(
            deps.commit_log, deps.secrets, item, number=number, keep=chosen.keeps
        )
        return self.ui.render(
            request,
            "history.html",
            identity=identity,
            namespace=namespace,
            name=name,
            view=view,
            max_commits=trail_domain.MAX_COMMITS,
            chosen=chosen,
            environments=environments,
            results=RESULTS,
            commit_url=commit_url,
        )
