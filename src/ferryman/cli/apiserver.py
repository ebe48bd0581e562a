"""``ferryman apiserver``: run the embedded Kubernetes-compatible API server."""

from __future__ import annotations

from pathlib import Path

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
    from ferryman.embedded.apiserver import server  # heavy imports only for this command

    try:
        instance = server.EmbeddedApiServer(
            server.ServerConfig(
                data_dir=Path(data_dir),
                host=host,
                port=port,
                token_file=Path(token_file) if token_file else None,
                fault_injection=enable_fault_injection,
            )
        )
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"ferryman apiserver listening on {instance.url} (kubeconfig: {instance.kubeconfig_path})",
        nl=True,
    )
    instance.run()
