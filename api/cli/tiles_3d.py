"""`djmap tiles 3d build` (3D Tiles of buildings) and `djmap tiles terrain build` (terrain-RGB)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import console, database_url, run
from geo.settings import get_db_settings

three_d = typer.Typer(help="3D Tiles of buildings.", no_args_is_help=True)
terrain = typer.Typer(help="Terrain-RGB tiles from a DEM.", no_args_is_help=True)


@three_d.command("build")
def build_3d(
    fmt: Annotated[
        str, typer.Option("--format", help="b3dm (3D Tiles 1.0, default) or glb (3D Tiles 1.1)")
    ] = "b3dm",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="write a standalone tileset here instead of the served store"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="rebuild even when up to date")] = False,
    workers: Annotated[int, typer.Option(help="worker processes", min=1)] = 2,
) -> None:
    """Extrude every building into a 3D Tiles tileset; does nothing when it is already fresh."""
    from tiles.threed import build_buildings

    if fmt not in ("b3dm", "glb"):
        raise typer.BadParameter("use b3dm or glb", param_hint="--format")
    url = database_url()
    home = get_db_settings().home
    result = run(lambda: build_buildings(url, home, fmt=fmt, force=force, out=out, workers=workers))
    m = result.manifest
    if not result.built:
        console.print(f"3D tileset is up to date ({m['build_id']}); --force rebuilds it")
    else:
        rate = m["buildings"] / max(m["seconds"], 1e-9)
        console.print(
            f"built {m['buildings']} buildings into {m['tiles']} {m['format']} tiles "
            f"({m['bytes'] / 1e6:.1f} MB) in {m['seconds']:.1f} s ({rate:,.0f} buildings/s)"
        )
    console.print(f"tileset: {result.path / 'tileset.json'}")


@terrain.command("build")
def build_terrain_cmd(
    dem: Annotated[Path, typer.Option("--dem", help="DEM GeoTIFF (any CRS)", exists=True)],
    zooms: Annotated[str, typer.Option(help="zoom range, e.g. 8-15")] = "8-15",
    tile_size: Annotated[int, typer.Option(help="256 or 512 pixels")] = 256,
    workers: Annotated[int, typer.Option(help="worker processes", min=1)] = 2,
    force: Annotated[bool, typer.Option("--force", help="rebuild even when up to date")] = False,
) -> None:
    """Encode the DEM as terrain-RGB PNG tiles served at /api/terrain/{z}/{x}/{y}.png."""
    from tiles.terrain import build_terrain, parse_zooms

    home = get_db_settings().home
    meta = run(
        lambda: build_terrain(
            dem, home, parse_zooms(zooms), tile_size, workers=workers, force=force
        )
    )
    if meta.get("skipped"):
        console.print(f"terrain tiles up to date ({meta['build_id']}); --force rebuilds")
        return
    console.print(
        f"wrote {meta['tiles']} terrain tiles, zooms {meta['minzoom']}-{meta['maxzoom']} "
        f"({meta['build_id']})"
    )


def register(app: typer.Typer) -> None:
    """Add `3d` and `terrain` to `djmap tiles`."""
    app.add_typer(three_d, name="3d")
    app.add_typer(terrain, name="terrain")
