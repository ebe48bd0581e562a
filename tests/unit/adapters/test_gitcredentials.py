"""Credentials reach git through the environment and private files only, and are scrubbed."""

from __future__ import annotations

import base64
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from ferryman.adapters import gitcredentials
from ferryman.domain import errors
from ferryman.ports import git


def test_https_credentials_go_to_the_askpass_environment(tmp_path: Path) -> None:
    """The helper script holds no secret; the values are in the process environment only."""
    askpass = gitcredentials.write_askpass(tmp_path)
    creds = git.Credentials(username="bot", password="pw-1", token="tok-1")
    with gitcredentials.environment("https://h/x.git", creds, askpass=askpass) as env:
        assert env["FERRYMAN_GIT_PASSWORD"] == "pw-1"
        assert env["FERRYMAN_GIT_USERNAME"] == "bot"
    assert "pw-1" not in askpass.read_text()
    assert "tok-1" not in repr(creds)
    token_only = git.Credentials(token="tok-1")
    with gitcredentials.environment("https://h/x.git", token_only, askpass=askpass) as env:
        assert env["FERRYMAN_GIT_PASSWORD"] == "tok-1"
        assert env["FERRYMAN_GIT_USERNAME"] == gitcredentials.DEFAULT_TOKEN_USER


def test_ssh_identity_lives_in_a_private_file_removed_afterwards(tmp_path: Path) -> None:
    """Mode 0600 in a 0700 directory, strict host key checking, gone when the operation ends."""
    creds = git.Credentials(identity="-----KEY-----", known_hosts="host ssh-ed25519 AAAA")
    askpass = gitcredentials.write_askpass(tmp_path)
    with gitcredentials.environment("git@host:org/repo.git", creds, askpass=askpass) as env:
        command = env["GIT_SSH_COMMAND"]
        identity = Path(command.split("-i ")[1].split(" ")[0])
        assert stat.S_IMODE(identity.stat().st_mode) == 0o600
        assert stat.S_IMODE(identity.parent.stat().st_mode) == 0o700
        assert "StrictHostKeyChecking=yes" in command
        assert "-----KEY-----" not in command
    assert not identity.exists()


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/srv/git/demo.git", "local"),
        ("file:///srv/git/demo.git", "local"),
        ("https://github.com/a/b.git", "http"),
        ("ssh://git@github.com/a/b.git", "ssh"),
        ("git@github.com:a/b.git", "ssh"),
    ],
)
def test_transports(url: str, kind: str) -> None:
    """Local repositories need no credentials; SSH and HTTPS get theirs."""
    assert gitcredentials.transport(url) == kind


def test_passwords_in_urls_are_refused_and_scrubbed() -> None:
    """A URL with a password is a spec error; any echo of one is removed from messages."""
    with pytest.raises(errors.PermanentError):
        gitcredentials.transport("https://bot:pw@h/x.git")
    text = "fatal: unable to access 'https://bot:pw@h/x.git/': token tok-9 rejected"
    assert gitcredentials.scrub(text, ["tok-9"]) == (
        "fatal: unable to access 'https://***@h/x.git/': token *** rejected"
    )


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client")
def test_ssh_reads_no_file_of_the_controller_user(tmp_path: Path) -> None:
    """Item 5: ``ssh -G`` with Ferryman's options: no ~/.ssh or /etc/ssh file is consulted."""
    creds = git.Credentials(known_hosts="[127.0.0.1]:2222 ssh-ed25519 AAAA")
    askpass = gitcredentials.write_askpass(tmp_path)
    with gitcredentials.environment(
        "ssh://git@127.0.0.1:2222/a/b.git", creds, askpass=askpass
    ) as env:
        command = shlex.split(env["GIT_SSH_COMMAND"])
        known_hosts = next(arg for arg in command if arg.startswith("UserKnownHostsFile="))
        shown = subprocess.run(
            [*command, "-G", "-p", "2222", "127.0.0.1"],
            capture_output=True,
            text=True,
            check=True,
            stdin=subprocess.DEVNULL,
        ).stdout.lower()
    settings = dict(line.split(" ", 1) for line in shown.splitlines() if " " in line)
    assert command[1:3] == ["-F", "/dev/null"]
    assert settings["userknownhostsfile"] == known_hosts.split("=", 1)[1].lower()
    assert settings["globalknownhostsfile"] == "/dev/null"
    assert settings["identityfile"] == "none"
    assert settings["identityagent"] == "none"
    assert settings["stricthostkeychecking"] == "true"
    assert settings["batchmode"] == "yes"
    assert "~/.ssh" not in shown and "/etc/ssh" not in shown


def test_bearer_token_and_ca_reach_git_through_the_environment(tmp_path: Path) -> None:
    """Item 2: ``bearerToken`` becomes an origin-scoped extra header (not argv); ``ca.crt`` a
    private bundle that still holds the system's authorities."""
    askpass = gitcredentials.write_askpass(tmp_path)
    creds = git.Credentials.from_secret(
        {"bearerToken": b"bt-1", "username": b"u", "password": b"p", "caFile": b"PEM-CA"}
    )
    url = "https://bot@git.example.com:8443/acme/deploy.git"
    with gitcredentials.environment(url, creds, askpass=askpass) as env:
        assert env["GIT_CONFIG_KEY_0"] == "http.https://git.example.com:8443/.extraHeader"
        assert env["GIT_CONFIG_VALUE_0"] == "Authorization: Bearer bt-1"
        assert "GIT_ASKPASS" not in env  # a bearer token wins over username/password, as in Flux
        bundle = Path(env["GIT_SSL_CAINFO"])
        assert bundle.read_text().rstrip().endswith("PEM-CA")
        assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    assert not bundle.exists()


def test_secrets_are_scrubbed_in_plain_base64_and_url_encoded_forms() -> None:
    """A secret echoed in an Authorization header or a URL is still removed."""
    text = "Basic cHctMQ== and p%40ss%2F1 and pw-1"
    assert gitcredentials.scrub(text, ["pw-1", "p@ss/1"]) == "Basic *** and *** and ***"


@pytest.mark.parametrize("prefix", ["", "a:", "ab:", "abc:", "ferryman:"])
def test_base64_of_a_secret_inside_longer_values_is_scrubbed_at_every_offset(prefix: str) -> None:
    """``Basic base64(user:password)`` hides the password at offset len(user)+1 modulo 3: each
    alignment's secret-only run is scrubbed (standard and URL-safe alphabets)."""
    secret = "pa55/w0rd+?~long-enough"
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode((prefix + secret).encode()).decode()
        cleaned = gitcredentials.scrub(f"echo: {encoded}", [secret])
        assert gitcredentials.REDACTED in cleaned
        assert encode(secret.encode()).decode()[2:-2] not in cleaned


def test_percent_encoded_secrets_are_scrubbed() -> None:
    """Upper- and lower-case percent-encoding and form encoding of a secret are removed."""
    secret = "p@ss word/+"
    for form in ("p%40ss%20word%2F%2B", "p%40ss%20word%2f%2b", "p%40ss+word%2F%2B"):
        assert gitcredentials.scrub(form, [secret]) == gitcredentials.REDACTED
