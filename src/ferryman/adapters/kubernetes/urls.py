"""URL path segments for lightkube, which joins names and namespaces with ``/`` unescaped.

Every name, namespace, group and version an adapter hands to lightkube (or puts into a path of its
own) goes through ``segment``: percent-encoded, so ``?``, ``#``, ``/`` or ``%`` in a name reach the
API server as part of that name (and find nothing) instead of turning a ``get`` into a ``list`` or
addressing another object. The empty name and the dot segments are refused outright: no
Kubernetes object has them, and URL normalisation would move the request elsewhere.

``plain`` is for values that also travel in a request body (an object's own namespace on create or
replace): lightkube insists the URL's namespace equals the body's, so such a value must need no
escaping at all. Objects read from the API server always satisfy it.
"""

from __future__ import annotations

from urllib import parse

from ferryman.ports import kubernetes as k8s

_DOT_SEGMENTS = frozenset(("", ".", ".."))


def segment(value: str) -> str:
    """``value`` percent-encoded as one path segment (``NotFound`` for "", "." and "..")."""
    if value in _DOT_SEGMENTS:
        raise k8s.NotFound("no Kubernetes object has an empty name or a name of dots")
    return parse.quote(value, safe="")


def plain(value: str) -> str:
    """``value`` itself when it needs no escaping as a path segment, else ``NotFound``."""
    if segment(value) != value:
        raise k8s.NotFound("no Kubernetes object has a name that needs escaping in a URL")
    return value


def api_path(api_version: str) -> str:
    """``/api/<version>`` or ``/apis/<group>/<version>``, each part one segment."""
    group, _, version = api_version.rpartition("/")
    if not group:
        return f"/api/{segment(version)}"
    return f"/apis/{segment(group)}/{segment(version)}"
