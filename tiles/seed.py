"""Walk a layer's non-empty tiles through the tile service: pre-rendered into the cache here,
written into PMTiles archives by tiles/archive.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import morecantile

from geo.errors import InvalidInput
from geo.scope import Principal
from layers import catalog
from layers.catalog import Layer
from tiles.builders import clusters_name, heat_name, layer_builders
from tiles.builds import DerivedBuilds
from tiles.cache import TileCache
from tiles.mvt import TMS
from tiles.renderer import TileRenderer, tile_pool
from tiles.service import Served, TileService
from tiles.tilejson import WORLD, bounds
from tiles.versions import VersionTracker

T = TypeVar("T")
WALK_CONCURRENCY = 4  # the CLI pool's connections (cli_service)
WALK_BATCH = 256  # tiles of one zoom level in flight at most


def parse_zooms(text: str) -> list[int]:
    """`0-14` or `12` or `8,11,14` → the zoom levels."""
    zooms: set[int] = set()
    try:
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            zooms.update(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise InvalidInput(f"zooms must look like 0-14 or 8,11,14, got {text!r}") from None
    if not zooms or min(zooms) < 0 or max(zooms) > 22:
        raise InvalidInput(f"zooms must lie in 0..22, got {text!r}")
    return sorted(zooms)


async def walk(
    service: TileService,
    layer: Layer,
    zooms: list[int],
    audience: str,
    filters: dict[str, str],
    principal: Principal | None = None,
    prepared: bool = False,
) -> AsyncIterator[tuple[morecantile.Tile, Served]]:
    """Render every non-empty tile of the layer's extent at the zooms, through the service's own
    path (children of empty tiles skipped; a zoom level's tiles rendered `WALK_CONCURRENCY` at a
    time); `prepared`: the layer's derived builds are already made."""
    if not prepared:
        await prepare(service, layer)
    token = await service.token(layer)
    west, south, east, north = await bounds(service, layer, token)
    if (west, south, east, north) == WORLD:
        return  # no rows (tiles/tilejson.py): no tiles, and no world to walk at the first zoom
    top = layer.minzoom  # the walk starts at the layer's first zoom, over its data's extent
    frontier = list(TMS.tiles(west, south, east, north, [top]))
    gate = asyncio.Semaphore(WALK_CONCURRENCY)

    async def one(t: morecantile.Tile) -> Served:
        async with gate:
            return await service.tile(layer.id, t.z, t.x, t.y, filters, audience, principal)

    for z in range(top, max(zooms) + 1):
        following: list[morecantile.Tile] = []
        for start in range(0, len(frontier), WALK_BATCH):
            batch = frontier[start : start + WALK_BATCH]
            for tile, served in zip(batch, await asyncio.gather(*map(one, batch)), strict=True):
                if not served.tile.gz:
                    continue
                if z in zooms:
                    yield tile, served
                following.extend(TMS.children(tile, zoom=z + 1))
        frontier = following


async def prepare(service: TileService, layer: Layer) -> None:
    """Build the layer's derived builds (cluster tables, heat cells) of its current data now."""
    assert service.builds is not None
    for name in (clusters_name(layer), heat_name(layer)):
        if name in service.builds.names:
            await service.builds.build_now(name)


@asynccontextmanager
async def cli_service(
    url: str, root: Path | None = None, layers: Iterable[Layer] = ()
) -> AsyncIterator[TileService]:
    """A tile service for the CLI: the builds of `layers` (none scheduled), a cache under `root`
    when given, every connection closed on exit."""
    pool = await tile_pool(url, 4, statement_timeout=0)
    try:
        versions = VersionTracker(pool, None, "strict")
        builds = DerivedBuilds(versions, layer_builders(layers, pool, versions))
        cache = TileCache(root) if root is not None else None
        yield TileService(versions, TileRenderer(pool, builds), builds, cache)
    finally:
        await pool.close()


async def _with_service(
    url: str, root: Path | None, layer: Layer, fn: Callable[[TileService], Awaitable[T]]
) -> T:
    async with cli_service(url, root, (layer,)) as service:
        return await fn(service)


def seed(
    url: str,
    root: Path,
    layer_id: str,
    zooms: list[int],
    audience: str = "public",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Render the layer's tiles at the zooms into the tile cache under `root`; return the count."""
    layer = catalog.get(layer_id)

    async def run(service: TileService) -> int:
        n = 0
        async for _ in walk(service, layer, zooms, audience, {}):
            n += 1
            if progress:
                progress(n)
        return n

    return asyncio.run(_with_service(url, root, layer, run))
