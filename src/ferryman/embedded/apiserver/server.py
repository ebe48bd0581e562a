"""Run the embedded API server: state directory, admin token, kubeconfig, uvicorn on loopback.

``EmbeddedApiServer`` binds its socket in ``__init__`` (so port 0 resolves before anything is
written), then serves either in the foreground (``run``, used by ``ferryman apiserver``; SIGINT and
SIGTERM stop it) or in a background thread with its own event loop (``start``/``stop``, used by
tests). Calls into the app from other threads are marshalled onto the server's loop.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TypeVar

import uvicorn

from ferryman.embedded.apiserver import auth, faults, kubeconfig, private, tls, transport
from ferryman.embedded.apiserver import oidc as oidc_authn
from ferryman.embedded.apiserver.app import ApiServerApp
from ferryman.embedded.apiserver.store import Store

T = TypeVar("T")
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret
DATABASE_FILE = "apiserver.db"
SERVICE_ACCOUNT_KEY_FILE = "service-account.key"
KUBECONFIG_FILE = "kubeconfig"


@dataclass(frozen=True)
class ServerConfig:
    """How to run one server; ``port=0`` picks a free port."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    token_file: Path | None = None
    fault_injection: bool = False
    bookmark_interval: float = 60.0
    tls: bool = True
    oidc: oidc_authn.Options | None = None  # accept this issuer's ID tokens (the --oidc-* flags)


def admin_token(data_dir: Path) -> str:
    """The admin token kept in the state directory, generated on first start."""
    path = data_dir / ADMIN_TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    token = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(token + "\n", encoding="utf-8")
    return token


def _secret_file(path: Path) -> bytes:
    """32 random bytes kept in ``path`` (0600), generated on first start."""
    if path.exists():
        return bytes.fromhex(path.read_text(encoding="utf-8").strip())
    key = secrets.token_bytes(32)
    path.touch(mode=0o600)
    path.write_text(key.hex() + "\n", encoding="utf-8")
    return key


class _Uvicorn(uvicorn.Server):
    """uvicorn, ending watch streams first so a signal stops the server promptly."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)


class EmbeddedApiServer:
    """One server instance (see the module docstring)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        if config.oidc is not None and (refused := oidc_authn.problems(config.oidc)):
            raise ValueError("; ".join(refused))
        data_dir = private.directory(Path(config.data_dir))  # 0700: it holds every Secret
        self.token = admin_token(data_dir)
        tokens = auth.TokenTable()
        tokens.add(self.token, auth.User("admin", "admin", auth.ADMIN_GROUPS))
        if config.token_file is not None:
            tokens.load_csv(Path(config.token_file))
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
        # and without it every response waits ~40 ms for a delayed ACK (Nagle).
        self._socket = socket.socket(
            socket.AF_INET6 if ":" in config.host else socket.AF_INET,
            socket.SOCK_STREAM,
            socket.IPPROTO_TCP,
        )
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((config.host, config.port))
        self._socket.listen(512)
        port = self._socket.getsockname()[1]
        host = f"[{config.host}]" if ":" in config.host else config.host
        self.cert_path: Path | None = None
        key_path: Path | None = None
        if config.tls:
            self.cert_path, key_path = tls.ensure_certificate(data_dir, config.host)
        self.url = f"{'https' if config.tls else 'http'}://{host}:{port}"
        self.port = port
        self.store = Store(data_dir / DATABASE_FILE)
        self.app = ApiServerApp(
            self.store,
            tokens,
            fault_injection=config.fault_injection,
            bookmark_interval=config.bookmark_interval,
            server_address=f"{host}:{port}",
            ca_pem=self.cert_path.read_text(encoding="utf-8") if self.cert_path else "",
            service_account_key=_secret_file(data_dir / SERVICE_ACCOUNT_KEY_FILE),
        )
        if config.oidc is not None:  # after the service-account tokens, as kube-apiserver
            tokens.chain.append(oidc_authn.Authenticator(config.oidc))
        self.kubeconfig_path = kubeconfig.write(
            data_dir / KUBECONFIG_FILE,
            self.url,
            self.token,
            ca_pem=self.cert_path.read_bytes() if self.cert_path else None,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._uvicorn = _Uvicorn(
            uvicorn.Config(
                self.app,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=3,
                ws="none",
                # llhttp (C) rather than h11, head and body in one send: ~2x the GETs per
                # second over one keep-alive connection (docs/performance.md).
                http=transport.CoalescingProtocol,
                ssl_certfile=str(self.cert_path) if self.cert_path else None,
                ssl_keyfile=str(key_path) if key_path else None,
            ),
            self._drop_watches_soon,
        )

    def _drop_watches_soon(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.app.drop_watches)

    # ------------------------------------------------------------ foreground
    async def serve(self) -> None:
        """Serve until asked to exit (a signal in the main thread, or ``stop``)."""
        self._loop = asyncio.get_running_loop()
        try:
            await self._uvicorn.serve(sockets=[self._socket])
        finally:
            self.store.close()

    def run(self) -> None:
        """Serve in the foreground; SIGINT/SIGTERM stop cleanly."""
        asyncio.run(self.serve())

    # ------------------------------------------------------------ background
    def start(self, *, timeout: float = 15.0) -> EmbeddedApiServer:
        """Serve in a background thread; returns once ``/readyz`` answers."""
        self._thread = threading.Thread(target=self.run, name=f"apiserver-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(  # noqa: S310 - our own loopback URL
                    f"{self.url}/readyz", timeout=1, context=self.ssl_context()
                ) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the embedded API server at {self.url} did not become ready")
            time.sleep(0.02)

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client context trusting this server's certificate (None without TLS)."""
        if self.cert_path is None:
            return None
        return ssl.create_default_context(cafile=str(self.cert_path))

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        self._drop_watches_soon()
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop (where the store lives) and return its result."""
        loop = self._loop
        if loop is None or self._thread is None:
            return fn()

        async def invoke() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(invoke(), loop).result(timeout=10)

    # ------------------------------------------------------- fault injection
    def compact(self) -> int:
        """Compact the event log; older resourceVersions then answer 410."""
        return self.call(self.app.compact)

    def drop_watches(self) -> int:
        """Close every open watch stream."""
        return self.call(self.app.drop_watches)

    def compact_and_drop_watches(self) -> None:
        """Both, atomically on the server's loop."""
        self.call(lambda: (self.app.compact(), self.app.drop_watches()))

    def add_fault(
        self,
        *,
        verb: str = "*",
        path_regex: str = ".*",
        code: int = 0,
        count: int = 1,
        latency_ms: int = 0,
    ) -> None:
        """Answer the next ``count`` matching requests with ``code`` (and/or delay them)."""
        rule = faults.FaultRule(
            verb=verb, path_regex=path_regex, code=code, count=count, latency_ms=latency_ms
        )
        self.call(lambda: self.app.add_fault(rule))

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.call(self.app.clear_faults)
