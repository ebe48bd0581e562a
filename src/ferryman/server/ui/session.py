"""Sign-in state and CSRF protection for the web UI.

Sign-in: the user pastes a bearer token (the same token ``kubectl`` uses); it is kept only in a
cookie that is ``Secure``, ``HttpOnly`` and ``SameSite=Strict``, and every request identifies its
owner again through TokenReview, so revoking the token signs the user out everywhere.

CSRF: every form carries a random token that must equal the ``HttpOnly`` CSRF cookie (double
submit, compared in constant time). A cross-site page cannot read the cookie to copy it into its
form, and ``SameSite=Strict`` keeps both cookies off cross-site requests in the first place; a
request whose ``Origin`` names another site is refused as well.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Final
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE: Final = "ferryman_session"
CSRF_COOKIE: Final = "ferryman_csrf"
CSRF_FIELD: Final = "csrf"
MAX_FORM_BYTES: Final = 16 * 1024
MAX_TOKEN_LENGTH: Final = 16 * 1024
SESSION_SECONDS: Final = 8 * 3600


class FormError(ValueError):
    """A form that must not be acted on (missing/wrong CSRF token, too large, cross-site)."""


def session_token(request: Request) -> str | None:
    """The bearer token the signed-in user gave, if any."""
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


def csrf_token(request: Request) -> tuple[str, bool]:
    """The CSRF token for forms on this page, and whether it is new (must be set as a cookie)."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    if 32 <= len(existing) <= 128 and existing.isalnum():
        return existing, False
    return secrets.token_hex(32), True


def _cookie(response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )


def remember_csrf(response: Response, token: str) -> None:
    """Set the CSRF cookie (a session cookie: it ends with the browser session)."""
    _cookie(response, CSRF_COOKIE, token, max_age=None)


def sign_in(response: Response, token: str) -> None:
    """Keep the bearer token in the session cookie."""
    _cookie(response, SESSION_COOKIE, token, max_age=SESSION_SECONDS)


def sign_out(response: Response) -> None:
    """Forget the bearer token."""
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # "null" comes from sandboxed or privacy-sensitive contexts
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request) -> dict[str, str]:
    """The submitted form fields, after the CSRF check (raises ``FormError``).

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
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = fields.get(CSRF_FIELD, "")
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise FormError("the form's security token is missing or out of date; reload the page")
    return fields
