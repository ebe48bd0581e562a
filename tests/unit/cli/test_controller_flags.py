"""``ferryman controller`` takes the original controller's flags for what it still means."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from ferryman.cli import controller as controller_cmd
from ferryman.settings import Settings


def settings(*args: str) -> Settings:
    params = controller_cmd.controller.make_context("controller", list(args)).params
    flags = {key: value for key, value in params.items() if key not in ("log_level", "namespaces")}
    return Settings.from_environment({}, **flags)


def limit_of(*args: str) -> tuple[int, float]:
    chosen = settings(*args)
    return chosen.promotion_hook_rate_limit, chosen.promotion_hook_rate_limit_interval


def test_the_original_rate_limit_flags_and_their_defaults() -> None:
    """20 per 30 s by default; the interval takes seconds as the original did, or a duration."""
    assert limit_of() == (20, 30.0)
    limit, interval = "--promotion-hook-rate-limit", "--promotion-hook-rate-limit-interval"
    assert limit_of(limit, "5", interval, "60") == (5, 60.0)
    assert limit_of(f"{interval}=1m30s") == (20, 90.0)
    assert limit_of(f"{limit}=0") == (0, 30.0)


@pytest.mark.parametrize("bad", ["soon", "0", "-5s"])
def test_a_bad_interval_is_refused_with_a_sentence(bad: str) -> None:
    """Anything but a positive number of seconds or a duration is a usage error."""
    with pytest.raises(click.BadParameter, match="is not an interval"):
        settings(f"--promotion-hook-rate-limit-interval={bad}")


def test_events_addr_and_the_environment() -> None:
    """``--events-addr`` (as the original's), and the same settings from FERRYMAN_* variables."""
    url = "http://notification-controller.flux-system.svc.cluster.local./"
    assert settings("--events-addr", url).events_addr == url
    env = Settings.from_environment(
        {
            "FERRYMAN_EVENTS_ADDR": url,
            "FERRYMAN_PROMOTION_HOOK_RATE_LIMIT": "0",
            "FERRYMAN_PROMOTION_HOOK_RATE_LIMIT_INTERVAL": "45s",
        }
    )
    assert (env.events_addr, env.promotion_hook_rate_limit) == (url, 0)
    assert env.promotion_hook_rate_limit_interval == 45.0


def test_oidc_sign_in_flags_and_the_secret_from_a_file(tmp_path: Path) -> None:
    """``--oidc-*`` reach Settings; the client secret is read from a file, never argv."""
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    params = controller_cmd.controller.make_context(
        "controller",
        [
            "--oidc-issuer-url=https://dex.example.com",
            "--oidc-client-id=ferryman",
            f"--oidc-client-secret-file={secret}",
            "--oidc-redirect-url=https://ferryman.example.com/signin/oidc/callback",
            "--oidc-scopes=openid,profile,groups",
        ],
    ).params
    flags = {key: value for key, value in params.items() if key not in ("log_level", "namespaces")}
    chosen = Settings.from_environment({}, **controller_cmd.flags_with_secret(flags))
    assert chosen.oidc_client_secret == "s3cret"
    assert chosen.oidc_scopes == ("openid", "profile", "groups")
    assert "s3cret" not in repr(chosen)
    assert chosen.oidc_problem() == ""


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"oidc_issuer_url": "https://dex.example.com"}, "together"),
        ({"oidc_issuer_url": "https://d", "oidc_client_id": "f"}, "--oidc-redirect-url"),
        (
            {
                "oidc_issuer_url": "https://d",
                "oidc_client_id": "f",
                "oidc_redirect_url": "https://u/signin/oidc/callback",
                "oidc_scopes": ("profile",),
            },
            "openid",
        ),
    ],
)
def test_incomplete_oidc_settings_are_refused(values: dict[str, object], problem: str) -> None:
    assert problem in Settings(**values).oidc_problem()  # type: ignore[arg-type]
