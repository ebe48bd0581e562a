"""Which Ferryman server ``approve`` and ``reject`` send the user's bearer token to.

The token is the user's Kubernetes credential (whatever cluster the kubeconfig points at), so the
server must be one the user chose, in this order:

1. ``--server URL``, or the ``FERRYMAN_SERVER`` environment variable (click reads it for the flag);
2. ``--config FILE``: a file the user names explicitly;
3. the user's own config file, ``$XDG_CONFIG_HOME/ferryman/config.yaml`` (default
   ``~/.config/ferryman/config.yaml``).

Never a file found in the current directory: a cloned repository that ships one would receive the
token (issue 16, item 1). And never over plain ``http://`` except to this machine (``localhost``,
``127.0.0.0/8``, ``::1``), where nobody else can read it on the way.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from urllib import parse

import click
import yaml

CONFIG_NAME = "config.yaml"


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/ferryman/config.yaml`` (``~/.config`` when the variable is unset)."""
    env = os.environ if environ is None else environ
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "ferryman" / CONFIG_NAME


def _from_file(path: Path) -> str | None:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from exc
    if isinstance(document, dict) and isinstance(document.get("server"), str):
        return str(document["server"])
    return None


def server_url(
    flag: str | None, *, config_file: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """The server to use (see the module docstring), checked by ``check_transport``."""
    url = flag
    if not url and config_file:
        url = _from_file(Path(config_file))
        if url is None:
            raise click.ClickException(f'{config_file} has no "server: URL" entry')
    if not url:
        path = user_config_path(environ)
        url = _from_file(path) if path.is_file() else None
    if not url:
        raise click.ClickException(
            "no Ferryman server is configured: pass --server URL, set FERRYMAN_SERVER, or put "
            f'"server: URL" into {user_config_path(environ)}'
        )
    return check_transport(url.rstrip("/"))


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(url: str) -> str:
    """``url`` when a bearer token may be sent to it: HTTPS, or plain HTTP to loopback only."""
    parts = parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and host:
        if _loopback(host):
            return url
        raise click.ClickException(
            f"refusing to send your token to {host} over plain HTTP: use an https:// URL "
            "(plain http:// is accepted only for localhost, 127.0.0.1 and ::1)"
        )
    raise click.ClickException(
        "the Ferryman server URL must start with https:// (or http:// "
        "for this machine only) and name a host"
    )
