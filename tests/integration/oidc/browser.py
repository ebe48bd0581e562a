"""An httpx client that keeps cookies as a browser does on this machine.

Browsers treat ``http://localhost`` and ``http://127.0.0.1`` as secure contexts, so they keep and
send ``Secure`` cookies there; Python's cookie jar does not, and httpx builds a fresh jar (with the
default policy) for every request. So the cookies live in our own jar, whose policy allows
``Secure`` cookies on loopback only, and two event hooks move them: every request (redirects
included, which httpx follows itself) gets the jar's ``Cookie`` header, every response's
``Set-Cookie`` goes into the jar. ``SameSite`` is not modelled: Chromium tests that part.
"""

from __future__ import annotations

import email.message
import http.cookiejar
import ipaddress
import urllib.request
from typing import Any

import httpx


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Policy(http.cookiejar.DefaultCookiePolicy):
    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        host = urllib.request.urlparse(request.get_full_url()).hostname or ""
        return _loopback(host) or bool(super().return_ok_secure(cookie, request))

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return bool(super().set_ok(cookie, request))


class _Answer:
    """What ``CookieJar.extract_cookies`` reads of a response."""

    def __init__(self, response: httpx.Response) -> None:
        self._headers = email.message.Message()
        for name, value in response.headers.multi_items():
            self._headers[name] = value

    def info(self) -> email.message.Message:
        return self._headers


class Browser:
    """``client`` follows redirects and carries cookies across hosts as a browser would."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar(policy=_Policy())
        self.client = httpx.Client(
            follow_redirects=True,
            timeout=15,
            trust_env=False,
            event_hooks={"request": [self._send_cookies], "response": [self._keep_cookies]},
        )
        self.visited: list[str] = []

    def _send_cookies(self, request: httpx.Request) -> None:
        wrapped = urllib.request.Request(str(request.url), method=request.method)  # noqa: S310 - a cookie-jar key, never opened
        self.jar.add_cookie_header(wrapped)
        request.headers.pop("cookie", None)
        if wrapped.has_header("Cookie"):
            request.headers["Cookie"] = str(wrapped.get_header("Cookie"))
        self.visited.append(f"{request.method} {request.url}")

    def _keep_cookies(self, response: httpx.Response) -> None:
        url, method = str(response.request.url), response.request.method
        wrapped = urllib.request.Request(url, method=method)  # noqa: S310 - a cookie-jar key, never opened
        self.jar.extract_cookies(_Answer(response), wrapped)  # type: ignore[arg-type]

    def cookie(self, name: str) -> str | None:
        """The value of the cookie ``name`` (any host), if the jar holds one."""
        return next((c.value for c in self.jar if c.name == name), None)

    def close(self) -> None:
        self.client.close()
