"""Git over smart HTTP for tests: ``git http-backend`` (CGI) behind a small threaded HTTP server.

Clone, fetch and push are real Git over HTTP with real basic-auth credentials: a Git request
without the right ``Authorization`` gets 401 and a ``WWW-Authenticate`` challenge, exactly what
makes the git client ask its ``GIT_ASKPASS`` helper (or, with ``bearer``, only
``Authorization: Bearer <bearer>`` is accepted, as a server behind a token-checking proxy does).
Any other path goes to an optional API application (``ApiApp``), so one base URL serves both Git
and a hosting API, like a real host. With ``tls`` (an ``ssl.SSLContext``) the server speaks
HTTPS, with whatever certificate — from a private CA, requiring client certificates — the
context holds.

Bare repositories live under ``root``; ``create_repository`` makes one from a dict of files.
"""

from __future__ import annotations

import base64
import dataclasses
import http.server
import json
import os
import ssl
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib import parse

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
_GIT_SUFFIXES = ("/info/refs", "/git-upload-pack", "/git-receive-pack", "/HEAD")
_GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "LC_ALL": "C",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


@dataclasses.dataclass
class Request:
    """One HTTP request as an API application sees it."""

    method: str
    path: str  # raw, still percent-encoded
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclasses.dataclass
class Response:
    """What an API application answers."""

    status: int
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


class ApiApp(Protocol):
    """Anything that answers the non-Git requests."""

    def handle(self, request: Request) -> Response: ...


def git(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> str:
    """Run git for test set-up and inspection, failing loudly."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=_GIT_ENV, input=stdin, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode()}")
    return done.stdout.decode()


def create_bare(path: Path, files: Mapping[str, bytes], *, branch: str = "main") -> Path:
    """A bare repository at ``path`` whose ``branch`` has one commit with ``files``."""
    path.mkdir(parents=True)
    git("init", "-q", "--bare", "-b", branch, str(path))
    commit_files(path, files, branch=branch, message="Initial manifests")
    return path


def commit_files(
    bare: Path, files: Mapping[str, bytes], *, branch: str = "main", message: str = "Change"
) -> str:
    """Commit ``files`` (path → content) on top of ``branch`` of ``bare``, as another user would."""
    work = bare.parent / f".work-{bare.name}-{threading.get_ident()}"
    if work.exists():
        subprocess.run(["rm", "-rf", str(work)], check=True)
    git("clone", "-q", str(bare), str(work))
    try:
        if git("ls-remote", "--heads", str(bare), branch).strip():
            git("checkout", "-q", branch, cwd=work)
        else:
            git("checkout", "-q", "-b", branch, cwd=work)
        for name, content in files.items():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            git("add", "--", name, cwd=work)
        git("commit", "-q", "-m", message, cwd=work)
        git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
        return git("rev-parse", "HEAD", cwd=work).strip()
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=True)


def show(bare: Path, revision: str, name: str) -> bytes:
    """The bytes of ``name`` at ``revision`` of ``bare``."""
    done = subprocess.run(
        ["git", "--git-dir", str(bare), "show", f"{revision}:{name}"],
        env=_GIT_ENV,
        capture_output=True,
        check=True,
    )
    return done.stdout


def log(bare: Path, ref: str, *, fmt: str = "%H %s") -> list[str]:
    """``git log --format`` lines of ``ref`` in ``bare``, newest first."""
    return git("--git-dir", str(bare), "log", f"--format={fmt}", ref).splitlines()


def branches(bare: Path) -> dict[str, str]:
    """Branch name → SHA of every branch in ``bare``."""
    listed = git("--git-dir", str(bare), "for-each-ref", "--format=%(refname:short) %(objectname)")
    pairs = (line.split(" ", 1) for line in listed.splitlines())
    return dict(pairs)  # type: ignore[arg-type]


class GitServer:
    """The server: Git smart HTTP under ``root`` plus an optional API app, on 127.0.0.1:0."""

    def __init__(
        self,
        root: Path,
        *,
        username: str,
        password: str,
        api: ApiApp | None = None,
        bearer: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.root = root
        self.username = username
        self.password = password
        self.bearer = bearer
        self.api = api
        self.git_requests = 0
        self.stopping = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def do_GET(self) -> None:
                server.dispatch(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        scheme = "http"
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            scheme = "https"
        self.base_url = f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> GitServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    # ------------------------------------------------------------------------ request handling

    def dispatch(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        raw_path, _, query = handler.path.partition("?")
        if raw_path.endswith(_GIT_SUFFIXES):
            self._git(handler, raw_path, query, body)
            return
        if self.api is None:
            _send(handler, 404, b"not found", {"Content-Type": "text/plain"})
            return
        request = Request(
            method=handler.command,
            path=raw_path,
            query={key: values[-1] for key, values in parse.parse_qs(query).items()},
            headers={key.lower(): value for key, value in handler.headers.items()},
            body=body,
        )
        response = self.api.handle(request)
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        headers = {"Content-Type": "application/json", **response.headers}
        _send(handler, response.status, payload, headers)

    def _authorised(self, handler: http.server.BaseHTTPRequestHandler) -> bool:
        if self.bearer is not None:
            return handler.headers.get("Authorization", "") == f"Bearer {self.bearer}"
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return handler.headers.get("Authorization", "") == f"Basic {expected}"

    def _git(
        self, handler: http.server.BaseHTTPRequestHandler, path: str, query: str, body: bytes
    ) -> None:
        self.git_requests += 1
        if not self._authorised(handler):
            _send(handler, 401, b"auth required", {"WWW-Authenticate": 'Basic realm="git"'})
            return
        env = {
            **_GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": parse.unquote(path),
            "REQUEST_METHOD": handler.command,
            "QUERY_STRING": query,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": self.username,
            "REMOTE_ADDR": "127.0.0.1",
        }
        for header in ("Git-Protocol", "Content-Encoding"):
            if header in handler.headers:
                env["HTTP_" + header.upper().replace("-", "_")] = handler.headers[header]
        done = subprocess.run(
            [HTTP_BACKEND], input=body, env=env, capture_output=True, check=False, timeout=30
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = done.stdout.partition(b"\n\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split(" ")[0])
            elif name:
                headers[name] = value.strip()
        _send(handler, status, payload, headers)


def _read_body(handler: http.server.BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _send(
    handler: http.server.BaseHTTPRequestHandler,
    status: int,
    payload: bytes,
    headers: Mapping[str, str],
) -> None:
    try:
        handler.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (a timeout test); nothing to tell it
