"""`djmap tiles seed` and `djmap tiles export`: pre-render vector tiles, or archive them as PMTiles."""

from __future__ import annotations

from pathlib import Path

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


def export(
    out: Path = typer.Argument(..., help="output file (.pmtiles)"),
    layer: str = typer.Option(..., "--layer", help="layer id from the catalog"),
    format: str = typer.Option("pmtiles", "--format", help="archive format (pmtiles)"),
    zooms: str = typer.Option("0-14", "--zooms", help="zoom levels, e.g. 0-14"),
    audience: str = typer.Option("public", help="audience whose tiles to export"),
) -> None:
    """Write a layer's tiles to a PMTiles archive for static hosting."""
    from geo.errors import InvalidInput
    from tiles.seed import export_pmtiles, parse_zooms

    with cli_errors():
        if format != "pmtiles":
            raise InvalidInput(f"unsupported format {format!r} (supported: pmtiles)")
        url = database_url()
        levels = parse_zooms(zooms)
        with _progress() as bar:
            task = bar.add_task(f"exporting {layer}", total=None)
            n = export_pmtiles(
                url,
                layer,
                levels,
                out,
                audience,
                progress=lambda i: bar.update(
                    task, completed=i, description=f"exporting {layer}: {i} tiles"
                ),
            )
    console.print(f"[green]wrote[/green] {n} tiles of {layer} to {out}")


def register(app: typer.Typer) -> None:
    """Add `seed` and `export` to `djmap tiles`."""
    app.command("seed")(seed)
    app.command("export")(export)
