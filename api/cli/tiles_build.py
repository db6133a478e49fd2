"""`djmap tiles build`: make the derived builds of the current data now (the CLI path of
tiles/builds.py; a running server's scheduler does the same after writes)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from api.cli.common import cli_errors, console, database_url
from geo.errors import InvalidInput


async def _build(url: str, only: list[str]) -> list[tuple[str, str]]:
    """(name, outcome) of every builder run or skipped."""
    from api.services import derived_builders
    from api.settings import Settings
    from geo.settings import get_db_settings
    from tiles.builds import DerivedBuilds
    from tiles.renderer import tile_pool
    from tiles.versions import VersionTracker
    from web.settings import WebSettings

    settings = Settings(get_db_settings())
    pool = await tile_pool(url, 2, statement_timeout=settings.api.build_timeout)
    try:
        versions = VersionTracker(pool, None, "strict")
        radius = WebSettings().coverage_radius_m
        builders = derived_builders(settings, pool, versions, radius)
        unknown = set(only) - {b.name for b in builders}
        if unknown:
            names = ", ".join(b.name for b in builders)
            raise InvalidInput(f"no derived build {', '.join(sorted(unknown))}; known: {names}")
        builds = DerivedBuilds(versions, builders, watch=False)
        done: list[tuple[str, str]] = []
        for builder in builders:
            if only and builder.name not in only:
                continue
            wanted = await builder.wanted(await versions.current())
            if wanted is None and builder.name not in only:
                done.append((builder.name, "skipped (built by its own command)"))
                continue
            built = await builds.build_now(builder.name)
            done.append((builder.name, f"built for data version {built.token}"))
        return done
    finally:
        await pool.close()


def build(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="a build's name (repeat; see GET /api/builds), default all"),
    ] = None,
) -> None:
    """Build what is stale now: cluster tables, heat cells, page figures, and the 3D Tiles once
    `djmap tiles 3d build` made the first (terrain: `djmap tiles terrain build`)."""
    with cli_errors():
        url = database_url()
        done = asyncio.run(_build(url, only or []))
    for name, outcome in done:
        console.print(f"[green]✓[/green] {name}: {outcome}")


def register(app: typer.Typer) -> None:
    """Add `build` to `djmap tiles`."""
    app.command("build")(build)
