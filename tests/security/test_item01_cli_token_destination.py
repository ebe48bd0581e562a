"""Issue 16, item 1: the CLI must not send your token where the current directory says.

The review cloned a repository shipping ``.ferryman/cli.yaml`` and ran ``ferryman approve`` in it:
the bearer token of the kubeconfig's cluster went to the server that file named. Here a listener on
loopback plays the attacker's server; the real CLI runs in the "cloned" directory with alice's
kubeconfig from ``ferryman up``.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.security import demo


class Recorder(http.server.BaseHTTPRequestHandler):
    """The attacker's server: records every Authorization header it is sent."""

    seen: list[str] = []

    def do_POST(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"phase": "Approved"}')

    def log_message(self, *args: object) -> None:
        del args


@pytest.fixture
def attacker() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server recording tokens (loopback, so plain HTTP would be allowed)."""
    Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


def cloned_repository(tmp_path: Path, server: str) -> Path:
    """A directory as a hostile repository would be checked out: it ships a CLI config."""
    repo = tmp_path / "cloned"
    (repo / ".ferryman").mkdir(parents=True)
    (repo / ".ferryman" / "cli.yaml").write_text(f"server: {server}\n")
    (repo / "ferryman.yaml").write_text(f"server: {server}\n")
    return repo


def test_item1_config_in_the_current_directory_never_receives_the_token(
    up: demo.Up, attacker: tuple[str, list[str]], tmp_path: Path
) -> None:
    """Run in the cloned directory with no server configured: the CLI refuses with a sentence and
    the attacker's server receives nothing."""
    url, seen = attacker
    repo = cloned_repository(tmp_path, url)
    kubeconfig = up.kubeconfig("alice", tmp_path / "alice.kubeconfig")
    home = tmp_path / "home"
    done = demo.run_cli(
        "approve", "podinfo", "--env", "prod", "--revision", "6.1.0",
        "--kubeconfig", str(kubeconfig),
        cwd=repo,
        env={"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no Ferryman server is configured" in done.stderr
    assert "Traceback" not in done.stderr
    assert seen == []


def test_item1_user_config_and_named_file_are_used(up: demo.Up, tmp_path: Path) -> None:
    """The user's own config file (and a file named with --config) still point the CLI at the
    server: the real server of ``ferryman up`` answers (409: nothing waits for that revision)."""
    kubeconfig = up.kubeconfig("alice", tmp_path / "alice.kubeconfig")
    home = tmp_path / "home"
    user_file = home / ".config" / "ferryman" / "config.yaml"
    user_file.parent.mkdir(parents=True)
    user_file.write_text(f"server: {up.url}\n")
    named = tmp_path / "named.yaml"
    named.write_text(f"server: {up.url}\n")
    approve = ("approve", "podinfo", "--env", "prod", "--revision", "0.0.0-nothing-waits")
    for extra in ((), ("--config", str(named))):
        done = demo.run_cli(
            *approve, "--kubeconfig", str(kubeconfig), *extra,
            cwd=tmp_path, env={"HOME": str(home)},
        )  # fmt: skip
        assert done.returncode == 1
        assert "is waiting for" in done.stderr or "not waiting" in done.stderr, done.stderr


@pytest.mark.parametrize(
    "server", ["http://ferryman.example.com", "http://192.0.2.10:8080", "ftp://127.0.0.1"]
)
def test_item1_token_is_never_sent_over_plain_http_off_this_machine(
    up: demo.Up, tmp_path: Path, server: str
) -> None:
    """A plain-HTTP server that is not loopback is refused before any connection is made."""
    kubeconfig = up.kubeconfig("alice", tmp_path / "alice.kubeconfig")
    done = demo.run_cli(
        "approve", "podinfo", "--env", "prod", "--revision", "6.1.0",
        "--kubeconfig", str(kubeconfig), "--server", server,
        cwd=tmp_path, env={"HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 1
    assert "https://" in done.stderr and "Traceback" not in done.stderr
    assert "cannot reach" not in done.stderr  # refused, not attempted
