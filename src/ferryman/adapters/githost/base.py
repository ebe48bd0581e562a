"""What every provider shares: repository URL parsing and pacing of content-creating calls.

Repository URLs: ``https://``, or SSH (``ssh://[user@]host[:port]/path``, ``user@host:path``) whose
API is then reached over HTTPS at the same host name; plain ``http://`` only for a loopback host
(127.0.0.1 or ::1), which is how the test servers run — a token must never cross a network in
clear text. An optional server URL (the spec's ``serverURL``: the service's base URL as a
browser opens it) names the API's origin and sub-path when the repository URL cannot.

Pacing: hosting services limit how fast one token may create content (GitHub: at most 80
content-creating requests a minute, its "secondary rate limit"). ``Pacer`` runs a generic cell
rate algorithm per (API host, token): a burst of ``burst`` calls, then one call per
``period / (limit - burst - 1)``, which keeps every window of ``period`` seconds at or below
``limit`` calls. A caller that would have to wait longer than ``max_wait`` gets a
``TemporaryError`` with that delay instead of holding a worker; after a rate-limit answer the key
is held until the provider's reset, so no further call is sent into a known refusal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final
from urllib import parse

from ferryman.domain import errors
from ferryman.ports import git

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1"})
DEFAULT_LIMIT: Final = 80
DEFAULT_PERIOD: Final = 60.0
DEFAULT_BURST: Final = 8
DEFAULT_MAX_WAIT: Final = 20.0


_SCP_LIKE: Final = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[^:/\s]+):(?!//)(?P<path>.*)$")


@dataclasses.dataclass(frozen=True)
class RepositoryUrl:
    """A repository URL split into the server's origin, its sub-path and the repository path."""

    origin: str  # scheme://host[:port] of the web/API server
    segments: tuple[str, ...]  # the repository's path below the server (".git" removed)
    host: str
    prefix: tuple[str, ...] = ()  # the server's sub-path, from the server URL
    ssh: bool = False  # the repository URL is an SSH URL

    @property
    def base(self) -> str:
        """``origin`` with the server's sub-path: where the provider's API paths start."""
        return self.origin + "".join(f"/{segment}" for segment in self.prefix)


def parse_repository_url(
    url: str, *, provider: str, server_url: str | None = None
) -> RepositoryUrl:
    """Split ``url``; refuse anything but HTTPS, SSH (or HTTP on loopback) with a clear message.

    For an SSH URL the API is taken to be ``https://<same host>`` unless ``server_url`` says
    otherwise. A ``server_url`` also removes its own sub-path from an HTTPS repository path.
    """
    text = url.strip()
    ssh = _ssh_parts(text)
    if ssh is not None:
        host, path = ssh
        origin = f"https://{_netloc(host, None)}"
        parsed = RepositoryUrl(origin=origin, segments=_segments(path), host=host, ssh=True)
    else:
        parsed = _web_url(text, url=url, provider=provider, what="repository URL")
    if server_url is None:
        return parsed
    server = _web_url(server_url.strip(), url=server_url, provider=provider, what="serverURL")
    segments = parsed.segments
    if not parsed.ssh and segments[: len(server.segments)] == server.segments:
        segments = segments[len(server.segments) :]
    return RepositoryUrl(
        origin=server.origin,
        segments=segments,
        host=server.host,
        prefix=server.segments,
        ssh=parsed.ssh,
    )


def _ssh_parts(url: str) -> tuple[str, str] | None:
    """(host, path) of an SSH URL, ``None`` for anything else."""
    parts = parse.urlsplit(url)
    if parts.scheme == "ssh":
        return parts.hostname or "", parts.path
    if "://" not in url:
        match = _SCP_LIKE.match(url)
        if match:
            return match["host"], match["path"]
    return None


def _web_url(text: str, *, url: str, provider: str, what: str) -> RepositoryUrl:
    parts = parse.urlsplit(text)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    if not host or not (secure or (parts.scheme == "http" and host in LOOPBACK_HOSTS)):
        raise errors.PermanentError(
            f'the {provider} {what} "{_safe(url)}" must start with https:// or be an SSH URL '
            "(plain http:// is allowed for 127.0.0.1 only)",
            reason="InvalidRepositoryURL",
        )
    if parts.password is not None:
        raise errors.PermanentError(
            f"the {what} contains a password; put credentials in the Secret instead",
            reason="InvalidRepositoryURL",
        )
    origin = f"{parts.scheme}://{_netloc(host, parts.port)}"
    return RepositoryUrl(origin=origin, segments=_segments(parts.path), host=host)


def _netloc(host: str, port: int | None) -> str:
    netloc = f"[{host}]" if ":" in host else host
    return netloc if port is None else f"{netloc}:{port}"


def _segments(path: str) -> tuple[str, ...]:
    path = path.rstrip("/").removesuffix(".git")
    return tuple(parse.unquote(segment) for segment in path.split("/") if segment)


def invalid_url(url: str, *, provider: str, expected: str) -> errors.PermanentError:
    """The error for a URL whose path does not name a repository of ``provider``."""
    return errors.PermanentError(
        f'"{_safe(url)}" is not a {provider} repository URL (expected {expected})',
        reason="InvalidRepositoryURL",
    )


def _safe(url: str) -> str:
    parts = parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc += f":{parts.port}"
    return parse.urlunsplit(parts._replace(netloc=netloc))


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying so at the end."""
    marker = "\n\n(truncated)"
    return text if len(text) <= limit else text[: limit - len(marker)] + marker


def latest_per_context(found: list[git.CommitStatus]) -> list[git.CommitStatus]:
    """The first status of each context (providers list the newest first), in listed order."""
    seen: dict[str, git.CommitStatus] = {}
    for status in found:
        seen.setdefault(status.context, status)
    return list(seen.values())


def pacing_key(host: str, token: str) -> str:
    """Key of one token at one API host; the token itself is hashed, never kept."""
    return f"{host}/{hashlib.sha256(token.encode('utf-8')).hexdigest()[:16]}"


class Pacer:
    """Per-key pacing of content-creating calls (see the module docstring)."""

    def __init__(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        period: float = DEFAULT_PERIOD,
        burst: int = DEFAULT_BURST,
        max_wait: float = DEFAULT_MAX_WAIT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 <= burst < limit - 1:
            raise ValueError("burst must be at least 0 and below limit - 1")
        self.interval = period / (limit - burst - 1)
        self._tolerance = burst * self.interval
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._next: dict[str, float] = {}  # theoretical arrival time of the next call, per key
        self._held: dict[str, float] = {}  # provider-imposed pause, per key

    def check(self, key: str) -> None:
        """Raise ``TemporaryError`` while the provider told this key to pause."""
        remaining = self._held.get(key, 0.0) - self._clock()
        if remaining > 0:
            raise errors.TemporaryError(
                f"the provider asked to pause requests for {remaining:.0f}s (rate limit)",
                delay=timedelta(seconds=remaining),
                reason="RateLimited",
            )

    async def acquire(self, key: str) -> None:
        """Wait for this key's next slot; raise ``TemporaryError`` if that is too far away."""
        self.check(key)
        now = self._clock()
        arrival = max(self._next.get(key, now), now)
        wait = arrival - self._tolerance - now
        if wait > self._max_wait:
            raise errors.TemporaryError(
                f"pacing content-creating requests: next slot in {wait:.0f}s",
                delay=timedelta(seconds=wait),
                reason="RateLimited",
            )
        self._next[key] = arrival + self.interval  # reserve before sleeping: callers queue up
        if wait > 0:
            await self._sleep(wait)

    def hold(self, key: str, delay: timedelta) -> None:
        """Pause the key for ``delay`` (the provider's Retry-After or reset)."""
        until = self._clock() + delay.total_seconds()
        self._held[key] = max(self._held.get(key, 0.0), until)
