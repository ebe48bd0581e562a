"""``ferryman apiserver``: run the embedded Kubernetes-compatible API server."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--data", "data_dir", required=True, type=click.Path(file_okay=False), help="State directory."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=6443, show_default=True, type=int, help="0 picks a free port.")
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True), default=None)
@click.option("--enable-fault-injection", is_flag=True, help="Serve the test-only /debug API.")
def apiserver(
    data_dir: str, host: str, port: int, token_file: str | None, enable_fault_injection: bool
) -> None:
    """Serve a Kubernetes-compatible API backed by SQLite (for the no-cluster mode and tests)."""
    raise click.ClickException("the embedded API server is being built")
