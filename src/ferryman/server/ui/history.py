"""The "Older history" page: a Pipeline's whole promotion trail, read from Git, 50 at a time.

``GET /pipelines/<ns>/<name>/history?page=N`` needs what the pipeline page needs: a signed-in
user whom RBAC allows ``get`` on the pipeline. It shows only what the promotion commits'
trailers say (environment, revision, approvers, change digest) with the commit and its date —
never other commits' text — read with the strategy's own credentials (``server.trail``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pydantic
from starlette.requests import Request
from starlette.responses import Response

from ferryman.api import pipeline
from ferryman.domain import trail as trail_domain
from ferryman.server import access, errors, params, trail

if TYPE_CHECKING:
    from ferryman.server.ui import routes

MAX_PAGE: Final = 1000


def page_number(text: str | None) -> int:
    """``?page=N``: 1 when absent; ``HttpError`` 400 unless 1 ≤ N ≤ ``MAX_PAGE``."""
    if text is None or text == "":
        return 1
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise errors.HttpError(400, f"page: a number from 1 to {MAX_PAGE}")
    return int(text)


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
        view = await trail.read(deps.commit_log, deps.secrets, item, number=number)
        return self.ui.render(
            request,
            "history.html",
            identity=identity,
            namespace=namespace,
            name=name,
            view=view,
            max_commits=trail_domain.MAX_COMMITS,
        )
