"""The demo's smoke-test service: what a team's test runner behind a ``webhook`` check does.

``POST /demo/smoke`` takes Ferryman's signed verification request, checks the signature with the
demo Secret's key (``X-Signature: sha256=<hex>`` over the body, constant-time), and "tests" the
revision: one of the failing versions (``ferryman up --failing-check``, 6.6.7 by default) answers
422 with a JSON ``message`` saying what broke, every other one 200. A request whose signature
does not verify answers 401, so the demo also shows that an unsigned or forged call is refused.

``ferryman up`` serves it on the UI's port (the demo Pipeline's staging check calls
``http://127.0.0.1:<port>/demo/smoke``: plain HTTP is allowed to loopback only).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ferryman.domain import signatures

PATH: Final = "/demo/smoke"
KEY_FILE: Final = "demo-smoke.key"
MAX_BODY: Final = 64 * 1024


def key(state_dir: Path) -> bytes:
    """The demo's signing key, made on first use and kept in the state directory (mode 0600)."""
    path = state_dir / KEY_FILE
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def verdict(revision: str, failing: Iterable[str]) -> tuple[int, str]:
    """What the smoke tests say about ``revision``: (status code, message)."""
    if revision in set(failing):
        return 422, f"checkout returns HTTP 500 on {revision}"
    return 200, f"smoke tests of {revision} passed"


def route(signing_key: bytes, failing: Iterable[str]) -> Route:
    """``POST /demo/smoke`` (see the module docstring)."""
    failing = tuple(failing)

    async def smoke(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY or not signatures.verify(
            signing_key, body, request.headers.get("x-signature")
        ):
            return JSONResponse({"message": "the signature does not verify"}, status_code=401)
        try:
            revision = str(json.loads(body).get("revision") or "")
        except (ValueError, AttributeError):
            return JSONResponse({"message": "the body is not a verification request"}, 400)
        code, message = verdict(revision, failing)
        return JSONResponse({"message": message}, status_code=code)

    return Route(PATH, smoke, methods=["POST"])
