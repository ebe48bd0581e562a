"""``ferryman demo release VERSION``: what CI does after a build — commit the version to dev."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def demo() -> None:
    """Drive the demo that `ferryman up` runs."""


@demo.command()
@click.argument("version")
@click.option(
    "--dir",
    "state_dir",
    default=".ferryman",
    show_default=True,
    type=click.Path(file_okay=False),
    help="State directory of `ferryman up`.",
)
def release(version: str, state_dir: str) -> None:
    """Commit VERSION of podinfo to the demo repository's dev/ (Flux deploys it, Ferryman
    promotes it to staging, then waits for an approval for prod)."""
    from ferryman.embedded import demo as demo_mode

    if not version.strip() or any(c.isspace() for c in version) or len(version) > 128:
        raise click.ClickException(f'"{version}" is not a version (e.g. 6.2.0)')
    try:
        commit = demo_mode.release(Path(state_dir), version)
    except demo_mode.DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Released podinfo {version} to dev (commit {commit[:12]}).")
