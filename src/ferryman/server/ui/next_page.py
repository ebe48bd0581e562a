r"""Where a sign-in returns to: ``next``, a path on this site, or ``/``.

``/signin?next=/pipelines/…`` (and the OpenID sign-in's flow) carry the page a signed-out
browser asked for. It is used only as an absolute path on this site: it must start with a single
``/`` and hold no scheme, host, backslash, quote, space or control character (a browser drops
tabs and newlines from URLs, so ``/\t/evil`` would become ``//evil``), at most 2 KiB, and not
lead back to sign-in or sign-out; anything else becomes ``/``. So no ``next`` can send the
browser to another site (``//evil``, ``https://evil``, ``/\evil``).
"""

from __future__ import annotations

import string
from typing import Final
from urllib.parse import quote, urlsplit

MAX_NEXT: Final = 2048
_NEXT_CHARS: Final = frozenset(string.ascii_letters + string.digits + "-._~!$&()*+,;=:@/?%")


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this site (see the module docstring), else ``/``."""
    if not value or len(value) > MAX_NEXT or not value.startswith("/") or value.startswith("//"):
        return "/"
    if any(char not in _NEXT_CHARS for char in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(("/signin", "/signout")):
        return "/"
    return value


def sign_in_url(next_path: str) -> str:
    """``/signin``, with ``?next=`` when the sign-in should return somewhere other than ``/``."""
    chosen = safe_next(next_path)
    return "/signin" if chosen == "/" else f"/signin?next={quote(chosen, safe='/')}"
