"""The one JSON request-body parser of the server: raw bytes → a pydantic model, or a clear 4xx.

Both APIs that take a body (the Flux event receiver and the approval API) parse through
``parse``, so a body that is not JSON, not an object, or not the model fails the same way, with
a sentence naming the first problem and never echoing the body.
"""

from __future__ import annotations

import json
from typing import TypeVar

import pydantic

from ferryman.server import errors

M = TypeVar("M", bound=pydantic.BaseModel)


def parse(body: bytes, model: type[M], *, what: str, malformed: int = 400, invalid: int = 422) -> M:
    """``body`` as ``model``: ``HttpError`` ``malformed`` when it is not JSON, ``invalid`` when it
    is not an object or does not fit the model (``what`` names the expected body in the
    message)."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise errors.HttpError(malformed, "the body is not JSON") from exc
    if not isinstance(document, dict):
        raise errors.HttpError(invalid, f"the body must be {what}")
    try:
        return model.model_validate(document)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise errors.HttpError(invalid, f"{where}: {first['msg']}") from exc
