"""Hand credentials to the git CLI without putting them in argv, URLs, files we keep, or logs.

- HTTPS: ``GIT_ASKPASS`` names a tiny shell script (written once, holding no secret) that prints
  ``$FERRYMAN_GIT_USERNAME`` or ``$FERRYMAN_GIT_PASSWORD``; the values live only in the
  environment of the one git process that needs them. Git asks only after a 401, so a repository
  that needs no credentials never sees them.
- SSH: ``GIT_SSH_COMMAND`` points ssh at an identity file (mode 0600) and a known_hosts file in a
  private temporary directory (mode 0700) that is removed when the operation ends; host keys are
  always checked.
- Local repositories (a path or ``file://``) need nothing.

``scrub`` removes secret values — also base64- and percent-encoded, as a hostile server echoing
an ``Authorization`` header would return them — and URL user-info from any text before it becomes
an error message, as a second line of defence should git or a server ever echo one.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shlex
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final
from urllib import parse

from ferryman.domain import errors
from ferryman.ports import git

ASKPASS_SCRIPT: Final = """#!/bin/sh
# Ferryman's GIT_ASKPASS helper: the answers come from this process's environment only.
case "$1" in
  Username*|username*) printf '%s\\n' "$FERRYMAN_GIT_USERNAME" ;;
  *) printf '%s\\n' "$FERRYMAN_GIT_PASSWORD" ;;
esac
"""
# GitHub, Gitea and Azure DevOps accept any user name with a token; GitLab wants a non-empty one.
DEFAULT_TOKEN_USER: Final = "ferryman"  # noqa: S105 -- a user name, not a password
_USERINFO: Final = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_SCP_LIKE: Final = re.compile(r"^[A-Za-z0-9._-]+@[^:/]+:")
_PERCENT: Final = re.compile(r"%[0-9A-F]{2}")
REDACTED: Final = "***"


class Transport:
    """How a repository URL is reached."""

    LOCAL = "local"
    HTTP = "http"
    SSH = "ssh"


def transport(url: str) -> str:
    """``local``, ``http`` or ``ssh`` for ``url``; refuses URLs that carry a password."""
    parts = parse.urlsplit(url)
    if parts.scheme in ("http", "https"):
        if parts.password is not None:
            raise errors.PermanentError(
                "the repository URL contains a password; put credentials in the Secret instead",
                reason="InvalidRepositoryURL",
            )
        return Transport.HTTP
    if parts.scheme == "ssh" or _SCP_LIKE.match(url):
        return Transport.SSH
    if parts.scheme in ("", "file"):
        return Transport.LOCAL
    raise errors.PermanentError(
        f'unsupported repository URL scheme "{parts.scheme}" (use https, ssh, file or a path)',
        reason="InvalidRepositoryURL",
    )


def remote_url(url: str) -> str:
    """The URL git is given: local paths become absolute ``file://`` URLs, others stay as they are.

    ``file://`` (not a bare path) makes git honour ``--depth`` for local repositories too.
    """
    if transport(url) == Transport.LOCAL and not url.startswith("file:"):
        return Path(url).expanduser().resolve().as_uri()
    return url


def write_askpass(directory: Path) -> Path:
    """Write the askpass helper into ``directory`` (no secret is written) and return its path."""
    script = directory / "askpass.sh"
    script.write_text(ASKPASS_SCRIPT, encoding="utf-8")
    script.chmod(0o700)
    return script


@contextlib.contextmanager
def environment(
    url: str, credentials: git.Credentials, *, askpass: Path
) -> Iterator[dict[str, str]]:
    """Extra environment for git processes reaching ``url`` with ``credentials``.

    For SSH the identity and known_hosts are written into a private temporary directory that is
    removed when the context ends, also on errors.
    """
    kind = transport(url)
    if kind == Transport.HTTP:
        yield _http_environment(credentials, askpass=askpass)
    elif kind == Transport.SSH:
        with tempfile.TemporaryDirectory(prefix="ferryman-ssh-") as scratch:
            yield _ssh_environment(credentials, Path(scratch))
    else:
        yield {}


def _http_environment(credentials: git.Credentials, *, askpass: Path) -> dict[str, str]:
    password = credentials.password or credentials.token
    if not password:
        return {}
    return {
        "GIT_ASKPASS": str(askpass),
        "FERRYMAN_GIT_USERNAME": credentials.username or DEFAULT_TOKEN_USER,
        "FERRYMAN_GIT_PASSWORD": password,
    }


def _ssh_environment(credentials: git.Credentials, scratch: Path) -> dict[str, str]:
    command = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
    if credentials.identity:
        identity = _private_file(scratch / "identity", credentials.identity)
        command += ["-i", str(identity), "-o", "IdentitiesOnly=yes"]
    if credentials.known_hosts:
        known_hosts = _private_file(scratch / "known_hosts", credentials.known_hosts)
        command += ["-o", f"UserKnownHostsFile={known_hosts}"]
    return {"GIT_SSH_COMMAND": shlex.join(command)}


def _private_file(path: Path, content: str) -> Path:
    """Create ``path`` readable by this user only, before any byte of ``content`` is written."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content if content.endswith("\n") else content + "\n")
    return path


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` without URL user-info and without any of ``secrets`` in any form ``encoded_forms``
    knows (longest first)."""
    cleaned = _USERINFO.sub(lambda match: f"{match['scheme']}{REDACTED}@", text)
    forms = {form for value in secrets if value for form in encoded_forms(value)}
    for form in sorted(forms, key=len, reverse=True):
        cleaned = cleaned.replace(form, REDACTED)
    return cleaned


# Base64 runs shorter than this are not scrubbed: they would match ordinary words.
MIN_ENCODED_RUN: Final = 8


def encoded_forms(secret: str) -> set[str]:
    """``secret`` as a hostile server could echo it: plain, percent-encoded (upper- and lower-case
    hex, ``+`` for spaces) and base64 (standard and URL-safe alphabets).

    Base64 of a secret inside a longer value — ``Authorization: Basic base64(user:password)`` — has
    different characters depending on the secret's offset modulo 3, so for each of the three
    offsets the run of characters that depend on the secret's bytes alone is taken.
    """
    forms = {secret, parse.quote(secret, safe=""), parse.quote_plus(secret), parse.quote(secret)}
    forms |= {_PERCENT.sub(lambda m: m.group().lower(), form) for form in list(forms)}
    raw = secret.encode("utf-8")
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.add(encode(raw).decode("ascii"))
        for offset in range(3):
            encoded = encode(b"\0" * offset + raw).decode("ascii")
            first = -(-8 * offset // 6)  # the first character made of secret bits only
            last = 8 * (offset + len(raw)) // 6  # past the last one not touched by what follows
            if last - first >= MIN_ENCODED_RUN:
                forms.add(encoded[first:last])
    return {form for form in forms if form}
