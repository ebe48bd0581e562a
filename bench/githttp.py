"""Real Git over smart HTTP for the benchmarks: ``git http-backend`` (CGI) behind a threaded
HTTP server on a free loopback port, serving the bare repositories under one directory.

Every request runs ``git http-backend`` exactly as a web server's CGI would (``REMOTE_USER`` set,
so pushes are accepted); nothing is faked. ``create_repository`` makes a bare repository with one
commit of the files given.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "LC_ALL": "C",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git; its standard output."""
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=True
    ).stdout


def create_repository(
    root: Path, name: str, files: Mapping[str, str], branch: str = "main"
) -> Path:
    """A bare repository ``root/name`` whose ``branch`` holds ``files`` in one commit."""
    bare = root / name
    git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(bare))
    with tempfile.TemporaryDirectory() as work:
        tree = Path(work)
        git("init", "--quiet", f"--initial-branch={branch}", cwd=tree)
        for path, text in files.items():
            (tree / path).parent.mkdir(parents=True, exist_ok=True)
            (tree / path).write_text(text, encoding="utf-8")
        git("add", "--all", cwd=tree)
        git("commit", "--quiet", "-m", "Initial manifests", cwd=tree)
        git("push", "--quiet", str(bare), f"{branch}:{branch}", cwd=tree)
    return bare


def branch_head(bare: Path, branch: str = "main") -> str:
    """The commit ``branch`` points at, read from the repository's refs (no process)."""
    loose = bare / "refs" / "heads" / branch
    try:
        return loose.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    packed = bare / "packed-refs"
    for line in packed.read_text(encoding="ascii").splitlines():
        if line.endswith(f" refs/heads/{branch}"):
            return line.split()[0]
    return ""


class _Handler(http.server.BaseHTTPRequestHandler):
    """One CGI call of ``git http-backend`` per request."""

    root: Path
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        del format, args

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    return b"".join(chunks)
                chunks.append(chunk)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _cgi(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._body() if self.command == "POST" else b""
        env = {
            **GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": "bench",
            "REMOTE_ADDR": "127.0.0.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        out = subprocess.run([HTTP_BACKEND], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        if not payload and b"\n\n" in out:
            head, _, payload = out.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class GitHttp:
    """The server (see the module docstring); ``url(name)`` is a repository's clone URL."""

    def __init__(self, root: Path) -> None:
        handler = type("Handler", (_Handler,), {"root": root})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, name: str) -> str:
        """The HTTP clone URL of the bare repository ``name``."""
        return f"http://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
