"""Sign-in state and CSRF protection for the web UI, the same on every replica.

Sign-in: the user pastes a bearer token (the same token ``kubectl`` uses). The UI seals it, with a
new random session id, its issue time and an expiry at most 8 hours later, into a cookie
(``sealing``: AES-GCM under a key every replica reads from ``ports.sessions``); the cookie is
``Secure``, ``HttpOnly`` and ``SameSite=Strict``. A copied cookie reveals no token, and every
request still identifies its owner through TokenReview, so revoking the token ends the session.
Sign-out records the session id in the shared revocation list (until the session's expiry) and
deletes the cookie: a copy of the cookie stops working on every replica.

CSRF: a signed-in form carries HMAC(key, session id), so the token is bound to the session and
changes at every sign-in; before sign-in (the sign-in form itself) a random token must equal an
``HttpOnly`` cookie (double submit), spent at sign-in. Both are compared in constant time.
``SameSite=Strict`` keeps the cookies off cross-site requests in the first place, and a form whose
``Origin`` names another site is refused as well.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from ferryman.ports import sessions
from ferryman.server.ui import sealing

SESSION_COOKIE: Final = "ferryman_session"
CSRF_COOKIE: Final = "ferryman_csrf"  # the pre-sign-in (double submit) token only
CSRF_FIELD: Final = "csrf"
MAX_FORM_BYTES: Final = 16 * 1024
MAX_TOKEN_LENGTH: Final = 16 * 1024
SESSION_SECONDS: Final = 8 * 3600


class FormError(ValueError):
    """A form that must not be acted on (missing/wrong CSRF token, too large, cross-site)."""


@dataclass(frozen=True)
class Context:
    """What one request knows: the shared session state (``None`` when it could not be read)
    and the signed-in session, if any."""

    state: sessions.SessionState | None = None
    session: sealing.Session | None = None


def load(request: Request, state: sessions.SessionState, *, now: int) -> Context:
    """The request's session: a cookie that opens, has not expired and was not revoked."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    found = sealing.open_sealed(state.key, cookie, now=now) if cookie else None
    if found is None or not state.valid(found.id, found.issued):
        return Context(state)
    return Context(state, found)


def csrf_token(request: Request, context: Context) -> tuple[str, bool]:
    """The CSRF token for this page's forms, and whether it is a new pre-sign-in token (which
    must then be set as a cookie)."""
    if context.state is not None and context.session is not None:
        return sealing.csrf_token(context.state.key, context.session.id), False
    existing = request.cookies.get(CSRF_COOKIE, "")
    if 32 <= len(existing) <= 128 and existing.isalnum():
        return existing, False
    return secrets.token_hex(32), True


def expected_csrf(request: Request, context: Context) -> str:
    """The token a form posted in ``context`` must carry ("" when none can be valid)."""
    if context.state is not None and context.session is not None:
        return sealing.csrf_token(context.state.key, context.session.id)
    return request.cookies.get(CSRF_COOKIE, "")


def _cookie(response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict"
    )


def _forget(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")


def remember_csrf(response: Response, token: str) -> None:
    """Set the pre-sign-in CSRF cookie (a session cookie: it ends with the browser session)."""
    _cookie(response, CSRF_COOKIE, token, max_age=None)


def start(
    response: Response,
    state: sessions.SessionState,
    token: str,
    *,
    now: int,
    expires: int | None = None,
) -> sealing.Session:
    """Begin a new session for ``token`` (a new id, so a new CSRF token); the pre-sign-in CSRF
    cookie is spent. The session ends after 8 hours, or at ``expires`` (an ID token's expiry)
    if sooner. Raises ``FormError`` when the token is too long to keep in a cookie."""
    ends = now + SESSION_SECONDS if expires is None else min(expires, now + SESSION_SECONDS)
    session = sealing.Session(id=secrets.token_urlsafe(16), token=token, issued=now, expires=ends)
    value = sealing.seal(state.key, session)
    if len(value) > sealing.MAX_COOKIE_BYTES:
        raise FormError("this token is too long to keep in a browser session")
    _cookie(response, SESSION_COOKIE, value, max_age=max(ends - now, 0))
    _forget(response, CSRF_COOKIE)
    return session


def end(response: Response) -> None:
    """Delete the session cookie (revocation, when there was a session, is the caller's)."""
    _forget(response, SESSION_COOKIE)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # "null" comes from sandboxed or privacy-sensitive contexts
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request, *, expected: str) -> dict[str, str]:
    """The submitted form fields, after the CSRF check against ``expected`` (``FormError``).

    Only ``application/x-www-form-urlencoded`` bodies (or bodies without a type, as an empty
    form is sent) up to 16 KiB are read; each field keeps its first value.
    """
    if not _same_origin(request):
        raise FormError("the form was sent from another site")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("", "application/x-www-form-urlencoded"):
        raise FormError("the form must be sent as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError("the form is too large")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=16)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError("the form cannot be read") from exc
    fields = {key: values[0] for key, values in parsed.items()}
    sent = fields.get(CSRF_FIELD, "")
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise FormError("the form's security token is missing or out of date; reload the page")
    return fields
