"""Hand credentials to the git CLI without putting them in argv, URLs, files we keep, or logs.

The Secret keys are Flux's (``fluxcd/pkg`` ``git.NewAuthOptions``), so a GitRepository's Secret
works as it is:

- HTTPS with ``bearerToken``: an ``Authorization: Bearer`` header, given to git through
  ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_0``/``GIT_CONFIG_VALUE_0`` (environment, never argv) as
  ``http.<origin>/.extraHeader``, so it is sent to that origin only. As in Flux, a bearer token
  wins over ``username``/``password``.
- HTTPS with ``username``/``password`` (or Ferryman's ``token`` as the password):
  ``GIT_ASKPASS`` names a tiny shell script (written once, holding no secret) that prints
  ``$FERRYMAN_GIT_USERNAME`` or ``$FERRYMAN_GIT_PASSWORD``; git asks only after a 401.
- TLS: ``ca.crt`` (older ``caFile``) is added to the system's trust store in a private bundle
  (``GIT_SSL_CAINFO``), as Flux adds it to the system pool; ``tls.crt``/``tls.key`` are a client
  certificate (``GIT_SSL_CERT``/``GIT_SSL_KEY``).
- SSH: ssh runs isolated — ``-F /dev/null``, the Secret's ``known_hosts`` as the only known-hosts
  file (``/dev/null`` for the global one), ``IdentitiesOnly``, no agent, no password prompts —
  so nothing of the controller user's ``~/.ssh`` or ``/etc/ssh`` is ever read. Host keys are
  always checked; a Secret without ``known_hosts`` is refused before ssh runs. A passphrase
  (Flux's ``password``) is checked here and handed to ssh through ``SSH_ASKPASS`` (another
  secret-free script, ``SSH_ASKPASS_REQUIRE=force``); the key file stays encrypted on disk.
- Local repositories (a path or ``file://``) need nothing.

``scrub`` removes secret values — also base64- and percent-encoded, as a hostile server echoing
an ``Authorization`` header would return them — and URL user-info from any text before it becomes
an error message, as a second line of defence should git or a server ever echo one. Every file
holding a secret is created mode 0600 in a private temporary directory (0700) that is removed
when the operation ends.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shlex
import ssl
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final
from urllib import parse

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from ferryman.domain import errors
from ferryman.ports import git

ASKPASS_SCRIPT: Final = """#!/bin/sh
# Ferryman's GIT_ASKPASS helper: the answers come from this process's environment only.
case "$1" in
  Username*|username*) printf '%s\\n' "$FERRYMAN_GIT_USERNAME" ;;
  *) printf '%s\\n' "$FERRYMAN_GIT_PASSWORD" ;;
esac
"""
SSH_ASKPASS_SCRIPT: Final = """#!/bin/sh
# Ferryman's SSH_ASKPASS helper: answers only ssh's passphrase question, from the environment.
case "$1" in
  *passphrase*) printf '%s\\n' "$FERRYMAN_SSH_PASSPHRASE" ;;
  *) exit 1 ;;
esac
"""
# GitHub, Gitea and Azure DevOps accept any user name with a token; GitLab wants a non-empty one.
DEFAULT_TOKEN_USER: Final = "ferryman"  # noqa: S105 -- a user name, not a password
_USERINFO: Final = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_SCP_LIKE: Final = re.compile(r"^[A-Za-z0-9._-]+@[^:/]+:")
_PERCENT: Final = re.compile(r"%[0-9A-F]{2}")
REDACTED: Final = "***"
# How cryptography says a passphrase did not open a key (PEM: "Incorrect password, could not
# decrypt key"; OpenSSH: "Corrupt data: broken checksum").
_WRONG_PASSPHRASE: Final = ("password", "decrypt", "checksum")
# Options that keep ssh away from every file and agent but the ones Ferryman hands it.
SSH_ISOLATION: Final = (
    "StrictHostKeyChecking=yes",
    "GlobalKnownHostsFile=/dev/null",
    "UpdateHostKeys=no",
    "IdentitiesOnly=yes",
    "IdentityAgent=none",
    "PasswordAuthentication=no",
    "KbdInteractiveAuthentication=no",
    "ControlMaster=no",
    "ControlPath=none",
)


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
    """Write the askpass helpers into ``directory`` (no secret is written); the git one's path.

    The ssh helper lies next to it (``ssh_askpass_path``). ``directory`` is made absolute: git
    and ssh run in another working directory, where a relative helper path would not resolve.
    """
    directory = directory.absolute()
    for name, text in (("askpass.sh", ASKPASS_SCRIPT), ("ssh-askpass.sh", SSH_ASKPASS_SCRIPT)):
        script = directory / name
        script.write_text(text, encoding="utf-8")
        script.chmod(0o700)
    return directory / "askpass.sh"


def ssh_askpass_path(askpass: Path) -> Path:
    """The ssh passphrase helper written by ``write_askpass`` next to ``askpass``."""
    return askpass.with_name("ssh-askpass.sh")


@contextlib.contextmanager
def environment(
    url: str, credentials: git.Credentials, *, askpass: Path
) -> Iterator[dict[str, str]]:
    """Extra environment for git processes reaching ``url`` with ``credentials``.

    Files holding secrets live in a private temporary directory removed when the context ends,
    also on errors. Raises ``PermanentError`` for credentials that cannot work as given.
    """
    kind = transport(url)
    if kind == Transport.LOCAL:
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="ferryman-credentials-") as scratch:
        if kind == Transport.HTTP:
            yield _http_environment(url, credentials, askpass=askpass, scratch=Path(scratch))
        else:
            yield _ssh_environment(credentials, askpass=askpass, scratch=Path(scratch))


def _http_environment(
    url: str, credentials: git.Credentials, *, askpass: Path, scratch: Path
) -> dict[str, str]:
    env = _tls_environment(credentials, scratch)
    if credentials.bearer_token:
        origin = _origin(url)
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": f"http.{origin}/.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Bearer {credentials.bearer_token}",
            }
        )
        return env
    password = credentials.password or credentials.token
    if password:
        env.update(
            {
                "GIT_ASKPASS": str(askpass.absolute()),
                "FERRYMAN_GIT_USERNAME": credentials.username or DEFAULT_TOKEN_USER,
                "FERRYMAN_GIT_PASSWORD": password,
            }
        )
    return env


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (user-info dropped), for a URL-scoped git setting."""
    parts = parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}"


def _tls_environment(credentials: git.Credentials, scratch: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    if credentials.ca:
        env["GIT_SSL_CAINFO"] = str(_private_file(scratch / "ca.pem", _ca_bundle(credentials.ca)))
    if credentials.client_cert and credentials.client_key:
        env["GIT_SSL_CERT"] = str(_private_file(scratch / "tls.crt", credentials.client_cert))
        env["GIT_SSL_KEY"] = str(_private_file(scratch / "tls.key", credentials.client_key))
    return env


def _ca_bundle(ca: str) -> str:
    """The system's trusted certificates followed by ``ca`` (Flux appends to the system pool)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            system = Path(candidate).read_text(encoding="utf-8", errors="replace")
            return system.rstrip("\n") + "\n" + ca
    return ca


def _ssh_environment(
    credentials: git.Credentials, *, askpass: Path, scratch: Path
) -> dict[str, str]:
    if not credentials.known_hosts:
        raise errors.PermanentError(
            f'{credentials.source} has no "known_hosts" for Git over SSH; Ferryman checks every '
            "SSH host key and never trusts one it does not know (add the server's host keys as "
            "Flux does, for example with `flux create secret git`)",
            reason="HostKeyUnknown",
        )
    known_hosts = _private_file(scratch / "known_hosts", credentials.known_hosts)
    command = ["ssh", "-F", "/dev/null", "-o", f"UserKnownHostsFile={known_hosts}"]
    for option in SSH_ISOLATION:
        command += ["-o", option]
    env: dict[str, str] = {}
    if credentials.identity:
        identity = _private_file(scratch / "identity", credentials.identity)
        command += ["-i", str(identity)]
        if _needs_passphrase(credentials):
            env["SSH_ASKPASS"] = str(ssh_askpass_path(askpass.absolute()))
            env["SSH_ASKPASS_REQUIRE"] = "force"
            env["FERRYMAN_SSH_PASSPHRASE"] = credentials.password or ""
    else:
        command += ["-o", "IdentityFile=none"]
    # BatchMode forbids the passphrase question; without it every other prompt is switched off
    # above and ssh has no terminal, so nothing can wait for input.
    command += ["-o", f"BatchMode={'no' if 'SSH_ASKPASS' in env else 'yes'}"]
    env["GIT_SSH_COMMAND"] = shlex.join(command)
    env["GIT_SSH_VARIANT"] = "ssh"
    return env


def _needs_passphrase(credentials: git.Credentials) -> bool:
    """Whether the identity is encrypted; raises a clear error when the passphrase cannot open it.

    The key is decrypted in memory only to check the passphrase; ssh gets the encrypted file.
    """
    data = (credentials.identity or "").encode("utf-8")
    password = credentials.password.encode("utf-8") if credentials.password else None
    loader = (
        serialization.load_ssh_private_key
        if b"BEGIN OPENSSH PRIVATE KEY" in data
        else serialization.load_pem_private_key
    )
    try:
        loader(data, password)
    except TypeError as exc:  # "Password was given but private key is not encrypted" and back
        if password is not None:
            return False
        raise errors.PermanentError(
            f'the SSH key ("identity") in {credentials.source} is protected by a passphrase; '
            'put the passphrase in "password"',
            reason="CredentialsInvalid",
        ) from exc
    except ValueError as exc:
        message = str(exc).lower()
        if password is None or not any(word in message for word in _WRONG_PASSPHRASE):
            return False  # a key format cryptography does not read: let ssh judge it
        raise errors.PermanentError(
            f'the passphrase ("password") in {credentials.source} does not open its SSH key '
            '("identity")',
            reason="CredentialsInvalid",
        ) from exc
    except UnsupportedAlgorithm:
        return password is not None
    return password is not None


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
