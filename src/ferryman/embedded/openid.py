"""A demo OpenID Provider for ``ferryman up``: a stand-in for Dex or Keycloak, as ``flux`` is for
Flux.

Built on authlib's grant machinery (``authlib.oauth2`` and ``authlib.oidc.core``), wired to
Starlette here, because authlib ships server integrations for Flask and Django only. It serves:

- ``/.well-known/openid-configuration`` (discovery) and ``/keys`` (the JWKS: one RSA key,
  generated into the state directory on first start, 0600, and kept across restarts);
- ``/authorize``: the authorization code flow for one public client, **PKCE with S256
  required** and a ``nonce`` required; the exact registered redirect URIs only. Instead of a
  password it shows a small form to choose a demo user (alice, bob) — everyone who can reach it
  may sign in as any of them, like the demo's bearer tokens printed on the banner;
- ``/token``: the code (once, within a minute) for an ID token signed RS256, with ``sub`` and
  ``preferred_username`` (the user's name), ``groups``, ``aud`` the client ID, ``nonce``, and an
  expiry one hour on.

It is for one machine (it listens on loopback) and the tests; it never stands for a production
identity provider.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import secrets
import socket
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

import uvicorn
from authlib.oauth2 import rfc6749
from authlib.oauth2.rfc6749 import errors as oauth_errors
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import grants as oidc_grants
from joserfc import jwk
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

KEY_FILE: Final = "openid-signing-key.json"
CLIENT_ID: Final = "ferryman"
SCOPES: Final = ("openid", "profile", "email", "groups")
CODE_SECONDS: Final = 60
TOKEN_SECONDS: Final = 3600
MAX_FORM_BYTES: Final = 16 * 1024


@dataclasses.dataclass(frozen=True)
class DemoUser:
    """Someone the provider can sign in: a name and the groups the ID token lists."""

    name: str
    groups: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ProviderConfig:
    """One provider: its issuer URL, its one client's redirect URIs, its users, its key file."""

    issuer: str
    redirect_uris: tuple[str, ...]
    users: tuple[DemoUser, ...]
    key_path: Path
    client_id: str = CLIENT_ID


def signing_key(path: Path) -> jwk.RSAKey:
    """The provider's RSA key, generated into ``path`` (0600) on first use."""
    if path.exists():
        return jwk.RSAKey.import_key(json.loads(path.read_text(encoding="utf-8")))
    key = jwk.RSAKey.generate_key(2048, private=True)
    key.ensure_kid()
    path.touch(mode=0o600)
    path.write_text(json.dumps(key.as_dict(private=True)), encoding="utf-8")
    return key


# ----------------------------------------------------------------------------- authlib models
@dataclasses.dataclass
class _Client(rfc6749.ClientMixin):  # type: ignore[misc] # authlib has no type hints
    """The one public client (no secret): exact redirect URIs, the code flow only."""

    client_id: str
    redirect_uris: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # the request must name one, and exactly a registered one

    def get_allowed_scope(self, scope: str | None) -> str:
        asked = (scope or "").split()
        return " ".join(name for name in asked if name in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        del client_secret
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none" and endpoint == "token"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclasses.dataclass
class _Code:
    """An issued authorization code (authlib's ``AuthorizationCodeMixin``, duck-typed)."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str
    user: DemoUser
    code_challenge: str
    code_challenge_method: str
    issued: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.issued)

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _Payload(rfc6749.OAuth2Payload):  # type: ignore[misc] # authlib has no type hints
    def __init__(self, values: Mapping[str, list[str]]) -> None:
        self._values = values

    @property
    def data(self) -> dict[str, str]:
        return {key: values[0] for key, values in self._values.items() if values}

    @property
    def datalist(self) -> dict[str, list[str]]:
        return dict(self._values)


class _Request(rfc6749.OAuth2Request):  # type: ignore[misc] # authlib has no type hints
    """A Starlette request, read in full, as authlib's grants read requests."""

    def __init__(
        self, method: str, uri: str, headers: Headers, args: dict[str, list[str]], form: Any
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._args = {key: values[0] for key, values in args.items() if values}
        self._form = {key: values[0] for key, values in form.items() if values}
        merged = {key: list(values) for key, values in args.items()}
        for key, values in form.items():
            merged.setdefault(key, []).extend(values)
        self.payload = _Payload(merged)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _RequireS256(CodeChallenge):  # type: ignore[misc] # authlib has no type hints
    """PKCE is not optional here, and only S256 will do."""

    SUPPORTED_CODE_CHALLENGE_METHOD: Final = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD: Final = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise oauth_errors.InvalidRequestError(
                "PKCE is required: send code_challenge with code_challenge_method=S256",
                redirect_uri=redirect_uri,
            )
        super().validate_code_challenge(grant, redirect_uri)


class _CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc] # authlib has no type hints
    """The authorization code grant over the provider's in-memory codes."""

    TOKEN_ENDPOINT_AUTH_METHODS: Final = ["none"]

    def save_authorization_code(self, code: str, request: _Request) -> None:
        codes: dict[str, _Code] = self.server.codes
        now = time.time()
        for stale in [c for c, found in codes.items() if now - found.issued > CODE_SECONDS]:
            del codes[stale]  # never redeemed: they would pile up
        data = request.payload.data
        self.server.codes[code] = _Code(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=data.get("redirect_uri", ""),
            scope=request.scope or "",
            nonce=data.get("nonce", ""),
            user=request.user,
            code_challenge=data.get("code_challenge", ""),
            code_challenge_method=data.get("code_challenge_method", ""),
            issued=time.time(),
        )

    def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
        found: _Code | None = self.server.codes.get(code)
        if found is None or found.client_id != client.get_client_id():
            return None
        if time.time() - found.issued > CODE_SECONDS:
            self.server.codes.pop(code, None)
            return None
        return found

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        self.server.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: _Code) -> DemoUser:
        return authorization_code.user


class _OpenIdCode(oidc_grants.OpenIDCode):  # type: ignore[misc] # authlib has no type hints
    """ID tokens: RS256 with the provider's key, the user's name and groups, a nonce required."""

    def __init__(self, provider: _Server) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: _Request) -> bool:
        del request
        return any(code.nonce == nonce for code in self.provider.codes.values())

    def resolve_client_private_key(self, client: _Client) -> jwk.RSAKey:
        del client
        return self.provider.key

    def get_client_algorithm(self, client: _Client) -> str:
        del client
        return "RS256"

    def get_encode_header(self, client: _Client) -> dict[str, str]:
        del client
        return {"alg": "RS256", "kid": str(self.provider.key.kid)}

    def get_client_claims(self, client: _Client) -> dict[str, Any]:
        return {
            "iss": self.provider.config.issuer,
            "aud": [client.get_client_id()],
            "exp": int(time.time()) + TOKEN_SECONDS,
        }

    def generate_user_info(self, user: DemoUser, scope: str) -> dict[str, Any]:
        del scope
        return {"sub": user.name, "preferred_username": user.name, "groups": list(user.groups)}


class _Server(rfc6749.AuthorizationServer):  # type: ignore[misc] # authlib has no type hints
    """authlib's authorization server, answering with Starlette responses."""

    def __init__(self, config: ProviderConfig, key: jwk.RSAKey) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.config = config
        self.key = key
        self.codes: dict[str, _Code] = {}
        self.client = _Client(config.client_id, config.redirect_uris)
        self.register_token_generator(
            "default",
            BearerTokenGenerator(lambda **_: secrets.token_urlsafe(32), None, TOKEN_SECONDS),
        )
        self.register_grant(_CodeGrant, [_RequireS256(required=True), _OpenIdCode(self)])

    def query_client(self, client_id: str) -> _Client | None:
        return self.client if client_id == self.client.client_id else None

    def save_token(self, token: dict[str, Any], request: _Request) -> None:
        del token, request  # no resource server: the access token is never used

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        del name, args, kwargs

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def handle_response(
        self, status: int, body: Any, headers: Sequence[tuple[str, str]]
    ) -> Response:
        merged = {**dict(headers), "Cache-Control": "no-store"}
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=merged)
        return Response(body or b"", status_code=status, headers=merged)


async def _read(request: Request) -> _Request:
    """The whole request as authlib reads it (query and, for a form post, its fields)."""
    args: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        args.setdefault(key, []).append(value)
    form: dict[str, list[str]] = {}
    if request.method == "POST":
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise oauth_errors.InvalidRequestError("the form is too large")
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=64)
        except (UnicodeDecodeError, ValueError) as exc:
            raise oauth_errors.InvalidRequestError("the form cannot be read") from exc
    return _Request(request.method, str(request.url), request.headers, args, form)


class OpenIdProvider:
    """The provider's Starlette app (see the module docstring)."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.server = _Server(config, signing_key(config.key_path))
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery, methods=["GET"]),
                Route("/keys", self.keys, methods=["GET"]),
                Route("/authorize", self.authorize, methods=["GET", "POST"]),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    def user(self, name: str) -> DemoUser | None:
        """The demo user called ``name``."""
        return next((user for user in self.config.users if user.name == name), None)

    async def discovery(self, request: Request) -> Response:
        del request
        issuer = self.config.issuer
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/keys",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
                "scopes_supported": list(SCOPES),
                "claims_supported": ["sub", "preferred_username", "groups", "nonce"],
            }
        )

    async def keys(self, request: Request) -> Response:
        del request
        return JSONResponse({"keys": [self.server.key.as_dict(private=False)]})

    async def token(self, request: Request) -> Response:
        try:
            read = await _read(request)
        except oauth_errors.OAuth2Error as error:
            return self.server.handle_error_response(None, error)  # type: ignore[no-any-return]
        return self.server.create_token_response(read)  # type: ignore[no-any-return]

    async def authorize(self, request: Request) -> Response:
        """GET: the sign-in form; POST: the chosen user (or a refusal) back to the client."""
        try:
            read = await _read(request)
            grant = self.server.get_consent_grant(read)
        except oauth_errors.OAuth2Error as error:
            if getattr(error, "redirect_uri", None):  # the redirect URI was checked: tell it
                return self.server.handle_error_response(read, error)  # type: ignore[no-any-return]
            return self._page(f"This sign-in request cannot be served: {error.description}", 400)
        if request.method == "GET":
            return self._form(request.url.query)
        if read.form.get("action") == "deny":
            return self.server.create_authorization_response(read, None, grant)  # type: ignore[no-any-return]
        user = self.user(read.form.get("user", ""))
        if user is None:
            return self._form(request.url.query, status=400)
        return self.server.create_authorization_response(read, user, grant)  # type: ignore[no-any-return]

    def _form(self, query: str, *, status: int = 200) -> Response:
        buttons = "".join(
            f'<button type="submit" name="user" value="{html.escape(user.name)}">'
            f"Sign in as {html.escape(user.name)} ({html.escape(', '.join(user.groups))})"
            "</button>"
            for user in self.config.users
        )
        action = html.escape("/authorize?" + query)
        body = (
            "<h1>Ferryman demo sign-in</h1>"
            "<p>Choose who you are. This demo provider has no passwords: it runs on this "
            "machine only.</p>"
            f'<form method="post" action="{action}">{buttons}'
            '<button type="submit" name="action" value="deny">Cancel</button></form>'
        )
        return self._page(body, status, raw=True)

    def _page(self, text: str, status: int, *, raw: bool = False) -> Response:
        origins = " ".join(sorted({_origin(uri) for uri in self.config.redirect_uris}))
        content = text if raw else f"<p>{html.escape(text)}</p>"
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Ferryman demo sign-in</title></head>"
            f"<body>{content}</body></html>"
        )
        headers = {
            # form-action covers the redirect back to the client after the form is posted
            "Content-Security-Policy": (
                f"default-src 'none'; form-action 'self' {origins}; frame-ancestors 'none'"
            ),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        return HTMLResponse(page, status_code=status, headers=headers)


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def listen(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound, listening socket (so the port, and the issuer URL, are known before serving)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    return sock


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: whoever runs the provider stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


@contextlib.asynccontextmanager
async def serving(provider: OpenIdProvider, sock: socket.socket) -> AsyncIterator[None]:
    """Serve ``provider`` on ``sock`` on this event loop until the block ends."""
    import asyncio  # the module stays importable without starting anything

    server = _QuietServer(
        uvicorn.Config(provider.app, log_level="warning", access_log=False, lifespan="off")
    )
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise OSError("the demo OpenID Provider stopped at start")
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


def authorization_query(**params: str) -> str:
    """A query string for ``/authorize`` (for tests and examples)."""
    return urlencode(params)
