"""Pre-render a layer's tiles into the cache, or write them into a PMTiles archive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import morecantile
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from geo.errors import InvalidInput
from layers import catalog
from layers.catalog import Layer
from tiles.builders import clusters_name, heat_name, layer_builders
from tiles.builds import DerivedBuilds
from tiles.cache import TileCache
from tiles.mvt import TMS
from tiles.renderer import TileRenderer, tile_pool
from tiles.service import TileService
from tiles.tilejson import bounds, tilejson
from tiles.versions import VersionTracker

T = TypeVar("T")


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
    service: TileService, layer: Layer, zooms: list[int], audience: str, filters: dict[str, str]
) -> AsyncIterator[tuple[morecantile.Tile, bytes]]:
    """Render every non-empty tile of the layer's extent at the zooms (children of empty tiles skipped)."""
    await prepare(service, layer)
    token = await service.token(layer)
    west, south, east, north = await bounds(service, layer, token)
    frontier = list(TMS.tiles(west, south, east, north, [0]))
    for z in range(0, max(zooms) + 1):
        following: list[morecantile.Tile] = []
        for tile in frontier:
            served = await service.tile(layer.id, tile.z, tile.x, tile.y, filters, audience)
            if not served.tile.gz:
                continue
            if z in zooms:
                yield tile, served.tile.gz
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


def export_pmtiles(
    url: str,
    layer_id: str,
    zooms: list[int],
    out: Path,
    audience: str = "public",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the layer's non-empty tiles (gzip MVT) and its TileJSON as metadata to a PMTiles file."""
    layer = catalog.get(layer_id)

    async def run(
        service: TileService,
    ) -> tuple[list[tuple[int, bytes]], dict[str, object], tuple[float, ...]]:
        tiles: list[tuple[int, bytes]] = []
        async for tile, gz in walk(service, layer, zooms, audience, {}):
            tiles.append((zxy_to_tileid(tile.z, tile.x, tile.y), gz))
            if progress:
                progress(len(tiles))
        token = await service.token(layer)
        meta = await tilejson(service, layer, audience, "", {})
        return tiles, meta, await bounds(service, layer, token)

    tiles, meta, (west, south, east, north) = asyncio.run(_with_service(url, None, layer, run))
    if not tiles:
        raise InvalidInput(f"layer {layer_id!r} has no features to export")
    tiles.sort()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        writer = Writer(f)
        for tileid, gz in tiles:
            writer.write_tile(tileid, gz)
        writer.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_lon_e7": int(west * 1e7),
                "min_lat_e7": int(south * 1e7),
                "max_lon_e7": int(east * 1e7),
                "max_lat_e7": int(north * 1e7),
                "center_zoom": zooms[len(zooms) // 2],
                "center_lon_e7": int((west + east) / 2 * 1e7),
                "center_lat_e7": int((south + north) / 2 * 1e7),
            },
            {
                "name": layer.id,
                "description": meta["description"],
                "vector_layers": meta["vector_layers"],
            },
        )
    return len(tiles)
