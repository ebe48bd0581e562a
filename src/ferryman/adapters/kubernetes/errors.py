"""Translate lightkube/httpx failures into the port's error hierarchy (``ports.kubernetes``).

Every call into lightkube goes through ``translated`` so the controller sees ``Conflict``,
``NotFound``, ``Expired`` or ``Unavailable`` and never a library type.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
from lightkube.core.exceptions import ApiError

from ferryman.ports import kubernetes as k8s


def from_api_error(exc: ApiError) -> k8s.KubernetesError:
    """The port error for an API ``Status`` answer."""
    code = exc.status.code or 0
    message = exc.status.message or str(exc)
    if code == 409:
        return k8s.Conflict(message)
    if code == 404:
        return k8s.NotFound(message)
    if code == 410:
        return k8s.Expired(message)
    if code >= 500 or code == 429:
        return k8s.Unavailable(message)
    return k8s.KubernetesError(f"{code}: {message}")


@contextmanager
def translated() -> Iterator[None]:
    """Run a block, re-raising client errors as port errors (chained)."""
    try:
        yield
    except ApiError as exc:
        raise from_api_error(exc) from exc
    except httpx2.HTTPStatusError as exc:
        status = exc.response.status_code
        if status == 404:
            raise k8s.NotFound(str(exc)) from exc
        if status == 409:
            raise k8s.Conflict(str(exc)) from exc
        if status == 410:
            raise k8s.Expired(str(exc)) from exc
        raise k8s.Unavailable(f"HTTP {status} from the API server") from exc
    except (httpx2.HTTPError, OSError) as exc:
        raise k8s.Unavailable(f"cannot reach the API server: {exc}") from exc
