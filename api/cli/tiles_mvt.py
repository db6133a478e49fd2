"""`djmap tiles seed`: pre-render vector tiles into the tile cache (PMTiles export: tiles_edge)."""

from __future__ import annotations

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from api.cli.common import cli_errors, console, database_url
from geo.settings import get_db_settings


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    )


def seed(
    layer: str = typer.Option(
        ..., "--layer", help="layer id from the catalog (djmap: GET /api/layers)"
    ),
    zooms: str = typer.Option("0-14", "--zooms", help="zoom levels, e.g. 0-14 or 8,11,14"),
    audience: str = typer.Option("public", help="audience whose tiles to render"),
) -> None:
    """Pre-render a layer's non-empty tiles into the tile cache (<home>/tiles)."""
    from tiles.seed import parse_zooms
    from tiles.seed import seed as seed_tiles

    with cli_errors():
        url = database_url()
        levels = parse_zooms(zooms)
        with _progress() as bar:
            task = bar.add_task(f"seeding {layer}", total=None)
            n = seed_tiles(
                url,
                get_db_settings().home / "tiles",
                layer,
                levels,
                audience,
                progress=lambda i: bar.update(
                    task, completed=i, description=f"seeding {layer}: {i} tiles"
                ),
            )
    console.print(f"[green]seeded[/green] {n} tiles of {layer} at zooms {zooms}")


def register(app: typer.Typer) -> None:
    """Add `seed` to `djmap tiles`."""
    app.command("seed")(seed)
