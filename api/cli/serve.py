"""`djmap serve` and `djmap demo`."""

from __future__ import annotations

import typer

from api.cli.common import cli_errors, console, database_url


def serve(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port to bind"),
    workers: int = typer.Option(1, help="worker processes"),
) -> None:
    """Serve the map and the API with uvicorn (uvloop + httptools)."""
    import uvicorn

    with cli_errors():
        database_url()
    console.print(f"serving http://{host}:{port}/")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level="warning",
    )


def register(app: typer.Typer) -> None:
    """Add the serving commands to the main app."""
    app.command("serve")(serve)
