"""A private OpenSSH server on loopback for Git over SSH: its own config, host key and port.

Debian's ``openssh-server`` (``make test`` installs it when missing) runs as the current user
with a configuration written here: one ed25519 host key, ``authorized_keys`` in the test's
directory, no PAM, no passwords, and a ``ForceCommand`` that serves only ``git-upload-pack`` and
``git-receive-pack`` for repositories below ``root`` — so ``ssh://user@127.0.0.1:<port>/acme/
deploy.git`` names ``<root>/acme/deploy.git``, as on a hosting service. Started and stopped by
the tests; nothing of the system's sshd configuration or service is used.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"
# Debian's sshd checks for its privilege separation directory when started as root.
PRIVSEP_DIR = Path("/run/sshd")
_SERVE = """#!/bin/sh
# Serve Git only, for repositories below the test root (paths as on a hosting service).
set -f
command=${{SSH_ORIGINAL_COMMAND%% *}}
path=${{SSH_ORIGINAL_COMMAND#* }}
path=${{path#\\'}}; path=${{path%\\'}}; path=${{path#/}}
case "$command" in
  git-upload-pack|git-receive-pack) exec "$command" "{root}/$path" ;;
  *) echo "only Git is served here" >&2; exit 1 ;;
esac
"""


def available() -> bool:
    """Whether sshd and ssh-keygen are installed."""
    return Path(SSHD).is_file() and shutil.which("ssh-keygen") is not None


def keygen(path: Path, kind: str, *, passphrase: str = "") -> tuple[str, str]:
    """A new key pair of ``kind`` (ed25519, rsa, ecdsa) at ``path``: (private, public) text."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", "ferryman-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.read_text(), path.with_suffix(".pub").read_text()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SshServer:
    """sshd on 127.0.0.1:<free port> serving the bare repositories below ``root``."""

    def __init__(self, root: Path, state: Path) -> None:
        self.root = root
        self.state = state
        self.user = getpass.getuser()
        self.port = _free_port()
        state.mkdir(parents=True, exist_ok=True)
        self.host_key = state / "host_ed25519"
        _, self._host_public = keygen(self.host_key, "ed25519")
        self.authorized_keys = state / "authorized_keys"
        self.authorized_keys.write_text("")
        serve = state / "serve-git"
        serve.write_text(_SERVE.format(root=root))
        serve.chmod(0o755)
        self.config = state / "sshd_config"
        self.config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key}",
                    f"PidFile {state / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.authorized_keys}",
                    f"AllowUsers {self.user}",
                    "StrictModes no",
                    "UsePAM no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin prohibit-password",
                    f"ForceCommand {serve}",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        self._process: subprocess.Popen[bytes] | None = None

    def known_hosts(self) -> str:
        """The ``known_hosts`` line that trusts this server's host key."""
        kind, key = self._host_public.split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {key}\n"

    def authorize(self, public_key: str) -> None:
        """Let the holder of ``public_key`` in."""
        with self.authorized_keys.open("a") as handle:
            handle.write(public_key.strip() + "\n")

    def url(self, path: str) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}/{path.lstrip('/')}"

    def start(self) -> SshServer:
        if os.geteuid() == 0 and not PRIVSEP_DIR.is_dir():
            PRIVSEP_DIR.mkdir(mode=0o755)
        with (self.state / "sshd.log").open("wb") as log:
            self._process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.config)],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError((self.state / "sshd.log").read_text())
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.02)
        raise RuntimeError("sshd did not start listening")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
