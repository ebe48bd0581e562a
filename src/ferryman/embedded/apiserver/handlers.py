"""HTTP handling of resource requests: query options in, ``ObjectApi`` verbs, JSON or Table out.

Body decoding (``decode_body``) and patch-type dispatch are each in one function so new content
types are wired in one place (JSON, YAML, and kubectl's protobuf through ``protobuf.decode``). The
create-only review endpoints are answered by ``reviews``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ferryman.embedded.apiserver import (
    auth,
    errors,
    patches,
    protobuf,
    rbac,
    reviews,
    service_account_tokens,
    tables,
    watch,
)
from ferryman.embedded.apiserver.admission import WriteOptions
from ferryman.embedded.apiserver.listing import ListOptions
from ferryman.embedded.apiserver.objects import ObjectApi
from ferryman.embedded.apiserver.registry import REVIEW_KINDS, ResourceType
from ferryman.embedded.apiserver.routing import RequestInfo, parse_bool
from ferryman.embedded.apiserver.store import dumps

JSON = "application/json"
_JSON_TYPES = ("application/json", "")
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
_ACCEPTED = f"application/json, application/yaml, {protobuf.PROTOBUF_CONTENT_TYPE}"


def json_response(obj: Any, status: int = 200, warnings: list[str] | None = None) -> Response:
    """A JSON response, with one ``Warning: 299`` header per warning."""
    response = Response(dumps(obj).encode(), status_code=status, media_type=JSON)
    for text in warnings or ():
        response.raw_headers.append((b"warning", ("299 - " + json.dumps(text)).encode()))
    return response


def media_type(header: str | None) -> str:
    """The bare media type of a Content-Type header."""
    return (header or "").split(";")[0].strip().lower()


def decode_body(content_type: str | None, body: bytes) -> Any:
    """Decode a create/update body; the one place to add content types."""
    kind = media_type(content_type)
    if kind in _JSON_TYPES or kind == "*/*":
        try:
            return json.loads(body)
        except ValueError as exc:
            raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc
    if kind in _YAML_TYPES:
        try:
            return yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"couldn't get version/kind; yaml parse error: {exc}") from exc
    if kind == protobuf.PROTOBUF_CONTENT_TYPE:
        # kubectl's create and auth can-i commands; it never retries a 415 as JSON.
        try:
            return protobuf.decode(body)
        except protobuf.ProtobufError as exc:
            if exc.unsupported:
                raise errors.ApiError(415, "UnsupportedMediaType", str(exc)) from exc
            raise errors.bad_request(f"the protobuf body could not be decoded: {exc}") from exc
    raise errors.unsupported_media_type(_ACCEPTED)


def wants_table(accept: str) -> bool:
    """Whether the client asked for ``as=Table`` (kubectl get does)."""
    return "as=Table" in accept and "g=meta.k8s.io" in accept


class ResourceHandlers:
    """Serves every resource URL (see the module docstring)."""

    def __init__(
        self,
        api: ObjectApi,
        hub: watch.WatchHub,
        tokens: auth.TokenTable,
        authorizer: auth.Authorizer,
        *,
        rbac_store: rbac.RBACStore,
        service_account_key: bytes = b"",
    ) -> None:
        self.service_account_key = service_account_key
        self.api = api
        self.hub = hub
        self.tokens = tokens
        self.authorizer = authorizer
        self.rbac_store = rbac_store

    # ------------------------------------------------------------------ entry
    async def handle(
        self, request: Request, info: RequestInfo, user: auth.User, body: bytes
    ) -> Response:
        """Dispatch one resource request (auth already done)."""
        rt = self.api.registry.lookup(info.group, info.version, info.resource)
        if rt is None or (
            info.subresource
            and not (info.subresource == "status" and rt.status)
            and info.subresource not in rt.subresources
        ):
            raise errors.ApiError(
                404, "NotFound", "the server could not find the requested resource"
            )
        if rt.namespaced and info.resource != "namespaces":
            ns: str | None = info.namespace or None
            if info.name and not ns:
                raise errors.ApiError(
                    404, "NotFound", "the server could not find the requested resource"
                )
        else:
            if info.namespace and info.resource != "namespaces":
                raise errors.ApiError(
                    404, "NotFound", "the server could not find the requested resource"
                )
            ns = ""
        if info.verb not in rt.verbs:
            raise errors.method_not_allowed(
                f'{info.verb} is not supported on resources of kind "{rt.qualified}"'
            )
        if rt.plural in REVIEW_KINDS:
            return await self._review(
                rt, info, user, decode_body(request.headers.get("content-type"), body)
            )
        q = request.query_params
        store_ns = ns or ""
        if info.subresource == "token":
            account = self.api.get(rt, store_ns, info.name)
            body_obj = decode_body(request.headers.get("content-type"), body)
            answer = service_account_tokens.token_request(
                self.service_account_key,
                body_obj if isinstance(body_obj, dict) else {},
                namespace=store_ns,
                name=info.name,
                account_uid=account["metadata"].get("uid", ""),
            )
            return json_response(answer, 201)
        if info.verb == "get":
            if not wants_table(request.headers.get("accept", "")):
                raw = self.api.get_raw(rt, store_ns, info.name)
                if raw is not None:
                    return Response(raw.encode(), media_type=JSON)
            obj = self.api.get(rt, store_ns, info.name)
            return self._render(request, rt, [obj], obj["metadata"], single=obj)
        if info.verb == "list":
            if not wants_table(request.headers.get("accept", "")):
                raw = self.api.list_raw(rt, ns, self._list_options(q))
                if raw is not None:
                    return Response(raw.encode(), media_type=JSON)
            listed = self.api.list_objects(rt, ns, self._list_options(q))
            return self._render(
                request, rt, listed["items"], listed["metadata"], single=None, listed=listed
            )
        if info.verb == "watch":
            return self._watch(request, rt, ns)
        opts = dataclasses.replace(self._write_options(q, request), requester=user)
        if info.verb == "create":
            result = self.api.create(
                rt, store_ns, decode_body(request.headers.get("content-type"), body), opts
            )
            return json_response(result.obj, 201, result.warnings)
        if info.verb == "update":
            result = self.api.update(
                rt,
                store_ns,
                info.name,
                decode_body(request.headers.get("content-type"), body),
                opts,
                subresource=info.subresource,
            )
            return json_response(result.obj, 200, result.warnings)
        if info.verb == "patch":
            content_type = media_type(request.headers.get("content-type"))
            if content_type not in patches.SUPPORTED:
                raise errors.unsupported_media_type(", ".join(patches.SUPPORTED))
            doc = patches.decode(content_type, body)
            result = self.api.patch(
                rt, store_ns, info.name, content_type, doc, opts, subresource=info.subresource
            )
            return json_response(result.obj, 201 if result.created else 200, result.warnings)
        options = self._delete_options(q, body)
        if options.get("dryRun"):
            opts = WriteOptions(
                dry_run=True,
                field_manager=opts.field_manager,
                field_validation=opts.field_validation,
            )
        if info.verb == "delete":
            obj, _finished = self.api.delete(rt, store_ns, info.name, options, opts)
            if (
                rt.is_custom
                or rt.plural in ("namespaces", "customresourcedefinitions")
                or obj["metadata"].get("deletionTimestamp")
            ):
                return json_response(obj)
            return json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {
                        "name": info.name,
                        "group": rt.group,
                        "kind": rt.plural,
                        "uid": obj["metadata"].get("uid", ""),
                    },
                }
            )
        return json_response(
            self.api.delete_collection(rt, ns, self._list_options(q), options, opts)
        )

    # ---------------------------------------------------------------- options
    @staticmethod
    def _list_options(q: Any) -> ListOptions:
        limit = q.get("limit") or "0"
        try:
            limit_value = int(limit)
        except ValueError:
            raise errors.bad_request(f"invalid limit: {limit!r}") from None
        return ListOptions(
            label_selector=q.get("labelSelector", ""),
            field_selector=q.get("fieldSelector", ""),
            limit=max(limit_value, 0),
            continue_token=q.get("continue", ""),
            resource_version=q.get("resourceVersion", ""),
            resource_version_match=q.get("resourceVersionMatch", ""),
            send_initial_events=(
                parse_bool(q["sendInitialEvents"], name="sendInitialEvents")
                if "sendInitialEvents" in q
                else None
            ),
        )

    @staticmethod
    def _write_options(q: Any, request: Request) -> WriteOptions:
        dry_run = q.getlist("dryRun")
        for value in dry_run:
            if value != "All":
                raise errors.bad_request(
                    f'unsupported dryRun value "{value}": only "All" is supported'
                )
        manager = q.get("fieldManager", "")
        if not manager and media_type(request.headers.get("content-type")) != patches.APPLY:
            # Kubernetes names an unnamed manager after the client's user agent.
            manager = request.headers.get("user-agent", "").split("/")[0]
        return WriteOptions(
            dry_run=bool(dry_run),
            field_manager=manager,
            field_validation=q.get("fieldValidation", "Warn") or "Warn",
            force=parse_bool(q.get("force"), name="force"),
            force_given="force" in q,
        )

    @staticmethod
    def _delete_options(q: Any, body: bytes) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if body.strip():
            try:
                options = json.loads(body)
            except ValueError as exc:
                raise errors.bad_request(f"couldn't decode DeleteOptions: {exc}") from exc
            if not isinstance(options, dict):
                raise errors.bad_request("DeleteOptions must be a JSON object")
        if q.getlist("dryRun"):
            options["dryRun"] = q.getlist("dryRun")
        return options

    # -------------------------------------------------------------- rendering
    def _render(
        self,
        request: Request,
        rt: ResourceType,
        objs: list[dict[str, Any]],
        meta: dict[str, Any],
        *,
        single: dict[str, Any] | None,
        listed: dict[str, Any] | None = None,
    ) -> Response:
        accept = request.headers.get("accept", "")
        if wants_table(accept):
            list_meta = {"resourceVersion": meta.get("resourceVersion", "")}
            if listed is not None:
                for key in ("continue", "remainingItemCount"):
                    if key in meta:
                        list_meta[key] = meta[key]
            include = request.query_params.get("includeObject", "Metadata")
            return json_response(tables.table(rt, objs, list_meta, include_object=include))
        return json_response(single if single is not None else listed)

    def _watch(self, request: Request, rt: ResourceType, ns: str | None) -> Response:
        q = request.query_params
        try:
            timeout = float(q.get("timeoutSeconds") or 0)
        except ValueError:
            raise errors.bad_request(
                f"invalid timeoutSeconds: {q.get('timeoutSeconds')!r}"
            ) from None
        opts = watch.WatchOptions(
            resource_version=q.get("resourceVersion", ""),
            allow_bookmarks=parse_bool(q.get("allowWatchBookmarks"), name="allowWatchBookmarks"),
            timeout_seconds=timeout,
            send_initial_events=parse_bool(q.get("sendInitialEvents"), name="sendInitialEvents"),
        )
        list_opts = self._list_options(q)
        list_opts.predicate(rt)  # a bad selector is a 400 before the stream starts
        as_table = wants_table(request.headers.get("accept", ""))
        include = q.get("includeObject", "Metadata")

        def encode(kind: str, obj: dict[str, Any], raw: str = "") -> bytes:
            if raw and not as_table:
                return f'{{"type":"{kind}","object":{raw}}}\n'.encode()
            if as_table and kind in ("ADDED", "MODIFIED", "DELETED"):
                obj = tables.table(
                    rt,
                    [obj],
                    {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                    include_object=include,
                )
            return (dumps({"type": kind, "object": obj}) + "\n").encode()

        events: AsyncIterator[bytes] = watch.stream(
            self.api, self.hub, rt, ns, list_opts, opts, encode
        )
        return StreamingResponse(
            events, media_type=JSON, headers={"Cache-Control": "no-cache, private"}
        )

    # ---------------------------------------------------------------- reviews
    async def _review(
        self, rt: ResourceType, info: RequestInfo, user: auth.User, body: Any
    ) -> Response:
        if rt.plural == "tokenreviews":
            answer = await reviews.token_review(rt, body, self.tokens)
        elif rt.plural == "selfsubjectreviews":
            answer = reviews.self_subject_review(rt, body, user)
        elif rt.plural == "selfsubjectrulesreviews":
            answer = reviews.self_subject_rules_review(rt, body, user, self.rbac_store)
        else:
            answer = reviews.access_review(
                rt, body, requester=user, namespace=info.namespace, rbac_store=self.rbac_store
            )
        return json_response(answer, 201)
