"""`djmap tiles ...`: the group; vector-tile seeding lives in tiles_mvt, PMTiles export and
publication in tiles_edge, 3D and terrain in tiles_3d, the derived builds in tiles_build."""

from __future__ import annotations

import typer

from api.cli import tiles_3d, tiles_build, tiles_edge, tiles_mvt

tiles_app = typer.Typer(help="Build, seed and export tiles.", no_args_is_help=True)
tiles_mvt.register(tiles_app)
tiles_edge.register(tiles_app)
tiles_3d.register(tiles_app)
tiles_build.register(tiles_app)


def register(app: typer.Typer) -> None:
    """Add `djmap tiles` to the main app."""
    app.add_typer(tiles_app, name="tiles")
