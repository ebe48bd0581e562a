"""The ASGI application: authentication, impersonation, request attributes, the authorizer hook
(RBAC by default), fault injection, bounded bodies, and dispatch to discovery, OpenAPI, health,
debug and resource handlers.

``ApiServerApp`` owns the store, registry and watch hub. Everything runs on the server's event
loop thread; its Python fault-injection methods must be called there (``server.py`` marshals).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from ferryman.embedded.apiserver import (
    auth,
    authz,
    discovery,
    errors,
    escalation,
    faults,
    impersonation,
    metrics,
    openapi,
    openapi_v2,
    routing,
    selectors,
    service_account_tokens,
)
from ferryman.embedded.apiserver.handlers import JSON, ResourceHandlers, json_response
from ferryman.embedded.apiserver.objects import ObjectApi
from ferryman.embedded.apiserver.registry import Registry
from ferryman.embedded.apiserver.store import Store
from ferryman.embedded.apiserver.watch import WatchHub

#: kube-apiserver's limit on request bodies.
MAX_BODY_BYTES = 3 * 1024 * 1024
VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0+ferryman",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_NOT_FOUND = "the server could not find the requested resource"
SERVICE_ACCOUNTS = "/serviceaccounts"


@functools.cache
def _v2_document() -> dict[str, Any]:
    # The served built-in group-versions never change, so neither does /openapi/v2.
    return openapi.v2_document(Registry())


@functools.cache
def _v2_json() -> bytes:
    return json.dumps(_v2_document(), separators=(",", ":")).encode()


@functools.cache
def _v2_protobuf() -> bytes:
    return openapi_v2.encode(_v2_document())


_HEALTH = frozenset(("/healthz", "/readyz", "/livez"))
_INFO = "ferryman.request_info"  # the parsed target, kept in the ASGI scope for the metrics


class ApiServerApp:
    """One embedded API server's request handling (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        tokens: auth.TokenTable,
        *,
        authorizer: auth.Authorizer | None = None,
        fault_injection: bool = False,
        bookmark_interval: float = 60.0,
        server_address: str = "127.0.0.1:6443",
        ca_pem: str = "",
        service_account_key: bytes = b"",
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.registry = Registry()
        host, _, port = server_address.rpartition(":")
        self.api = ObjectApi(
            store, self.registry, ca_pem=ca_pem, address=(host.strip("[]"), int(port or 6443))
        )
        self.api.bootstrap()
        self.hub = WatchHub(bookmark_interval=bookmark_interval)
        self.faults = faults.Faults()
        self.fault_injection = fault_injection
        self.metrics = metrics.RequestMetrics()
        self.openapi = openapi.OpenAPICache(self.registry)
        self.server_address = server_address
        self.rbac_store = authz.StoreRBAC(store)
        self.handlers = ResourceHandlers(
            self.api,
            self.hub,
            tokens,
            authorizer or authz.RBACAuthorizer(self.rbac_store),
            rbac_store=self.rbac_store,
            service_account_key=service_account_key or secrets.token_bytes(32),
        )
        tokens.chain.insert(0, self._service_account_user)
        # escalate/bind are asked of the current hook (tests may replace it), the rules the
        # requester holds of the stored RBAC objects, as kube-apiserver does.
        self.api.escalation = escalation.Guard(
            self.rbac_store, lambda attributes: self.handlers.authorizer(attributes)
        )

    async def _service_account_user(self, token: str) -> auth.User | None:
        def account_uid(namespace: str, name: str) -> str | None:
            found = self.store.get(SERVICE_ACCOUNTS, namespace, name)
            return found["metadata"].get("uid") if found is not None else None

        return service_account_tokens.verify(self.handlers.service_account_key, token, account_uid)

    @property
    def authorizer(self) -> auth.Authorizer:
        """The authorization hook (RBAC over the stored objects unless replaced, e.g. by tests).

        Replacing it changes what requests may do; access reviews keep answering from the stored
        RBAC objects, since they ask what RBAC grants.
        """
        return self.handlers.authorizer

    @authorizer.setter
    def authorizer(self, value: auth.Authorizer) -> None:
        self.handlers.authorizer = value

    # ---------------------------------------------------- fault injection API
    def compact(self) -> int:
        """Forget the event log: older resourceVersions now answer 410. Returns the compacted RV."""
        self.store.compact()
        return self.store.compacted_rv

    def drop_watches(self) -> int:
        """Close every open watch stream; returns how many were open."""
        return self.hub.drop_all()

    def add_fault(self, rule: faults.FaultRule) -> None:
        """Answer the next ``rule.count`` matching requests with ``rule.code`` (or delay them)."""
        self.faults.add(rule)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.faults.clear()

    # ------------------------------------------------------------------- ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self._dispatch(request)
        except errors.ApiError as exc:
            response = json_response(exc.to_status(), exc.code)
        self.metrics.count(
            scope.get(_INFO),
            method=request.method,
            content_type=request.headers.get("content-type", ""),
            code=response.status_code,
        )
        await response(scope, receive, send)

    async def _dispatch(self, request: Request) -> Response:
        path = request.scope["path"]  # request.url would rebuild the whole URL
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        method = request.method
        if path in _HEALTH:
            return PlainTextResponse("ok")
        if path == "/debug" or path.startswith("/debug/"):
            return await self._debug(request, path)
        user = await self.tokens.authenticate(request.headers.get("authorization"))
        if user is None:
            raise errors.unauthorized()
        if impersonation.requested(request.headers):
            user = impersonation.impersonate(request.headers, user, self.handlers.authorizer)
        watch = routing.parse_bool(request.query_params.get("watch"), name="watch")
        info = routing.parse(method, path, watch=watch)
        request.scope[_INFO] = info
        if len(self.faults):
            rule = self.faults.take(method, info.verb, path)
            if rule is not None:
                if rule.latency_ms:
                    await asyncio.sleep(rule.latency_ms / 1000)
                if rule.code:
                    raise rule.error()
        named = ""
        if info.verb in ("list", "watch") and not info.name:  # a watch of one named object
            named = selectors.exact_name(request.query_params.get("fieldSelector"))
        self._authorize(user, dataclasses.replace(info, name=named) if named else info)
        if info.is_resource_request and info.resource:
            body = (
                await self._read_body(request)
                if method in ("POST", "PUT", "PATCH", "DELETE")
                else b""
            )
            return await self.handlers.handle(request, info, user, body)
        if method not in ("GET", "HEAD"):
            raise errors.method_not_allowed()
        return self._non_resource(request, path, info)

    def _authorize(self, user: auth.User, info: routing.RequestInfo) -> None:
        attributes = auth.Attributes(
            user=user,
            verb=info.verb,
            path=info.path,
            is_resource_request=info.is_resource_request and bool(info.resource),
            api_group=info.group,
            api_version=info.version,
            resource=info.resource,
            subresource=info.subresource,
            namespace=info.namespace,
            name=info.name,
        )
        allowed, reason = self.handlers.authorizer(attributes)
        if not allowed:
            raise errors.forbidden(
                auth.forbidden_message(attributes, reason),
                name=info.name,
                group=info.group,
                kind=info.resource,
            )

    @staticmethod
    async def _read_body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        limit_message = f"Request entity too large: limit is {MAX_BODY_BYTES}"
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise errors.too_large(limit_message)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise errors.too_large(limit_message)
            chunks.append(chunk)
        return b"".join(chunks)

    # ---------------------------------------------------------- non-resource
    def _non_resource(self, request: Request, path: str, info: routing.RequestInfo) -> Response:
        accept = request.headers.get("accept", "")
        registry = self.registry
        if path == "/version":
            return json_response(VERSION_INFO)
        if path == "/metrics":
            return Response(self.metrics.render(), media_type=metrics.CONTENT_TYPE)
        if path in ("/api", "/apis"):
            if discovery.wants_aggregated(accept):
                doc = discovery.aggregated(registry, core=path == "/api")
                return Response(
                    json.dumps(doc).encode(), media_type=discovery.AGGREGATED_CONTENT_TYPE
                )
            if path == "/api":
                return json_response(discovery.api_versions(self.server_address))
            return json_response(discovery.group_list(registry))
        if info.version:
            resources = discovery.resource_list(registry, info.group, info.version)
            if resources is not None:
                return json_response(resources)
        elif path.startswith("/apis/") and path.count("/") == 2:
            group = discovery.api_group(registry, path.split("/")[2])
            if group is not None:
                return json_response(group)
        if path == "/openapi/v2":
            if openapi_v2.ACCEPT_MARKER in accept:
                return Response(_v2_protobuf(), media_type=openapi_v2.CONTENT_TYPE)
            return Response(_v2_json(), media_type=JSON)
        if path == "/openapi/v3":
            return json_response(self.openapi.index())
        if path.startswith("/openapi/v3/"):
            raw = self.openapi.get(path[len("/openapi/v3/") :])
            if raw is not None:
                return Response(raw, media_type=JSON)
        raise errors.ApiError(404, "NotFound", _NOT_FOUND)

    # ----------------------------------------------------------------- debug
    async def _debug(self, request: Request, path: str) -> Response:
        if not self.fault_injection:
            raise errors.ApiError(404, "NotFound", _NOT_FOUND)
        method = request.method
        result: dict[str, Any] = {}
        if path == "/debug/compact" and method == "POST":
            result["compactedResourceVersion"] = str(self.compact())
        elif path == "/debug/drop-watches" and method == "POST":
            result["droppedWatches"] = self.drop_watches()
        elif path == "/debug/compact-and-drop-watches" and method == "POST":
            result["compactedResourceVersion"] = str(self.compact())
            result["droppedWatches"] = self.drop_watches()
        elif path == "/debug/faults" and method == "POST":
            body = await self._read_body(request)
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise errors.bad_request(f"the fault rule is not valid JSON: {exc}") from exc
            self.add_fault(faults.FaultRule.from_json(data))
            result["activeFaults"] = len(self.faults)
        elif path == "/debug/faults" and method == "DELETE":
            self.clear_faults()
            result["activeFaults"] = 0
        else:
            raise errors.ApiError(404, "NotFound", _NOT_FOUND)
        return json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": result,
            }
        )
