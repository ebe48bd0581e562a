"""The attacks of issue 16, each performed against what a user runs: ``ferryman up``.

``up`` starts one ``python -m ferryman up`` child for the whole session (fast demo timings), in a
state directory whose parent any local user may traverse (so the file-permission attack is real),
with the demo's token file seeded with more users (``gina``, ``mallory``), whom the tests grant
only what an attack needs. Tests that change the demo's state use their own objects, never the
demo pipeline's approvals, so their order does not matter.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

# Extra demo users (token-file rows): the tests grant them RBAC with the admin kubeconfig.
EXTRA_USERS = ("gina", "mallory")
FAST = ("--soak-seconds", "2", "--flux-delay", "0.2", "--flux-interval", "0.1")


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Up:
    """One running ``ferryman up``: its state directory, UI/API URL and users' tokens."""

    root: Path  # world-traversable parent of the state directory
    state_dir: Path
    url: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    banner: list[str] = field(default_factory=list)

    @property
    def admin_kubeconfig(self) -> Path:
        """The kubeconfig ``ferryman up`` writes for the admin (system:masters)."""
        return self.state_dir / "kubeconfig"

    def kubeconfig(self, user: str, target: Path) -> Path:
        """A copy of the admin kubeconfig that authenticates as ``user``."""
        config = yaml.safe_load(self.admin_kubeconfig.read_text())
        for entry in config["users"]:
            entry["user"] = {"token": self.tokens[user]}
        target.write_text(yaml.safe_dump(config))
        target.chmod(0o600)
        return target


def seed_users(state_dir: Path) -> dict[str, str]:
    """The demo token file with alice and bob (as the demo would make them) plus EXTRA_USERS."""
    rows = {
        "alice": "release-managers",
        "bob": "viewers",
        **dict.fromkeys(EXTRA_USERS, ""),
    }
    tokens = {name: secrets.token_urlsafe(24) for name in rows}
    state_dir.mkdir(parents=True)
    lines = [f'{tokens[name]},{name},{name},"{groups}"' for name, groups in rows.items()]
    path = state_dir / "demo-users.csv"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return tokens


def start(up: Up) -> None:
    """Launch ``ferryman up`` for ``up`` and wait for its banner."""
    command = [
        sys.executable,
        "-m",
        "ferryman",
        "up",
        "--dir",
        str(up.state_dir),
        "--api-port",
        "0",
        "--http-port",
        str(free_port()),
        "--log-level",
        "info",
        *FAST,
    ]
    log = (up.root / "ferryman-up.log").open("w")
    up.process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=up.root,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    ready = threading.Event()

    def read() -> None:
        assert up.process is not None and up.process.stdout is not None
        for line in up.process.stdout:
            up.banner.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(90) or not any(line.startswith("Press Ctrl-C") for line in up.banner):
        up.process.kill()
        logged = (up.root / "ferryman-up.log").read_text()
        raise AssertionError("ferryman up did not start:\n" + "\n".join(up.banner) + logged)
    match = re.search(r"Web UI:\s+(http://\S+)/", "\n".join(up.banner))
    assert match is not None, up.banner
    up.url = match.group(1)


def kube_client(kubeconfig: Path) -> httpx.Client:
    """A JSON client for the embedded API server with ``kubeconfig``'s CA and token."""
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    context = ssl.create_default_context(
        cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
    )
    token = config["users"][0]["user"]["token"]
    return httpx.Client(
        base_url=cluster["server"],
        headers={"Authorization": f"Bearer {token}"},
        verify=context,
        timeout=10,
    )


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m ferryman ARGS`` as a user runs it, in ``cwd``; never raises on failure."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FERRYMAN_", "KUBE"))}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "ferryman", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def stop(up: Up) -> None:
    """Ctrl-C, as a user stops it (SIGKILL when it does not stop in time)."""
    if up.process is None:
        return
    with contextlib.suppress(ProcessLookupError):
        up.process.send_signal(signal.SIGINT)
    try:
        up.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        up.process.kill()
        up.process.wait(timeout=30)
    if up.process.stdout is not None:
        up.process.stdout.close()
