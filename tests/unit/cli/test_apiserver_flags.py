"""``ferryman apiserver --oidc-*``: kube-apiserver's flags, refused as it refuses them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ferryman.cli import apiserver as apiserver_cmd
from ferryman.cli.main import cli


def test_the_flags_become_the_server_s_oidc_options() -> None:
    options = apiserver_cmd.oidc_options(
        oidc_issuer_url="https://dex.example.com",
        oidc_client_id="kubernetes",
        oidc_username_claim="email",
        oidc_username_prefix=None,
        oidc_groups_claim="groups",
        oidc_groups_prefix="oidc:",
        oidc_ca_file=None,
        oidc_signing_algs="RS256, ES256",
    )
    assert options is not None
    assert options.signing_algs == ("RS256", "ES256")
    assert options.effective_username_prefix() == ""  # the email claim is not prefixed
    assert apiserver_cmd.oidc_options(oidc_issuer_url=None, oidc_client_id=None) is None


def test_an_issuer_without_a_client_id_is_refused_before_anything_starts(tmp_path: Path) -> None:
    answer = CliRunner().invoke(
        cli,
        [
            "apiserver",
            "--data",
            str(tmp_path / "d"),
            "--port",
            "0",
            "--oidc-issuer-url",
            "https://x",
        ],
    )
    assert answer.exit_code == 1
    assert "--oidc-issuer-url and --oidc-client-id must be specified together" in answer.output
    assert not (tmp_path / "d").exists()


def test_a_plain_http_issuer_off_loopback_is_refused(tmp_path: Path) -> None:
    answer = CliRunner().invoke(
        cli,
        [
            "apiserver",
            "--data",
            str(tmp_path / "d"),
            "--port",
            "0",
            "--oidc-issuer-url",
            "http://dex.example.com",
            "--oidc-client-id",
            "k",
        ],
    )
    assert answer.exit_code == 1 and "must be https" in answer.output
