"""The read API for the UI and the CLI: ``GET /api/v1/pipelines``,
``GET /api/v1/namespaces/<ns>/pipelines`` and ``GET /api/v1/namespaces/<ns>/pipelines/<name>``.

Every route is authenticated (TokenReview) and authorized (SubjectAccessReview, verb ``list`` or
``get`` on ``pipelines.pipelines.weave.works``) exactly as the Kubernetes API would authorize the
same read, so the server never shows a caller more than ``kubectl get pipelines`` would.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ferryman.api import pipeline
from ferryman.ports import kubernetes as k8s
from ferryman.server import access, errors, params
from ferryman.server.deps import Deps

PIPELINE_KIND = k8s.Kind(pipeline.API_VERSION, pipeline.KIND)


def _sort_key(obj: k8s.JSON) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def routes(deps: Deps) -> list[Route]:
    """The GET routes."""

    async def listing(namespace: str | None) -> Response:
        kind = await deps.cluster.resolve(PIPELINE_KIND)
        items, resource_version = await deps.cluster.source(kind, namespace).list()
        body = {
            "apiVersion": pipeline.API_VERSION,
            "kind": "PipelineList",
            "metadata": {"resourceVersion": resource_version},
            "items": sorted(items, key=_sort_key),
        }
        return JSONResponse(body)

    async def list_all(request: Request) -> Response:
        identity = await access.identify(deps, request)
        await access.require(deps, identity, "list")
        return await listing(None)

    async def list_namespace(request: Request) -> Response:
        namespace = params.namespace(request.path_params["namespace"])
        identity = await access.identify(deps, request)
        await access.require(deps, identity, "list", namespace=namespace)
        return await listing(namespace)

    async def get_one(request: Request) -> Response:
        namespace, name = params.pipeline(request.path_params)
        identity = await access.identify(deps, request)
        await access.require(deps, identity, "get", namespace=namespace, name=name)
        obj = await deps.store.get(namespace, name)
        if obj is None:
            raise errors.HttpError(404, f'pipeline "{namespace}/{name}" not found')
        return JSONResponse(obj)

    return [
        Route("/api/v1/pipelines", list_all, methods=["GET"]),
        Route("/api/v1/namespaces/{namespace}/pipelines", list_namespace, methods=["GET"]),
        Route("/api/v1/namespaces/{namespace}/pipelines/{name}", get_one, methods=["GET"]),
    ]
