"""Credentials reach git through the environment and private files only, and are scrubbed."""

from __future__ import annotations

import base64
import stat
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
    with gitcredentials.environment("git@host:org/repo.git", creds, askpass=tmp_path) as env:
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
