"""The web UI's routes: pipelines list, pipeline page, live fragments, approve/reject, sign-in.

Server-rendered HTML (Jinja2, autoescaping every value) with plain forms; a small script keeps
the page's live fragment current from a server-sent event stream (``live``), or by polling the
fragment where no stream can be kept open. The UI holds no state and no
rules of its own: the caller is identified by TokenReview on every request, permissions come
from SubjectAccessReview (``server.access``), and approvals go through the approval API's single
write path (``server.recording``), so the UI, the CLI and the JSON API cannot disagree.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import jinja2
import pydantic
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ferryman.api import pipeline, status
from ferryman.ports import auth
from ferryman.ports import kubernetes as k8s
from ferryman.server import access, errors, operator_api, params, reads, recording
from ferryman.server.deps import Deps
from ferryman.server.ui import crumbs, flash, history, live, next_page, session, views, waiting

log = logging.getLogger(__name__)

HERE: Final = Path(__file__).resolve().parent
POLL_MILLISECONDS: Final = 2000
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
HIDDEN_GROUPS: Final = frozenset({"system:authenticated"})
Handler = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Handler], Handler]


def templates() -> jinja2.Environment:
    """The template environment: autoescaping on for every template, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(link_label=views.link_label, state_labels=views.STATE_LABELS)
    return env


def _name_of(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def pipeline_url(namespace: str, name: str) -> str:
    """The page of one pipeline."""
    return f"/pipelines/{quote(namespace, safe='')}/{quote(name, safe='')}"


class Ui:
    """The handlers, closed over the server's ports."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.env = templates()

    # ------------------------------------------------------------------ rendering
    def render(
        self,
        request: Request,
        template: str,
        *,
        status_code: int = 200,
        identity: auth.Identity | None = None,
        **values: Any,
    ) -> HTMLResponse:
        """A page with the CSRF token its forms need and the security headers."""
        html, csrf, fresh = self.markup(request, template, identity=identity, **values)
        response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
        if fresh:
            session.remember_csrf(response, csrf)
        return response

    def markup(
        self, request: Request, template: str, *, identity: auth.Identity | None, **values: Any
    ) -> tuple[str, str, bool]:
        """The HTML of ``template``, the CSRF token in it, and whether that token is new."""
        csrf, fresh = session.csrf_token(request, context(request))
        groups = [g for g in identity.groups if g not in HIDDEN_GROUPS] if identity else []
        html = self.env.get_template(template).render(
            user=identity,
            groups=groups,
            csrf=csrf,
            poll=POLL_MILLISECONDS,
            stream=self.deps.pipelines is not None,  # live updates by server-sent events
            pipeline_url=pipeline_url,
            max_comment=status.MAX_COMMENT_LENGTH,
            crumbs=crumbs.trail(request.url.path, request.path_params),
            **values,
        )
        return html, csrf, fresh

    def to_sign_in(self, request: Request | None = None) -> Response:
        """Send the browser to the sign-in page (and drop a session that no longer works); a
        page it asked for (``request``, a GET) is where the sign-in will return to."""
        back = request.url.path if request is not None and request.method == "GET" else "/"
        if request is not None and request.url.query:
            back = f"{back}?{request.url.query}"
        target = next_page.sign_in_url(back)
        response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
        session.end(response)
        return response

    def now(self) -> int:
        """The current time in Unix seconds (sessions are timed in them)."""
        return int(self.deps.clock.now().timestamp())

    async def load(self, request: Request) -> None:
        """Open the request's session against the shared key and revocation list (kept in
        ``request.state`` for the handler and the page it renders)."""
        state = await self.deps.sessions.current()
        request.state.ui = session.load(request, state, now=self.now())

    async def identity(self, request: Request) -> auth.Identity | None:
        """The signed-in user (TokenReview of the session's token), ``None`` when signed out."""
        found = context(request).session
        if found is None:
            return None
        return await self.deps.authenticator.authenticate(found.token)

    async def form(self, request: Request) -> dict[str, str]:
        """The posted form, checked against this request's CSRF token (``FormError``)."""
        return await session.read_form(
            request, expected=session.expected_csrf(request, context(request))
        )

    # ------------------------------------------------------------------ reads
    async def _list(self, identity: auth.Identity) -> dict[str, Any]:
        """The list's values: every pipeline's row, and what waits for ``identity``'s approval
        (decided as the pipeline page decides its Approve button, see ``_decisions``)."""
        await access.require(self.deps, identity, "list")
        if self.deps.pipelines is not None:
            items = await self.deps.pipelines.list(None)
        else:
            kind = await self.deps.cluster.resolve(reads.PIPELINE_KIND)
            items, _ = await self.deps.cluster.source(kind, None).list()
        ordered = sorted(items, key=_name_of)
        found: list[waiting.WaitingItem] = []
        for obj in ordered:
            decisions = await self._decisions(identity, obj)  # no review when nothing waits
            found.extend(waiting.items_of(obj, decisions, identity.user))
        return {
            "pipelines": [views.pipeline_view(obj) for obj in ordered],
            "waiting": waiting.oldest_first(found),
        }

    async def _allowed(
        self, identity: auth.Identity, obj: Mapping[str, Any], verbs: tuple[str, ...]
    ) -> tuple[dict[str, bool], str]:
        """Which ``verbs`` RBAC allows on the pipeline, and the sentence for the first refused."""
        meta = obj.get("metadata") or {}
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        allowed: dict[str, bool] = {}
        reason = ""
        for verb in verbs:
            request = auth.AccessRequest(
                verb=verb,
                resource=pipeline.PLURAL,
                group=pipeline.GROUP,
                namespace=namespace,
                name=name,
            )
            ok, _ = await self.deps.reviewer.review(identity, request)
            allowed[verb] = ok
            if not ok and not reason:
                reason = access.denial(identity, request)
        return allowed, reason

    async def _permissions(
        self, identity: auth.Identity, obj: Mapping[str, Any]
    ) -> dict[str, views.Permission]:
        found: dict[str, views.Permission] = {}
        operable = views.operable_environments(obj)
        if operable:
            operate, why_not = await self._allowed(identity, obj, ("hold", "promote"))
            for environment in operable:
                found[environment] = views.Permission(
                    hold=operate["hold"], promote=operate["promote"], operate_reason=why_not
                )
        verifiable = views.verifiable_environments(obj)
        if verifiable:
            allowed, _ = await self._allowed(identity, obj, ("verify",))
            for environment in verifiable:
                found[environment] = dataclasses.replace(
                    found.get(environment, views.Permission()), verify=allowed["verify"]
                )
        for environment, decision in (await self._decisions(identity, obj)).items():
            found[environment] = dataclasses.replace(
                found.get(environment, views.Permission()),
                approve=decision.approve,
                reject=decision.reject,
                reason=decision.reason,
                detail=decision.detail,
            )
        return found

    async def _decisions(
        self, identity: auth.Identity, obj: Mapping[str, Any]
    ) -> dict[str, views.Permission]:
        """Whether ``identity`` may approve or reject in each environment waiting for approval:
        RBAC (through the cached reviewer) and the pipeline's approver lists must both admit
        them. The pipeline page's Approve button and the list's "Waiting for your approval"
        both come from here, so they cannot disagree."""
        found: dict[str, views.Permission] = {}
        for awaiting in views.waiting_environments(obj):
            environment = awaiting.environment
            allowed, reason = await self._allowed(identity, obj, ("approve", "reject"))
            refusal = views.policy_refusal(
                awaiting.rule, identity.user, identity.groups, environment
            )
            detail = ""
            if refusal:
                # The policy's sentence says who may approve; RBAC's, if it refuses too, follows.
                allowed["approve"] = allowed["reject"] = False
                reason, detail = refusal, reason
            elif allowed["approve"]:
                # Who approved the revision one stage back may still reject it here, not approve.
                four_eyes = views.four_eyes_refusal(awaiting, identity.user)
                if four_eyes:
                    allowed["approve"], reason = False, four_eyes
            found[environment] = views.Permission(
                approve=allowed["approve"], reject=allowed["reject"], reason=reason, detail=detail
            )
        return found

    async def _pipeline(
        self, identity: auth.Identity, namespace: str, name: str
    ) -> views.PipelineView:
        await access.require(self.deps, identity, "get", namespace=namespace, name=name)
        obj = await self.deps.reader.get(namespace, name)
        if obj is None:
            raise errors.HttpError(404, f'pipeline "{namespace}/{name}" not found')
        permissions = await self._permissions(identity, obj)
        return views.pipeline_view(
            obj, permissions=permissions, with_timeline=True, now=self.deps.clock.now()
        )

    async def live_html(
        self, request: Request, identity: auth.Identity, key: tuple[str, str] | None
    ) -> str:
        """The live region of the list (``key`` None) or of one pipeline's page, as HTML."""
        if key is None:
            found = await self._list(identity)
            return self.markup(request, "_pipelines.html", identity=identity, **found)[0]
        view = await self._pipeline(identity, *key)
        return self.markup(request, "_pipeline.html", identity=identity, p=view)[0]

    # ------------------------------------------------------------------ pages
    async def index(self, request: Request) -> Response:
        identity = await self.identity(request)
        if identity is None:
            return self.to_sign_in(request)
        found = await self._list(identity)
        return self.render(request, "pipelines.html", identity=identity, **found)

    async def index_fragment(self, request: Request) -> Response:
        identity = await self.identity(request)
        if identity is None:
            return Response(status_code=401, headers=SECURITY_HEADERS)
        found = await self._list(identity)
        return self.render(request, "_pipelines.html", identity=identity, **found)

    async def page(self, request: Request) -> Response:
        namespace, name = params.pipeline(request.path_params)
        identity = await self.identity(request)
        if identity is None:
            return self.to_sign_in(request)
        view = await self._pipeline(identity, namespace, name)
        done = flash.message(request.query_params)
        return self.render(request, "pipeline.html", identity=identity, p=view, error="", done=done)

    async def page_fragment(self, request: Request) -> Response:
        namespace, name = params.pipeline(request.path_params)
        identity = await self.identity(request)
        if identity is None:
            return Response(status_code=401, headers=SECURITY_HEADERS)
        view = await self._pipeline(identity, namespace, name)
        return self.render(request, "_pipeline.html", identity=identity, p=view)

    async def decide(self, request: Request) -> Response:
        """Approve or reject from the pipeline page; errors are shown on the page."""
        namespace, name = params.pipeline(request.path_params)
        environment = params.environment(request.path_params["environment"])
        try:
            fields = await self.form(request)
        except session.FormError as exc:
            return self.render(request, "error.html", status_code=403, message=str(exc))
        identity = await self.identity(request)
        if identity is None:
            return self.to_sign_in()
        action = fields.get("action", "")
        verbs = {"approve": recording.Verb.APPROVE, "reject": recording.Verb.REJECT}
        try:
            if action not in verbs:
                raise errors.HttpError(422, "choose Approve or Reject")
            verb = verbs[action]
            revision, comment = fields.get("revision", ""), fields.get("comment", "")
            if not params.is_revision(revision):
                raise errors.HttpError(422, f"revision: {params.REVISION_RULE}")
            if verb is recording.Verb.REJECT and fields.get("confirm") != "reject":
                raise errors.HttpError(
                    422, f'tick "I mean to reject {revision}" to confirm the rejection'
                )
            if len(comment) > status.MAX_COMMENT_LENGTH:
                raise errors.HttpError(
                    422, f"the comment may be at most {status.MAX_COMMENT_LENGTH} characters"
                )
            await access.require(self.deps, identity, verb.value, namespace=namespace, name=name)
            verdict = recording.Verdict(
                namespace=namespace,
                name=name,
                environment=environment,
                revision=revision,
                comment=comment,
                verb=verb,
            )
            await recording.record(self.deps, verdict, identity)
        except errors.HttpError as exc:
            return await self._refused(request, identity, namespace, name, exc)
        back = flash.location(pipeline_url(namespace, name), action, environment, revision)
        return RedirectResponse(back, status_code=303, headers=SECURITY_HEADERS)

    async def operate(self, request: Request) -> Response:
        """Hold, unhold, promote a chosen revision or roll back from the pipeline page."""
        namespace, name = params.pipeline(request.path_params)
        environment = params.environment(request.path_params["environment"])
        try:
            fields = await self.form(request)
        except session.FormError as exc:
            return self.render(request, "error.html", status_code=403, message=str(exc))
        identity = await self.identity(request)
        if identity is None:
            return self.to_sign_in()
        action = fields.get("action", "")
        try:
            if action not in operator_api.ACTIONS:
                raise errors.HttpError(422, "choose Hold, Unhold, Promote or Roll back")
            verb = operator_api.verb_of(action)
            await access.require(self.deps, identity, verb, namespace=namespace, name=name)
            comment = fields.get("comment", "")
            if len(comment) > status.MAX_COMMENT_LENGTH:
                raise errors.HttpError(
                    422, f"the comment may be at most {status.MAX_COMMENT_LENGTH} characters"
                )
            revision = fields.get("revision", "")
            if action == "promote" and not params.is_revision(revision):
                raise errors.HttpError(422, f"revision: {params.REVISION_RULE}")
            body = operator_api.OperatorBody(
                comment=comment,
                revision=fields.get("revision") or None if action == "promote" else None,
            )
            await operator_api.perform(
                self.deps,
                identity,
                namespace=namespace,
                name=name,
                environment=environment,
                action=action,
                body=body,
            )
        except (errors.HttpError, pydantic.ValidationError) as exc:
            return await self._refused(request, identity, namespace, name, exc)
        chosen = fields.get("revision", "") if action == "promote" else ""
        back = flash.location(pipeline_url(namespace, name), action, environment, chosen)
        return RedirectResponse(back, status_code=303, headers=SECURITY_HEADERS)

    async def _refused(
        self,
        request: Request,
        identity: auth.Identity,
        namespace: str,
        name: str,
        exc: errors.HttpError | pydantic.ValidationError,
    ) -> Response:
        """The pipeline page again, with the refusal in words."""
        if isinstance(exc, pydantic.ValidationError):
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            exc = errors.HttpError(422, f"{where}: {first['msg']}")
        view = await self._pipeline(identity, namespace, name)
        return self.render(
            request,
            "pipeline.html",
            status_code=exc.status,
            identity=identity,
            p=view,
            error=exc.message,
            done="",
        )

    def sign_in_form(
        self, request: Request, *, status: int = 200, error: str = "", next: str = "/"
    ) -> Response:
        """The sign-in page: the token form, and "Sign in with …" when a provider is set."""
        provider = self.deps.identity
        return self.render(
            request,
            "signin.html",
            status_code=status,
            error=error,
            next=next_page.safe_next(next),
            oidc_name=provider.display_name if provider is not None else "",
        )

    async def sign_in_page(self, request: Request) -> Response:
        return self.sign_in_form(request, next=request.query_params.get("next", "/"))

    async def sign_in(self, request: Request) -> Response:
        """A new session (new id, new CSRF token) for a token the API server accepts."""
        try:
            fields = await self.form(request)
        except session.FormError as exc:
            return self.sign_in_form(request, status=403, error=str(exc))
        back = next_page.safe_next(fields.get("next"))
        token = fields.get("token", "").strip()
        identity = None
        if token and len(token) <= session.MAX_TOKEN_LENGTH:
            identity = await self.deps.authenticator.authenticate(token)
        state = context(request).state
        if identity is None or state is None:
            return self.sign_in_form(
                request, status=401, error="The API server did not accept this token.", next=back
            )
        response = RedirectResponse(back, status_code=303, headers=SECURITY_HEADERS)
        try:
            session.start(response, state, token, now=self.now())
        except session.FormError as exc:
            return self.sign_in_form(request, status=400, error=str(exc), next=back)
        log.info("Signed in to the UI user=%s", identity.user)
        return response

    async def sign_out(self, request: Request) -> Response:
        """Revoke the session on every replica, then forget the cookie."""
        try:
            await self.form(request)
        except session.FormError as exc:
            return self.render(request, "error.html", status_code=403, message=str(exc))
        found = context(request).session
        if found is not None:
            await self.deps.sessions.revoke(found.id, found.expires)
            log.info("Signed out of the UI")
        return self.to_sign_in()


def context(request: Request) -> session.Context:
    """The session context ``Ui.load`` put on the request (empty before or without it)."""
    found = getattr(request.state, "ui", None)
    return found if isinstance(found, session.Context) else session.Context()


def _guarded(ui: Ui, handler: Handler) -> Handler:
    """Render refusals and outages as pages, not as the JSON API's Status bodies."""

    async def run(request: Request) -> Response:
        try:
            await ui.load(request)
            return await handler(request)
        except errors.HttpError as exc:
            return ui.render(request, "error.html", status_code=exc.status, message=exc.message)
        except k8s.KubernetesError:
            log.warning("UI request failed: the API server cannot be reached", exc_info=True)
            message = "The Kubernetes API server cannot be reached right now; try again shortly."
            return ui.render(request, "error.html", status_code=503, message=message)

    return run


def ui_routes(deps: Deps) -> list[BaseRoute]:
    """The UI's routes, to be served by the same app as the approval API."""
    ui = Ui(deps)
    base = "/pipelines/{namespace}/{name}"
    return [
        Route("/", _guarded(ui, ui.index), methods=["GET"]),
        Route("/fragments/pipelines", _guarded(ui, ui.index_fragment), methods=["GET"]),
        Route(base, _guarded(ui, ui.page), methods=["GET"]),
        Route(f"/fragments{base}", _guarded(ui, ui.page_fragment), methods=["GET"]),
        Route(f"{base}/history", _guarded(ui, history.HistoryPage(ui).page), methods=["GET"]),
        Route(
            f"{base}/environments/{{environment}}/decide",
            _guarded(ui, ui.decide),
            methods=["POST"],
        ),
        Route(
            f"{base}/environments/{{environment}}/operate",
            _guarded(ui, ui.operate),
            methods=["POST"],
        ),
        Route("/signin", _guarded(ui, ui.sign_in_page), methods=["GET"]),
        Route("/signin", _guarded(ui, ui.sign_in), methods=["POST"]),
        Route("/signout", _guarded(ui, ui.sign_out), methods=["POST"]),
        *_oidc_routes(ui),
        *live.routes(ui, lambda handler: _guarded(ui, handler), SECURITY_HEADERS),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]


def _oidc_routes(ui: Ui) -> list[BaseRoute]:
    """``/signin/oidc`` and its callback, when an OpenID Provider is configured."""
    if ui.deps.identity is None:
        return []
    from ferryman.server.ui import oidc  # it builds on this module's Ui

    return oidc.OidcSignIn(ui, ui.deps.identity).endpoints(lambda handler: _guarded(ui, handler))
