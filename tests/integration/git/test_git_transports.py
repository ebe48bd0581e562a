"""Git over real transports on loopback, with Flux's Secret keys as they are.

HTTPS with a private CA in front of ``git http-backend`` (``ca.crt``, older ``caFile``, client
certificates), a bearer token, and a private sshd (``fakes.sshd``) with ed25519, RSA and ECDSA
keys, a passphrase-protected key, a changed host key and a Secret without ``known_hosts``; the
pull-request strategy over SSH. One test per issue-21 item it proves is named in its docstring.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.fakes import gitserver, pki, sshd
from tests.fakes.clock import FakeClock
from tests.fakes.githosts import github
from tests.fakes.promotions import FILES, PASSWORD, TOKEN, USERNAME, Secrets, make_request

from ferryman.adapters import githost, gitrepo
from ferryman.api import pipeline
from ferryman.controller.strategies import git_push, pull_request
from ferryman.domain import errors

PROMOTED = b'version: "6.1.0" # {"$promotion": "flux-system:podinfo:prod"}'
PASSPHRASE = "correct horse battery staple"


def _push_spec(url: str) -> pipeline.Strategy:
    return pipeline.Strategy.model_validate(
        {"git-push": {"url": url, "branch": "main", "secretRef": {"name": "git"}}}
    )


def _push(tmp_path: Path, url: str, secret: dict[str, str]) -> git_push.GitPushStrategy:
    data = {key: value.encode() for key, value in secret.items()}
    workspaces = gitrepo.GitRepositories(cache_dir=tmp_path / "cache", timeout=30)
    return git_push.GitPushStrategy(workspaces=workspaces, secrets=Secrets({"git": data}))


@pytest.fixture(scope="module")
def authority() -> pki.Authority:
    return pki.Authority()


@pytest.fixture
def tls_server(tmp_path: Path, authority: pki.Authority) -> Iterator[gitserver.GitServer]:
    """HTTPS with a certificate from the private CA; basic auth as usual."""
    issued = authority.issue("127.0.0.1", server=True)
    context = _server_context(tmp_path, issued)
    gitserver.create_bare(tmp_path / "srv" / "acme" / "deploy.git", FILES)
    server = gitserver.GitServer(
        tmp_path / "srv", username=USERNAME, password=PASSWORD, tls=context
    ).start()
    yield server
    server.stop()


def _server_context(tmp_path: Path, issued: pki.Issued) -> ssl.SSLContext:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    cert.write_text(issued.cert)
    key.write_text(issued.key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("key", ["ca.crt", "caFile"])
async def test_a_private_ca_in_the_secret_is_trusted(
    tmp_path: Path, tls_server: gitserver.GitServer, authority: pki.Authority, key: str
) -> None:
    """Item 1: Flux's ``ca.crt`` (and the older ``caFile``) make HTTPS to a private CA work."""
    url = tls_server.url("acme/deploy.git")
    secret = {"username": USERNAME, "password": PASSWORD, key: authority.cert}

    result = await _push(tmp_path, url, secret).promote(make_request(_push_spec(url)))

    assert result.commit == gitserver.branches(tls_server.root / "acme" / "deploy.git")["main"]
    assert PROMOTED in gitserver.show(tls_server.root / "acme/deploy.git", "main", _HELM)


_HELM = "apps/prod/helmrelease.yaml"


async def test_an_unverifiable_certificate_is_a_clear_permanent_error(
    tmp_path: Path, tls_server: gitserver.GitServer
) -> None:
    """Item 1: no CA in the Secret → permanent ``CertificateUnverifiable`` naming ``ca.crt``."""
    url = tls_server.url("acme/deploy.git")
    strategy = _push(tmp_path, url, {"username": USERNAME, "password": PASSWORD})

    with pytest.raises(errors.PermanentError) as raised:
        await strategy.promote(make_request(_push_spec(url)))

    assert raised.value.reason == "CertificateUnverifiable"
    assert '"ca.crt"' in str(raised.value)
    assert 'Secret "flux-system/git"' in str(raised.value)
    assert "certificate" in str(raised.value)


async def test_a_client_certificate_from_tls_crt_and_tls_key(
    tmp_path: Path, authority: pki.Authority
) -> None:
    """Flux's ``tls.crt``/``tls.key``: a server that requires a client certificate accepts it."""
    context = _server_context(tmp_path, authority.issue("127.0.0.1", server=True))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=authority.cert)
    gitserver.create_bare(tmp_path / "srv" / "acme" / "deploy.git", FILES)
    server = gitserver.GitServer(
        tmp_path / "srv", username=USERNAME, password=PASSWORD, tls=context
    ).start()
    client = authority.issue("ferryman", server=False)
    try:
        url = server.url("acme/deploy.git")
        secret = {
            "username": USERNAME,
            "password": PASSWORD,
            "ca.crt": authority.cert,
            "tls.crt": client.cert,
            "tls.key": client.key,
        }
        await _push(tmp_path, url, secret).promote(make_request(_push_spec(url)))
    finally:
        server.stop()
    assert PROMOTED in gitserver.show(tmp_path / "srv/acme/deploy.git", "main", _HELM)


async def test_a_bearer_token_is_sent_as_authorization(tmp_path: Path) -> None:
    """Item 2: Flux's ``bearerToken`` reaches the server as ``Authorization: Bearer``."""
    gitserver.create_bare(tmp_path / "srv" / "acme" / "deploy.git", FILES)
    server = gitserver.GitServer(
        tmp_path / "srv", username=USERNAME, password=PASSWORD, bearer="bearer-7c1d"
    ).start()
    try:
        url = server.url("acme/deploy.git")
        await _push(tmp_path, url, {"bearerToken": "bearer-7c1d"}).promote(
            make_request(_push_spec(url))
        )
    finally:
        server.stop()
    assert PROMOTED in gitserver.show(tmp_path / "srv/acme/deploy.git", "main", _HELM)


async def test_a_relative_cache_directory_still_reaches_the_askpass_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 6: ``ferryman up`` passes a relative ``--dir``; credentials must still reach git."""
    gitserver.create_bare(tmp_path / "srv" / "acme" / "deploy.git", FILES)
    server = gitserver.GitServer(tmp_path / "srv", username=USERNAME, password=PASSWORD).start()
    monkeypatch.chdir(tmp_path)  # the process's working directory, as `ferryman up` has it
    try:
        url = server.url("acme/deploy.git")
        data = {"username": USERNAME.encode(), "password": PASSWORD.encode()}
        workspaces = gitrepo.GitRepositories(cache_dir=Path(".ferryman/git-cache"), timeout=30)
        strategy = git_push.GitPushStrategy(workspaces=workspaces, secrets=Secrets({"git": data}))
        await strategy.promote(make_request(_push_spec(url)))
    finally:
        server.stop()
    assert PROMOTED in gitserver.show(tmp_path / "srv/acme/deploy.git", "main", _HELM)


# ------------------------------------------------------------------------------------- SSH

needs_sshd = pytest.mark.skipif(
    not sshd.available(), reason="openssh-server is not installed (make test installs it)"
)


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd.SshServer]:
    if not sshd.available():
        pytest.skip("openssh-server is not installed (make test installs it)")
    base = tmp_path_factory.mktemp("sshd")
    server = sshd.SshServer(base / "repos", base / "state").start()
    yield server
    server.stop()


@pytest.fixture
def ssh_repo(ssh_server: sshd.SshServer, tmp_path: Path) -> tuple[str, Path]:
    """A fresh bare repository below the sshd root: (ssh URL, path)."""
    name = f"acme/{tmp_path.name}.git"
    bare = gitserver.create_bare(ssh_server.root / name, FILES)
    return ssh_server.url(name), bare


@needs_sshd
@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
async def test_pushes_over_ssh_with_each_key_type(
    tmp_path: Path, ssh_server: sshd.SshServer, ssh_repo: tuple[str, Path], kind: str
) -> None:
    """ed25519, RSA and ECDSA identities push; the host key is checked against the Secret."""
    url, bare = ssh_repo
    private, public = sshd.keygen(tmp_path / "id", kind)
    ssh_server.authorize(public)
    secret = {"identity": private, "known_hosts": ssh_server.known_hosts()}

    await _push(tmp_path, url, secret).promote(make_request(_push_spec(url)))

    assert PROMOTED in gitserver.show(bare, "main", _HELM)


@needs_sshd
async def test_a_passphrase_protected_key_opens_with_flux_password(
    tmp_path: Path, ssh_server: sshd.SshServer, ssh_repo: tuple[str, Path]
) -> None:
    """Item 3: Flux's ``password`` is the SSH key's passphrase; a wrong one is named clearly."""
    url, bare = ssh_repo
    private, public = sshd.keygen(tmp_path / "id", "ed25519", passphrase=PASSPHRASE)
    ssh_server.authorize(public)
    secret = {"identity": private, "known_hosts": ssh_server.known_hosts()}

    with pytest.raises(errors.PermanentError) as wrong:
        await _push(tmp_path, url, {**secret, "password": "not it"}).promote(
            make_request(_push_spec(url))
        )
    await _push(tmp_path, url, {**secret, "password": PASSPHRASE}).promote(
        make_request(_push_spec(url))
    )

    assert wrong.value.reason == "CredentialsInvalid"
    assert "passphrase" in str(wrong.value) and "not it" not in str(wrong.value)
    assert PROMOTED in gitserver.show(bare, "main", _HELM)


@needs_sshd
async def test_a_changed_host_key_is_reported_with_ssh_s_own_words(
    tmp_path: Path, ssh_server: sshd.SshServer, ssh_repo: tuple[str, Path]
) -> None:
    """Item 4: the error keeps "REMOTE HOST IDENTIFICATION HAS CHANGED" and its reason."""
    url, _ = ssh_repo
    private, public = sshd.keygen(tmp_path / "id", "ed25519")
    ssh_server.authorize(public)
    _, impostor = sshd.keygen(tmp_path / "other-host", "ed25519")
    known = f"[127.0.0.1]:{ssh_server.port} " + " ".join(impostor.split()[:2]) + "\n"

    with pytest.raises(errors.PermanentError) as raised:
        await _push(tmp_path, url, {"identity": private, "known_hosts": known}).promote(
            make_request(_push_spec(url))
        )

    assert raised.value.reason == "HostKeyMismatch"
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in str(raised.value)
    assert "Host key verification failed" in str(raised.value)
    assert '"known_hosts" in Secret "flux-system/git"' in str(raised.value)


@needs_sshd
async def test_a_secret_without_known_hosts_is_refused_before_ssh_runs(
    tmp_path: Path, ssh_server: sshd.SshServer, ssh_repo: tuple[str, Path]
) -> None:
    """Item 5: no fallback to the controller user's known_hosts; the Secret must carry them."""
    url, _ = ssh_repo
    private, public = sshd.keygen(tmp_path / "id", "ed25519")
    ssh_server.authorize(public)

    with pytest.raises(errors.PermanentError) as raised:
        await _push(tmp_path, url, {"identity": private}).promote(make_request(_push_spec(url)))

    assert raised.value.reason == "HostKeyUnknown"
    assert '"known_hosts"' in str(raised.value)


@needs_sshd
async def test_the_pull_request_strategy_takes_an_ssh_repository_url(
    tmp_path: Path, ssh_server: sshd.SshServer
) -> None:
    """Item 7: an SSH URL (Flux SSH Secret plus ``token``); the API from ``serverURL``."""
    clock = FakeClock()
    bare = gitserver.create_bare(ssh_server.root / "acme" / f"{tmp_path.name}.git", FILES)
    fake = github.FakeGitHub(
        owner="acme", repo=tmp_path.name, token=TOKEN, clock=clock, repository=bare
    )
    api = gitserver.GitServer(tmp_path / "none", username="-", password="-", api=fake).start()
    fake.base_url = api.base_url
    private, public = sshd.keygen(tmp_path / "id", "ed25519")
    ssh_server.authorize(public)
    secret = {"identity": private, "known_hosts": ssh_server.known_hosts(), "token": TOKEN}
    spec = pipeline.Strategy.model_validate(
        {
            "pull-request": {
                "type": "github",
                "url": ssh_server.url(f"acme/{tmp_path.name}.git"),
                "serverURL": api.base_url,
                "baseBranch": "main",
                "secretRef": {"name": "git"},
            }
        }
    )
    try:
        async with httpx.AsyncClient() as client:
            strategy = pull_request.PullRequestStrategy(
                workspaces=gitrepo.GitRepositories(cache_dir=tmp_path / "cache"),
                hosts=githost.Hosts(client),
                secrets=Secrets({"git": {k: v.encode() for k, v in secret.items()}}),
            )
            result = await strategy.promote(make_request(spec))
    finally:
        api.stop()

    assert [p.number for p in fake.open_pulls()] == [result.number]
    assert "ferryman/flux-system/podinfo/prod" in gitserver.branches(bare)
